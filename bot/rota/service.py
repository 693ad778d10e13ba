"""The rota in motion: members and leave, the Monday pick, reminders, the week start.

    await rota.configure(workspace_id="T1", channel_id="C1", options={"tz": "Europe/Berlin"})

Recurring moments ("Mon 17:00" in the team's zone) become timer rows keyed by the local
date-time of the occurrence, computed with APScheduler's ``CronTrigger``, so a restart or a
second replica can neither skip nor repeat one, across daylight-saving changes too.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import CHANNELS_CHANGED, ChangeFeed
from bot.channel_settings import parse_user
from bot.channels import Channels
from bot.clock import Clock
from bot.content import Button, Content, button_id, message_ref
from bot.context import CommandContext
from bot.durations import format_duration
from bot.errors import UsageError
from bot.hours import BusinessHours
from bot.outgoing import say
from bot.people import Directory
from bot.rota.pick import Candidate, Pick, problems, suggest, week_days
from bot.stats import compute_stats, summary
from storage import timers
from storage.engine import Database
from storage.models import (
    Incident,
    Request,
    RotaLeave,
    RotaMember,
    RotaSwap,
    RotaTeam,
    SupportWeek,
    Timer,
    WatchedChannel,
)

ACCEPT = "rota_accept"
ANOTHER = "rota_another"
HANDOFF_DONE = "rota_handoff_done"
SWAP = "rota_swap_confirm"
CHOOSE = "rota_choose"
_RULE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\w*\s+(\d{1,2}):(\d{2})$", re.IGNORECASE)
LIST_LIMIT = 8
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_rule(text: str, *, name: str) -> str:
    """ "Wed 09:00" in a canonical form; a UsageError names the option otherwise."""
    match = _RULE.match(" ".join(text.split()))
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise UsageError(
            f'{name}: "{text}" is not a weekday and time. Write e.g. {name}="Mon 17:00".'
        )
    day = match.group(1)[:3].capitalize()
    return f"{day} {int(match.group(2)):02d}:{match.group(3)}"


def next_occurrence(rule: str, tz: str, after: datetime) -> datetime:
    """The first instant of ``rule`` ("Mon 17:00", local in ``tz``) strictly after ``after``."""
    day, clock_time = rule.split()
    hour, minute = (int(x) for x in clock_time.split(":"))
    trigger = CronTrigger(day_of_week=day.lower(), hour=hour, minute=minute, timezone=ZoneInfo(tz))
    fire = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    assert fire is not None
    return fire.astimezone(after.tzinfo)


@dataclass(frozen=True)
class TeamView:
    id: int
    workspace_id: str
    name: str
    channel_id: str
    tz: str


class Rota:
    def __init__(
        self, *, db: Database, clock: Clock, channels: Channels, changes: ChangeFeed
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels = channels
        self._changes = changes
        self.public_url = "http://localhost:3000"  # set from FIRSTLINE_PUBLIC_URL by the server
        self.directory = Directory()  # names for the calendar; the server sets the platform's

    # -- configuration --------------------------------------------------------------------

    async def team_for(self, session: AsyncSession, workspace_id: str, channel_id: str) -> RotaTeam:
        return await team_here(session, workspace_id, channel_id)

    async def configure(
        self, *, workspace_id: str, channel_id: str, options: dict[str, str]
    ) -> Content:
        now = self._clock.now()
        async with self._db.transaction() as session:
            team = await session.scalar(
                select(RotaTeam).where(
                    RotaTeam.workspace_id == workspace_id, RotaTeam.channel_id == channel_id
                )
            )
            created = team is None
            if team is None:
                team = RotaTeam(
                    workspace_id=workspace_id,
                    channel_id=channel_id,
                    name=options.get("name") or channel_id,
                    api_token=secrets.token_urlsafe(24),
                    created_at=now,
                    tz="UTC",
                    start_rule="Wed 09:00",
                    pick_rule="Mon 17:00",
                )
                session.add(team)
            if "name" in options:
                team.name = options["name"]
            if "tz" in options or "holidays" in options:
                hours = BusinessHours.parse(
                    "always",
                    tz=options.get("tz", team.tz),
                    holidays=options.get("holidays", team.holidays or ""),
                )
                team.tz, team.holidays = hours.tz, hours.holidays_code
            if "start" in options:
                team.start_rule = parse_rule(options["start"], name="start")
            if "pick" in options:
                team.pick_rule = parse_rule(options["pick"], name="pick")
            for key in ("lead", "group"):
                if key in options:
                    value = options[key]
                    if key == "lead":
                        user = parse_user(value)
                        if user is None:
                            raise UsageError(f'lead: "{value}" is not a person. Write lead=@name.')
                        team.lead = user
                    else:
                        match = re.match(
                            r"^<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>$|^(S[A-Z0-9]+)$", value
                        )
                        if not match:
                            raise UsageError(
                                f'group: "{value}" is not a user group. Write group=@support.'
                            )
                        team.group = match.group(1) or match.group(2)
            await session.flush()
            await timers.cancel(session, subject=f"rota:{team.id}", at=now, outcome="reconfigured")
            await self._schedule(session, team, "pick", after=now)
        self._changes.committed(session)
        verb = "Started" if created else "Updated"
        return Content(
            text=f"{verb} the rota *{team.name}*: picks {team.pick_rule}, "
            f"weeks start {team.start_rule} "
            f"({team.tz}{', ' + team.holidays + ' holidays' if team.holidays else ''})"
            + (f", lead <@{team.lead}>" if team.lead else "")
            + (f", group <!subteam^{team.group}>" if team.group else "")
            + ". Deploy scripts can ask GET /api/rota/"
            + str(team.id)
            + "/current with the team token."
        )

    async def add(self, ctx: CommandContext, user: str, *, prod: bool, new: bool) -> Content:
        async with self._db.transaction() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            member = await self._member(session, team, user)
            if member is None:
                session.add(
                    RotaMember(
                        team_id=team.id,
                        user=user,
                        prod=prod,
                        new=new,
                        observed=False,
                        days="Mon-Fri",
                        active=True,
                        added_at=self._clock.now(),
                    )
                )
            else:
                member.active, member.prod, member.new = True, prod or member.prod, new
        flags = ", production access" if prod else ""
        flags += ", new: observes one week first" if new else ""
        return Content(text=f"<@{user}> is on the rota{flags}.")

    async def remove(self, ctx: CommandContext, user: str) -> Content:
        async with self._db.transaction() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            member = await self._member(session, team, user)
            if member is None or not member.active:
                raise UsageError(f"<@{user}> is not on this rota; /rota show lists who is.")
            member.active = False
        return Content(text=f"<@{user}> is off the rota (past weeks are kept).")

    async def set(self, ctx: CommandContext, user: str, options: dict[str, str]) -> Content:
        async with self._db.transaction() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            member = await self._member(session, team, user)
            if member is None or not member.active:
                raise UsageError(
                    f"<@{user}> is not on this rota. Add them first: /rota add <@{user}>"
                )
            if "prod" in options:
                member.prod = _yes_no(options["prod"], name="prod")
            if "new" in options:
                member.new = _yes_no(options["new"], name="new")
            if "days" in options:
                _weekdays(options["days"])
                member.days = options["days"]
            if "tz" in options:
                member.tz = BusinessHours.parse("always", tz=options["tz"]).tz
        return Content(text=f"Updated <@{user}>.")

    async def away(
        self, ctx: CommandContext, user: str, first: date, last: date, reason: str
    ) -> Content:
        if last < first:
            raise UsageError(f"The range ends before it starts. Write it as {last}..{first}.")
        async with self._db.transaction() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            if await self._member(session, team, user) is None:
                raise UsageError(f"<@{user}> is not on this rota; /rota add <@{user}> first.")
            session.add(
                RotaLeave(
                    team_id=team.id,
                    user=user,
                    first_day=first.isoformat(),
                    last_day=last.isoformat(),
                    reason=reason,
                )
            )
        return Content(
            text=f"<@{user}> is away {first:%a %d %b} to {last:%a %d %b}; picks will respect it."
        )

    # -- reading --------------------------------------------------------------------------

    async def who(
        self, *, workspace_id: str, channel_id: str | None = None, team_id: int | None = None
    ) -> dict[str, Any]:
        now = self._clock.now()
        async with self._db.reading() as session:
            if team_id is not None:
                team = await session.get(RotaTeam, team_id)
                if team is None or team.workspace_id != workspace_id:
                    raise UsageError("No such team.")
            else:
                assert channel_id is not None
                team = await self.team_for(session, workspace_id, channel_id)
            week = await session.scalar(
                select(SupportWeek).where(
                    SupportWeek.team_id == team.id,
                    SupportWeek.starts_at <= now,
                    SupportWeek.ends_at > now,
                    SupportWeek.status != "suggested",
                )
            )
        if week is None:
            return {
                "team": team.name,
                "pair": [],
                "fallback": None,
                "observer": None,
                "until": None,
            }
        return {
            "team": team.name,
            "pair": [week.first, week.second],
            "fallback": week.fallback,
            "fallback_days": week.fallback_days,
            "observer": week.observer,
            "since": week.starts_at.isoformat(),
            "until": week.ends_at.isoformat(),
            "status": week.status,
        }

    async def team_by_ref(self, ref: str, token: str) -> RotaTeam:
        """The team a URL names, by id or by its name as people see it ("Payments team",
        any case); ``TeamNotFound`` when no team has that id or name, ``WrongToken`` when
        none of those that do has ``token`` (names may repeat across workspaces)."""
        ident = button_id(ref)
        async with self._db.reading() as session:
            if ident is not None:
                found = [t for t in [await session.get(RotaTeam, ident)] if t is not None]
            else:
                wanted = " ".join(ref.split()).casefold()
                found = [
                    t
                    for t in await session.scalars(select(RotaTeam).order_by(RotaTeam.id))
                    if " ".join(t.name.split()).casefold() == wanted
                ]
        if not found:
            raise TeamNotFound(ref)
        for team in found:
            if token and _token_matches(team.api_token, token):
                return team
        raise WrongToken(ref)

    async def api_current(self, team_ref: str, token: str) -> dict[str, Any]:
        team = await self.team_by_ref(team_ref, token)
        return await self.who(workspace_id=team.workspace_id, team_id=team.id)

    async def show(self, ctx: CommandContext) -> Content:
        async with self._db.reading() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            members = list(
                await session.scalars(
                    select(RotaMember)
                    .where(RotaMember.team_id == team.id, RotaMember.active.is_(True))
                    .order_by(RotaMember.user)
                )
            )
            weeks = list(
                await session.scalars(
                    select(SupportWeek)
                    .where(SupportWeek.team_id == team.id)
                    .order_by(SupportWeek.starts_at.desc())
                    .limit(6)
                )
            )
            leave = list(
                await session.scalars(
                    select(RotaLeave).where(
                        RotaLeave.team_id == team.id,
                        RotaLeave.last_day >= self._clock.now().date().isoformat(),
                    )
                )
            )
        zone = ZoneInfo(team.tz)
        lines = [
            f"*Rota {team.name}*: picks {team.pick_rule}, "
            f"weeks start {team.start_rule} ({team.tz})",
            "*Members*",
        ]
        lines += [
            f"• <@{m.user}>"
            + (" · prod" if m.prod else "")
            + (" · new" if m.new and not m.observed else "")
            + f" · {m.days}"
            + (f" · {m.tz}" if m.tz else "")
            for m in members
        ] or ["nobody yet: /rota add @name prod"]
        if leave:
            lines.append("*Away*")
            lines += [
                f"• <@{item.user}> {item.first_day}..{item.last_day} {item.reason}".rstrip()
                for item in leave
            ]
        if weeks:
            lines.append("*Weeks*")
            for w in reversed(weeks):
                extra = (f", fallback <@{w.fallback}>" if w.fallback else "") + (
                    f", observer <@{w.observer}>" if w.observer else ""
                )
                lines.append(
                    f"• {w.starts_at.astimezone(zone):%a %d %b}: <@{w.first}> <@{w.second}>"
                    f"{extra} ({w.status})"
                )
        return Content(text="\n".join(lines))

    async def choose(
        self,
        ctx: CommandContext,
        pair: list[str],
        fallback: str | None,
        *,
        week_id: int | None = None,
    ) -> Content:
        """Decide the next week's pair by hand (``/rota choose`` or the Choose… dialog);
        a choice that breaks a rule is refused with the reasons, and nothing changes."""
        now = self._clock.now()
        created = False
        async with self._db.transaction() as session:
            if week_id is not None:
                week = await session.get(SupportWeek, week_id, with_for_update=True)
                team = await session.get(RotaTeam, week.team_id) if week else None
                if week is None or team is None or team.workspace_id != ctx.workspace_id:
                    raise UsageError("That support week no longer exists.")
                if week.starts_at <= now:
                    raise UsageError("That week has started; use /rota swap to change it.")
            else:
                team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
                week = await session.scalar(
                    select(SupportWeek)
                    .where(SupportWeek.team_id == team.id, SupportWeek.starts_at > now)
                    .order_by(SupportWeek.starts_at)
                    .limit(1)
                    .with_for_update()
                )
                if week is None:
                    # Nothing picked yet (a new rota): choosing creates the coming week now
                    # rather than making the team wait for the pick ({team.pick_rule}).
                    starts = next_occurrence(team.start_rule, team.tz, now)
                    week = SupportWeek(
                        team_id=team.id,
                        starts_at=starts,
                        ends_at=next_occurrence(team.start_rule, team.tz, starts),
                        first=pair[0],
                        second=pair[1],
                        fallback_days=[],
                        status="suggested",
                    )
                    session.add(week)
                    await session.flush()
                    await self._schedule_week(session, team, week, now)
                    created = True
            candidates = {c.user: c for c in await self._candidates(session, team)}
            days = self._days(team, week.starts_at)
            pick = Pick(pair[0], pair[1], fallback)
            found = problems(pick, candidates, days=days)
            if found:
                raise UsageError("That pair breaks the rota's rules:\n• " + "\n• ".join(found))
            gaps = [
                d.isoformat()
                for d in days
                if not (candidates[pair[0]].available(d) and candidates[pair[1]].available(d))
            ]
            week.first, week.second, week.fallback = pair[0], pair[1], fallback
            week.fallback_days = gaps if fallback else []
            week.status, week.decided_by, week.decided_at = "accepted", ctx.user, now
            if created:
                self._post_pick(session, team, week)
            else:
                self._edit_pick(session, team, week)
            starts_local = week.starts_at.astimezone(ZoneInfo(team.tz))
        self._changes.committed(session)
        when = f" for the week from {starts_local:%a %d %b %H:%M}" if created else ""
        return Content(text=f"Chosen: <@{pair[0]}> and <@{pair[1]}>{when}.")

    async def request_swap(
        self, ctx: CommandContext, out_user: str, in_user: str, week_of: date | None
    ) -> Content:
        """Propose that ``in_user`` takes ``out_user``'s place in a week; both confirm."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            if out_user == in_user:
                raise UsageError("Swap two different people: /rota swap @out @in [2026-12-02]")
            member = await self._member(session, team, in_user)
            if member is None or not member.active:
                raise UsageError(f"<@{in_user}> is not on this rota; only members can swap in.")
            weeks = (
                select(SupportWeek)
                .where(SupportWeek.team_id == team.id, SupportWeek.ends_at > now)
                .order_by(SupportWeek.starts_at)
            )
            week = None
            for candidate in await session.scalars(weeks):
                local = candidate.starts_at.astimezone(ZoneInfo(team.tz)).date()
                people = (candidate.first, candidate.second, candidate.fallback)
                if out_user in people and (week_of is None or week_of == local):
                    week = candidate
                    break
            if week is None:
                raise UsageError(
                    f"<@{out_user}> is not on support in "
                    + (f"the week of {week_of}" if week_of else "any current or coming week")
                    + ". /rota show lists the weeks."
                )
            if in_user in (week.first, week.second):
                raise UsageError(f"<@{in_user}> is already on support that week.")
            # Refused now, with the reasons, rather than after both people confirmed.
            found = await self._swap_problems(session, team, week, out_user, in_user)
            if found:
                raise UsageError("That swap breaks the rota's rules:\n• " + "\n• ".join(found))
            swap = RotaSwap(
                week_id=week.id,
                out_user=out_user,
                in_user=in_user,
                requested_by=ctx.user,
                requested_at=now,
                status="pending",
            )
            session.add(swap)
            await session.flush()
            soon = week.starts_at - now < timedelta(days=7)
            warning = " ⚠️ This is less than a week ahead." if soon else ""
            when = week.starts_at.astimezone(ZoneInfo(team.tz))
            self._say(
                session,
                team,
                destination=team.channel_id,
                op="post",
                content=Content(
                    text=f"🔁 Swap proposed by <@{ctx.user}>: <@{in_user}> takes "
                    f"<@{out_user}>'s place in the support week of {when:%a %d %b}.{warning} "
                    "Both need to confirm.",
                    buttons=(Button("Confirm swap", SWAP, str(swap.id), "primary"),),
                ),
                key=f"rota:{team.id}:swap:{swap.id}",
            )
        self._changes.committed(session)
        return Content(text=f"Asked <@{out_user}> and <@{in_user}> to confirm the swap.{warning}")

    async def _confirm_swap(
        self, session: AsyncSession, swap_id: int, user: str, now: datetime, workspace_id: str
    ) -> Content:
        swap = await session.get(RotaSwap, swap_id, with_for_update=True)
        week = await session.get(SupportWeek, swap.week_id, with_for_update=True) if swap else None
        team = await session.get(RotaTeam, week.team_id) if week else None
        if swap is None or week is None or team is None or team.workspace_id != workspace_id:
            return Content(text="That swap no longer exists.")
        if swap.status != "pending":
            return Content(text=f"This swap is already {swap.status}.")
        if user == swap.out_user:
            swap.out_confirmed_at = swap.out_confirmed_at or now
        if user == swap.in_user:
            swap.in_confirmed_at = swap.in_confirmed_at or now
        if swap.out_confirmed_at is None or swap.in_confirmed_at is None:
            waiting = swap.in_user if swap.in_confirmed_at is None else swap.out_user
            return Content(text=f"Confirmed; waiting for <@{waiting}>.")

        found = await self._swap_problems(session, team, week, swap.out_user, swap.in_user)
        key = f"rota:{team.id}:swap:{swap.id}"
        if found:
            swap.status = "refused"
            text = "🔁 Swap refused, it breaks the rota's rules:\n• " + "\n• ".join(found)
            self._say(
                session,
                team,
                destination=team.channel_id,
                op="update",
                content=Content(text=text),
                ref_key=key,
            )
            return Content(text=text)
        week.first, week.second, week.fallback = _swapped(
            (week.first, week.second, week.fallback), out_user=swap.out_user, in_user=swap.in_user
        )
        swap.status = "done"
        self._say(
            session,
            team,
            destination=team.channel_id,
            op="update",
            ref_key=key,
            content=Content(
                text=f"🔁 Swapped: <@{swap.in_user}> takes <@{swap.out_user}>'s place "
                "(both confirmed)."
            ),
        )
        if week.starts_at <= now:
            await self._apply_pair(session, team, week)
        else:
            self._edit_pick(session, team, week)
        return Content(text="Swap done.")

    async def _swap_problems(
        self, session: AsyncSession, team: RotaTeam, week: SupportWeek, out_user: str, in_user: str
    ) -> list[str]:
        """What the week would break (production access, leave, new people) after the swap."""
        first, second, fallback = _swapped(
            (week.first, week.second, week.fallback), out_user=out_user, in_user=in_user
        )
        candidates = {c.user: c for c in await self._candidates(session, team)}
        return problems(
            Pick(first, second, fallback), candidates, days=self._days(team, week.starts_at)
        )

    async def plan(self, ctx: CommandContext, weeks: int) -> Content:
        """Propose ``weeks`` weeks ahead, each pick counting towards the next one's fairness."""
        now = self._clock.now()
        async with self._db.reading() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            candidates = await self._candidates(session, team)
            history = await self._history(session, team)
            last = await session.scalar(
                select(SupportWeek.starts_at)
                .where(SupportWeek.team_id == team.id)
                .order_by(SupportWeek.starts_at.desc())
                .limit(1)
            )
        zone = ZoneInfo(team.tz)
        start = next_occurrence(team.start_rule, team.tz, max(now, last or now))
        lines = [
            f"*Proposed rota for the next {weeks} weeks* "
            f"(nothing is decided until each week's pick, {team.pick_rule})"
        ]
        for _ in range(weeks):
            local = start.astimezone(zone).date()
            try:
                pick = suggest(
                    candidates, days=self._days(team, start), history=history, week_start=local
                )
            except UsageError as error:
                lines.append(f"• {local:%a %d %b}: {error.message}")
            else:
                extra = f", fallback <@{pick.fallback}>" if pick.fallback else ""
                lines.append(f"• {local:%a %d %b}: <@{pick.first}> and <@{pick.second}>{extra}")
                for user in (pick.first, pick.second):
                    history.setdefault(user, []).append(local)
            start = next_occurrence(team.start_rule, team.tz, start)
        return Content(text="\n".join(lines))

    async def history_of(self, ctx: CommandContext) -> Content:
        async with self._db.reading() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            weeks = list(
                await session.scalars(
                    select(SupportWeek)
                    .where(SupportWeek.team_id == team.id)
                    .order_by(SupportWeek.starts_at.desc())
                    .limit(12)
                )
            )
        if not weeks:
            return Content(text="No support weeks yet.")
        zone = ZoneInfo(team.tz)
        lines = ["*Support weeks* (latest first)"]
        for w in weeks:
            how = {
                "accepted": f"accepted by <@{w.decided_by}>",
                "automatic": "suggestion, nobody accepted",
            }
            handoff = f", handoff by <@{w.handoff_by}>" if w.handoff_by else ""
            lines.append(
                f"• {w.starts_at.astimezone(zone):%a %d %b}: <@{w.first}> <@{w.second}> "
                f"({how.get(w.status, 'suggested')}{handoff})"
            )
        return Content(text="\n".join(lines))

    async def send_calendar_link(self, ctx: CommandContext) -> Content:
        async with self._db.transaction() as session:
            team = await self.team_for(session, ctx.workspace_id, ctx.channel_id)
            link = f"{self.public_url.rstrip('/')}/rota/{team.id}.ics?token={team.api_token}"
            self._say(
                session,
                team,
                destination=ctx.user,
                op="dm",
                content=Content(
                    text=f"🗓 The *{team.name}* support rota as a calendar "
                    "(subscribe by URL in Google "
                    f"Calendar or Outlook; keep it private, it carries the team's token): {link}\n"
                    f"Deploy scripts: GET {self.public_url.rstrip('/')}/api/rota/{team.id}/current "
                    "with Authorization: Bearer <the same token>."
                ),
            )
        self._changes.committed(session)
        return Content(text="Sent you the calendar link in a DM.")

    async def calendar(self, team_ref: str, token: str) -> bytes:
        """The team's weeks as iCalendar (the ``icalendar`` package), people by name where
        the directory knows them (a calendar app shows text, not Slack mentions)."""
        from icalendar import Calendar, Event

        team = await self.team_by_ref(team_ref, token)
        async with self._db.reading() as session:
            weeks = list(
                await session.scalars(
                    select(SupportWeek)
                    .where(SupportWeek.team_id == team.id)
                    .order_by(SupportWeek.starts_at)
                )
            )
        people = {u for w in weeks for u in (w.first, w.second, w.fallback, w.observer) if u}
        known = await self.directory.people(team.workspace_id, people)

        def name(user: str) -> str:
            return known.get(user) or user

        zone = ZoneInfo(team.tz)
        cal = Calendar()
        cal.add("prodid", "-//Firstline//support rota//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", f"Support rota: {team.name}")
        for w in weeks:
            event = Event()
            event.add("uid", f"firstline-week-{w.id}@{team.workspace_id}")
            event.add("summary", f"Support: {name(w.first)} & {name(w.second)}")
            event.add("dtstart", w.starts_at.astimezone(zone))
            event.add("dtend", w.ends_at.astimezone(zone))
            event.add("dtstamp", w.decided_at or w.starts_at)
            details = [f"Pair: {name(w.first)}, {name(w.second)}", f"Status: {w.status}"]
            if w.fallback:
                details.append(f"Fallback: {name(w.fallback)} ({', '.join(w.fallback_days)})")
            if w.observer:
                details.append(f"Observer: {name(w.observer)}")
            event.add("description", "\n".join(details))
            cal.add_component(event)
        cal.add_missing_timezones()
        return bytes(cal.to_ical())

    # -- timers ---------------------------------------------------------------------------

    async def fire_timer(self, session: AsyncSession, timer: Any, now: datetime) -> str:
        team = await session.get(RotaTeam, int(timer.subject.partition(":")[2]))
        if team is None:
            return "no_team"
        kind, _, ident = timer.step.partition("@")
        if kind == "pick":
            await self._schedule(session, team, "pick", after=now)
            return await self._monday_pick(session, team, now)
        week = await session.get(SupportWeek, int(ident.split("/")[0])) if ident else None
        if week is None:
            return "no_week"
        if kind == "remind_pair":
            if week.status != "suggested":
                return "decided"
            current = await self._current_week(session, team, now)
            for user in (current.first, current.second) if current else ():
                self._say(
                    session,
                    team,
                    destination=user,
                    op="dm",
                    content=Content(
                        text=f"⏰ Next week's support pair for <#{team.channel_id}> "
                        "isn't accepted yet. You're on "
                        "support now, so please make sure it's picked (Accept, or Suggest another)."
                    ),
                )
            return "sent"
        if kind == "remind_lead":
            if week.status != "suggested":
                return "decided"
            lead = f"<@{team.lead}>" if team.lead else "Team"
            self._say(
                session,
                team,
                destination=team.channel_id,
                op="post",
                content=Content(
                    text=f"{lead}: next week's support pair is still not accepted. It starts "
                    f"{week.starts_at.astimezone(ZoneInfo(team.tz)):%a %H:%M}; "
                    "if nobody decides, the suggestion becomes the pair."
                ),
            )
            return "sent"
        if kind == "start":
            return await self._week_start(session, team, week, now)
        if kind == "handoff_reminder":
            if week.handoff_at is not None:
                return "done"
            self._say(
                session,
                team,
                destination=team.channel_id,
                op="post",
                content=Content(
                    text="⏰ The handoff for this support week isn't marked done yet "
                    f"(<@{week.first}> <@{week.second}>)."
                ),
            )
            return "sent"
        return "unknown_step"

    async def _monday_pick(self, session: AsyncSession, team: RotaTeam, now: datetime) -> str:
        starts = next_occurrence(team.start_rule, team.tz, now)
        ends = next_occurrence(team.start_rule, team.tz, starts)
        existing = await session.scalar(
            select(SupportWeek).where(
                SupportWeek.team_id == team.id, SupportWeek.starts_at == starts
            )
        )
        if existing is not None:
            return "already_picked"
        try:
            pick = await self._suggest(session, team, starts, skip=())
        except UsageError as error:
            self._say(
                session,
                team,
                destination=team.channel_id,
                op="post",
                content=Content(
                    text="🗓 Time to pick next week's support pair, but I can't suggest one: "
                    f"{error.message}"
                ),
            )
            return "no_candidates"
        week = SupportWeek(
            team_id=team.id,
            starts_at=starts,
            ends_at=ends,
            first=pick.first,
            second=pick.second,
            fallback=pick.fallback,
            fallback_days=[d.isoformat() for d in pick.fallback_days],
            observer=pick.observer,
            status="suggested",
        )
        session.add(week)
        await session.flush()
        self._post_pick(session, team, week)
        await self._schedule_week(session, team, week, now)
        return "sent"

    def _post_pick(self, session: AsyncSession, team: RotaTeam, week: SupportWeek) -> None:
        """The pick message, once per week (later changes edit it: ``_edit_pick``)."""
        self._say(
            session,
            team,
            destination=team.channel_id,
            op="post",
            content=self._pick_message(team, week),
            key=f"rota:{team.id}:pick:{week.id}",
        )

    async def _schedule_week(
        self, session: AsyncSession, team: RotaTeam, week: SupportWeek, now: datetime
    ) -> None:
        """The week's reminders before it starts, and its start."""
        starts = week.starts_at
        for step, rule in (("remind_pair", "Tue 12:00"), ("remind_lead", "Tue 17:00")):
            due = next_occurrence(rule, team.tz, now)
            if due < starts:
                await timers.schedule(
                    session,
                    workspace_id=team.workspace_id,
                    subject=f"rota:{team.id}",
                    step=f"{step}@{week.id}",
                    due_at=due,
                )
        await timers.schedule(
            session,
            workspace_id=team.workspace_id,
            subject=f"rota:{team.id}",
            step=f"start@{week.id}",
            due_at=starts,
        )

    async def press(self, *, action_id: str, value: str, user: str, workspace_id: str) -> Content:
        ident = button_id(value)
        if ident is None:
            return Content(text="This button has nothing attached.")
        now = self._clock.now()
        if action_id == SWAP:
            async with self._db.transaction() as session:
                reply = await self._confirm_swap(session, ident, user, now, workspace_id)
            self._changes.committed(session)
            return reply
        async with self._db.transaction() as session:
            week = await session.get(SupportWeek, ident, with_for_update=True)
            team = await session.get(RotaTeam, week.team_id) if week else None
            if week is None or team is None or team.workspace_id != workspace_id:
                return Content(text="That support week no longer exists.")
            if action_id == HANDOFF_DONE:
                if week.handoff_at is not None:
                    return Content(text=f"<@{week.handoff_by}> already marked the handoff done.")
                week.handoff_by, week.handoff_at = user, now
                self._say(
                    session,
                    team,
                    destination=team.channel_id,
                    op="post",
                    content=Content(text=f"🤝 Handoff done, confirmed by <@{user}>."),
                )
                reply = Content(text="Thanks: handoff recorded.")
            elif week.status != "suggested" or week.starts_at <= now:
                reply = Content(text="This week is already decided.")
            elif action_id == ACCEPT:
                week.status, week.decided_by, week.decided_at = "accepted", user, now
                reply = Content(text="Accepted.")
            else:
                try:
                    pick = await self._suggest(
                        session, team, week.starts_at, skip=[frozenset((week.first, week.second))]
                    )
                except UsageError as error:
                    return Content(text=f"There is no other pair that works: {error.message}")
                week.first, week.second, week.fallback = pick.first, pick.second, pick.fallback
                week.fallback_days = [d.isoformat() for d in pick.fallback_days]
                reply = Content(text=f"Suggested <@{pick.first}> and <@{pick.second}> instead.")
            if action_id != HANDOFF_DONE:
                self._edit_pick(session, team, week)
        self._changes.committed(session)
        return reply

    # -- internals ------------------------------------------------------------------------

    def _pick_message(self, team: RotaTeam, week: SupportWeek) -> Content:
        zone = ZoneInfo(team.tz)
        when = f"{week.starts_at.astimezone(zone):%a %d %b %H:%M}"
        text = (
            f"🗓 Next support week (from {when}): <@{week.first}> and <@{week.second}>"
            + (
                f", fallback <@{week.fallback}> on {', '.join(week.fallback_days)}"
                if week.fallback
                else ""
            )
            + (f", observer <@{week.observer}>" if week.observer else "")
            + "."
        )
        if week.status == "accepted":
            return Content(text=f"{text}\n✅ Accepted by <@{week.decided_by}>.")
        if week.status == "automatic":
            return Content(
                text=f"{text}\nNobody accepted by the week start, "
                "so the suggestion became the pair."
            )
        return Content(
            text=f"{text}\nSuggested fairly (fewest weeks in the last twelve first). "
            "The current pair makes sure this is decided.",
            buttons=(
                Button("Accept", ACCEPT, str(week.id), "primary"),
                Button("Suggest another", ANOTHER, str(week.id)),
                Button("Choose…", CHOOSE, str(week.id)),
            ),
        )

    async def _week_start(
        self, session: AsyncSession, team: RotaTeam, week: SupportWeek, now: datetime
    ) -> str:
        automatic = week.status == "suggested"
        if automatic:
            week.status, week.decided_at = "automatic", now
            self._edit_pick(session, team, week)
        if week.observer:
            member = await self._member(session, team, week.observer)
            if member is not None:
                member.observed = True
        pair = [week.first, week.second]
        zone = ZoneInfo(team.tz)
        await self._apply_pair(session, team, week)
        previous = await session.scalar(
            select(SupportWeek)
            .where(
                SupportWeek.team_id == team.id,
                SupportWeek.starts_at < week.starts_at,
                SupportWeek.status != "suggested",
            )
            .order_by(SupportWeek.starts_at.desc())
            .limit(1)
        )
        figures = "No previous week to sum up."
        outgoing: list[str] = []
        if previous is not None:
            outgoing = [previous.first, previous.second]
            report = await compute_stats(
                self._db,
                now=now,
                workspace_id=team.workspace_id,
                channel_id=team.channel_id,
                since=previous.starts_at,
                until=week.starts_at,
                session=session,
            )
            figures = summary(report.total) + await self._week_details(
                session, team, since=previous.starts_at, until=week.starts_at, now=now
            )
        checklist = (
            "*Handoff*\n• Outgoing: what happened this week\n"
            "• Incoming: what the feature team releases this week\n"
            "• Grant production access to the incoming pair\n• Revoke it from the outgoing pair"
        )
        note = " (nobody accepted in time, so the suggestion became the pair)" if automatic else ""
        content = Content(
            text=f"🔄 New support week: <@{pair[0]}> and <@{pair[1]}>{note}."
            + (f" Handing over from <@{outgoing[0]}> and <@{outgoing[1]}>." if outgoing else "")
            + f"\n*Last week*\n{figures}\n{checklist}",
            buttons=(Button("Handoff done", HANDOFF_DONE, str(week.id), "primary"),),
        )
        self._say(session, team, destination=team.channel_id, op="post", content=content)
        for user in dict.fromkeys(pair + outgoing):
            self._say(session, team, destination=user, op="dm", content=Content(text=content.text))
        reminder = week.starts_at.astimezone(zone).replace(hour=11, minute=0)
        if reminder > now:
            await timers.schedule(
                session,
                workspace_id=team.workspace_id,
                subject=f"rota:{team.id}",
                step=f"handoff_reminder@{week.id}",
                due_at=reminder,
            )
        session.info[CHANNELS_CHANGED] = True
        return "sent"

    async def _apply_pair(self, session: AsyncSession, team: RotaTeam, week: SupportWeek) -> None:
        """The week's pair becomes true everywhere: user group, topic, channel responders."""
        pair = [week.first, week.second]
        zone = ZoneInfo(team.tz)
        until = week.ends_at.astimezone(zone) - timedelta(days=1)  # the last day on support
        if team.group:
            self._say(
                session,
                team,
                destination=team.channel_id,
                op="group",
                payload={"group": team.group, "users": pair},
            )
        self._say(
            session,
            team,
            destination=team.channel_id,
            op="topic",
            payload={"topic": f"On support: <@{pair[0]}>, <@{pair[1]}> until {until:%a %-d %b}"},
        )
        watch_row = await session.scalar(
            select(WatchedChannel).where(
                WatchedChannel.workspace_id == team.workspace_id,
                WatchedChannel.channel_id == team.channel_id,
            )
        )
        if watch_row is not None and watch_row.active:
            watch_row.responders = pair + ([week.fallback] if week.fallback else [])
        session.info[CHANNELS_CHANGED] = True

    async def _suggest(
        self, session: AsyncSession, team: RotaTeam, starts: datetime, *, skip: Any
    ) -> Pick:
        return suggest(
            await self._candidates(session, team),
            days=self._days(team, starts),
            history=await self._history(session, team),
            week_start=starts.astimezone(ZoneInfo(team.tz)).date(),
            skip=skip,
        )

    async def _week_details(
        self,
        session: AsyncSession,
        team: RotaTeam,
        *,
        since: datetime,
        until: datetime,
        now: datetime,
    ) -> str:
        """Breaches, what is still open, second-line escalations and incidents of a week."""
        in_week = (Request.posted_at >= since) & (Request.posted_at < until)
        mine = (Request.workspace_id == team.workspace_id) & (Request.deleted.is_(False))
        breached = list(
            await session.scalars(
                select(Request)
                .where(
                    mine,
                    in_week,
                    Request.channel_id == team.channel_id,
                    (Request.first_response_seconds > Request.target_seconds)
                    | (Request.first_response_at.is_(None) & (Request.deadline_at <= now)),
                )
                .order_by(Request.posted_at)
                .limit(LIST_LIMIT)
            )
        )
        still_open = list(
            await session.scalars(
                select(Request)
                .where(
                    mine,
                    Request.closed_at.is_(None),
                    (Request.channel_id == team.channel_id)
                    | ((Request.kind == "alerts") & Request.first_response_at.is_(None)),
                )
                .order_by(Request.posted_at)
                .limit(LIST_LIMIT)
            )
        )
        subjects = [
            f"request:{r.id}" for r in await session.scalars(select(Request).where(mine, in_week))
        ]
        second_line = 0
        if subjects:
            second_line = len(
                list(
                    await session.scalars(
                        select(Timer.id).where(
                            Timer.subject.in_(subjects),
                            Timer.step == "second_line",
                            Timer.outcome == "sent",
                        )
                    )
                )
            )
        incidents = list(
            await session.scalars(
                select(Incident).where(
                    Incident.workspace_id == team.workspace_id,
                    Incident.declared_at >= since,
                    Incident.declared_at < until,
                )
            )
        )

        def line(r: Request) -> str:
            age = format_duration((now - r.posted_at).total_seconds())
            label = " ".join(r.text.split())[:60] or "message"
            return f"• {message_ref(r.channel_id, r.ts, label)} ({age} old)"

        parts = [f"\nSecond-line escalations: {second_line}"]
        parts.append("*Breaches*\n" + ("\n".join(line(r) for r in breached) or "none"))
        parts.append(
            "*Still open* (requests, unacknowledged alerts)\n"
            + ("\n".join(line(r) for r in still_open) or "nothing")
        )
        parts.append(
            "*Incidents*\n"
            + (
                "\n".join(f"• {i.title} ({i.severity.upper()}, {i.status})" for i in incidents)
                or "none"
            )
        )
        return "\n".join(parts)

    def _days(self, team: RotaTeam, starts: datetime) -> list[date]:
        hours = BusinessHours.from_stored("always", team.tz, team.holidays)
        return week_days(starts.astimezone(ZoneInfo(team.tz)).date(), is_holiday=hours.is_holiday)

    async def _candidates(self, session: AsyncSession, team: RotaTeam) -> list[Candidate]:
        members = await session.scalars(
            select(RotaMember).where(RotaMember.team_id == team.id, RotaMember.active.is_(True))
        )
        leave = list(await session.scalars(select(RotaLeave).where(RotaLeave.team_id == team.id)))
        return [
            Candidate(
                m.user,
                m.prod,
                m.new,
                m.observed,
                _weekdays(m.days),
                tuple(
                    (date.fromisoformat(item.first_day), date.fromisoformat(item.last_day))
                    for item in leave
                    if item.user == m.user
                ),
            )
            for m in members
        ]

    async def _history(self, session: AsyncSession, team: RotaTeam) -> dict[str, list[date]]:
        weeks = await session.scalars(
            select(SupportWeek).where(
                SupportWeek.team_id == team.id, SupportWeek.status != "suggested"
            )
        )
        zone = ZoneInfo(team.tz)
        history: dict[str, list[date]] = {}
        for w in weeks:
            for user in (w.first, w.second):
                history.setdefault(user, []).append(w.starts_at.astimezone(zone).date())
        return history

    async def _current_week(
        self, session: AsyncSession, team: RotaTeam, now: datetime
    ) -> SupportWeek | None:
        return await session.scalar(
            select(SupportWeek).where(
                SupportWeek.team_id == team.id,
                SupportWeek.starts_at <= now,
                SupportWeek.ends_at > now,
            )
        )

    async def _schedule(
        self, session: AsyncSession, team: RotaTeam, kind: str, *, after: datetime
    ) -> None:
        due = next_occurrence(team.pick_rule, team.tz, after)
        local = due.astimezone(ZoneInfo(team.tz)).strftime("%Y-%m-%dT%H:%M")
        existing = await session.scalar(
            select(Timer).where(Timer.subject == f"rota:{team.id}", Timer.step == f"{kind}@{local}")
        )
        if existing is None:
            await timers.schedule(
                session,
                workspace_id=team.workspace_id,
                subject=f"rota:{team.id}",
                step=f"{kind}@{local}",
                due_at=due,
            )

    async def _member(self, session: AsyncSession, team: RotaTeam, user: str) -> RotaMember | None:
        return await session.scalar(
            select(RotaMember).where(RotaMember.team_id == team.id, RotaMember.user == user)
        )

    def _say(
        self, session: AsyncSession, team: RotaTeam, *, destination: str, op: str, **what: Any
    ) -> None:
        say(
            session,
            workspace_id=team.workspace_id,
            destination=destination,
            op=op,
            at=self._clock.now(),
            **what,
        )

    def _edit_pick(self, session: AsyncSession, team: RotaTeam, week: SupportWeek) -> None:
        """The pick message, edited in place to show the week as it now stands."""
        self._say(
            session,
            team,
            destination=team.channel_id,
            op="update",
            content=self._pick_message(team, week),
            ref_key=f"rota:{team.id}:pick:{week.id}",
        )


def _swapped(
    people: tuple[str, str, str | None], *, out_user: str, in_user: str
) -> tuple[str, str, str | None]:
    first, second, fallback = (in_user if p == out_user else p for p in people)
    return first or "", second or "", fallback


def _yes_no(value: str, *, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("yes", "y", "true", "1", "on"):
        return True
    if lowered in ("no", "n", "false", "0", "off"):
        return False
    raise UsageError(f'{name}: "{value}" is not yes or no. Write {name}=yes or {name}=no.')


def _weekdays(spec: str) -> frozenset[int]:
    result: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first[:3] not in _DAYS or (last and last[:3] not in _DAYS):
            raise UsageError(
                f'days: "{spec}" is not a list of weekdays. Write days=Mon-Fri or days=Mon,Tue,Thu.'
            )
        a = _DAYS.index(first[:3])
        b = _DAYS.index(last[:3]) if last else a
        result.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(result)


class TeamNotFound(UsageError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"There is no rota team {ref!r}. Use the team's name as /rota show gives it, or "
            "the link /rota calendar sends you."
        )


class WrongToken(UsageError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"Wrong or missing token for rota team {ref!r}: send Authorization: Bearer <token> "
            "(the token is in the link /rota calendar sends you)."
        )


def _token_matches(expected: str, given: str) -> bool:
    """Constant-time, on bytes: ``compare_digest`` raises on non-ASCII str, and a hostile
    token must get a 401, never a 500."""
    return secrets.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


async def team_here(
    session: AsyncSession, workspace_id: str, channel_id: str, *, config_hint: str = ""
) -> RotaTeam:
    """The rota team of this channel; a clear error saying how to start one if none."""
    team = await session.scalar(
        select(RotaTeam).where(
            RotaTeam.workspace_id == workspace_id, RotaTeam.channel_id == channel_id
        )
    )
    if team is None:
        raise UsageError(
            "This channel has no rota yet. Start one here with /rota config tz=Europe/Berlin"
            f"{config_hint} (then /rota add @name prod for each person)."
        )
    return team
