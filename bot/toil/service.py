"""Out-of-hours work recorded as it happens, and the time off in lieu it earns per month.

    toil.attach(desk)                       # first responses outside the hours are recorded
    report = await toil.month(workspace_id="T1", channel_id="C1", month="2026-11")

A first response (an alert acknowledged, a request answered) given outside the channel's
business hours by an active member of a rota team whose policy is "a" or "b" is one
``OutOfHoursWork`` row, written in the same transaction as the response. Under policy
(a) the first handling of a call-out also sends a DM with an "It woke me" button.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import ChangeFeed
from bot.channels import Channels, Watch
from bot.clock import Clock
from bot.content import Content
from bot.desk import Desk
from bot.errors import UsageError
from bot.hours import BusinessHours
from bot.outgoing import say
from bot.rota.service import team_here
from bot.tables import aligned_text, csv_text
from bot.toil import messages
from bot.toil.policy import (
    Handling,
    active_hours,
    call_outs,
    policy_a,
    policy_b,
    standby_hours,
)
from storage.engine import Database
from storage.models import (
    OutOfHoursWork,
    Request,
    RotaMember,
    RotaTeam,
    SupportWeek,
    ToilPolicy,
)

POLICY_CHOICES = ("a", "b", "off")
LOOK_BACK = timedelta(days=1)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_policy(value: str) -> str:
    policy = value.strip().lower()
    if policy not in POLICY_CHOICES:
        raise UsageError(
            f'toil: "{value}" is not a policy. Write toil=a (0.25 day per call-out, 0.5 if it '
            "woke you), toil=b (standby hours and 3× active hours) or toil=off."
        )
    return policy


def parse_month(text: str) -> tuple[int, int]:
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UsageError(f'"{text}" is not a month. Write it as 2026-11.')
    return int(match.group(1)), int(match.group(2))


@dataclass
class PersonToil:
    """One person's month under the team's policy."""

    user: str
    policy: str
    handled: int = 0
    call_outs: int = 0
    woke: int = 0
    worked_hours: float = 0.0
    standby_hours: float = 0.0
    owed: float = 0.0

    @property
    def unit(self) -> str:
        return "days" if self.policy == "a" else "hours"

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "policy": self.policy,
            "handled": self.handled,
            "call_outs": self.call_outs,
            "woke": self.woke,
            "worked_hours": round(self.worked_hours, 3),
            "standby_hours": round(self.standby_hours, 3),
            "owed": round(self.owed, 3),
            "unit": self.unit,
        }


@dataclass
class ToilMonth:
    team: str
    team_id: int
    policy: str
    month: str
    people: list[PersonToil]

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "policy": self.policy,
            "month": self.month,
            "people": [p.to_dict() for p in self.people],
        }


class Toil:
    def __init__(
        self, *, db: Database, clock: Clock, channels: Channels, changes: ChangeFeed
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels = channels
        self._changes = changes

    def attach(self, desk: Desk) -> None:
        desk.on_first_response.append(self.record)

    # -- recording ------------------------------------------------------------------------

    async def record(
        self, session: AsyncSession, request: Request, watch: Watch, now: datetime
    ) -> None:
        """A first response was just given: record it if it was out of hours."""
        user, at = request.first_responder, request.first_response_at
        if user is None or at is None or watch.hours.is_open(at):
            return
        found = await self._team_of(session, request.workspace_id, user, request.channel_id)
        if found is None:
            return
        team, policy = found
        received = request.posted_at
        # Call-outs chain from their first alert; a day back is more than any chain needs.
        recent = (
            await session.scalars(
                select(OutOfHoursWork).where(
                    OutOfHoursWork.team_id == team.id,
                    OutOfHoursWork.user == user,
                    OutOfHoursWork.received_at > received - LOOK_BACK,
                    OutOfHoursWork.received_at <= received,
                )
            )
        ).all()
        groups = call_outs(
            [
                *(Handling(r.received_at, r.handled_at) for r in recent),
                Handling(received, at),
            ]
        )
        starts_call_out = len(groups[-1].handlings) == 1 if groups else True
        entry = OutOfHoursWork(
            workspace_id=request.workspace_id,
            team_id=team.id,
            user=user,
            request_id=request.id,
            channel_id=request.channel_id,
            kind=request.kind,
            received_at=received,
            handled_at=at,
            woke=False,
        )
        session.add(entry)
        await session.flush()
        if policy == "a" and starts_call_out:
            say(
                session,
                workspace_id=request.workspace_id,
                destination=user,
                op="dm",
                at=now,
                content=messages.out_of_hours_dm(
                    entry_id=entry.id,
                    channel_id=request.channel_id,
                    ts=request.ts,
                    handled_at=at,
                    tz=watch.hours.tz,
                    kind=request.kind,
                ),
            )

    async def _team_of(
        self, session: AsyncSession, workspace_id: str, user: str, channel_id: str
    ) -> tuple[RotaTeam, str] | None:
        """The user's rota team that records time off: the one of this channel first."""
        rows = (
            await session.execute(
                select(RotaTeam, ToilPolicy.policy)
                .join(RotaMember, RotaMember.team_id == RotaTeam.id)
                .join(ToilPolicy, ToilPolicy.team_id == RotaTeam.id)
                .where(
                    RotaTeam.workspace_id == workspace_id,
                    RotaMember.user == user,
                    RotaMember.active.is_(True),
                    ToilPolicy.policy != "off",
                )
                .order_by(RotaTeam.id)
            )
        ).all()
        if not rows:
            return None
        best = next((r for r in rows if r[0].channel_id == channel_id), rows[0])
        return best[0], best[1]

    async def press_woke(self, *, value: str, user: str) -> Content:
        """ "It woke me" pressed on the DM: the call-out counts 0.5 day."""
        if not value.isdigit():
            return Content(text="This button has nothing attached.")
        async with self._db.transaction() as session:
            entry = await session.get(OutOfHoursWork, int(value), with_for_update=True)
            if entry is None:
                return Content(text="That out-of-hours record no longer exists.")
            if entry.woke:
                return Content(text="Already noted: it woke you (0.5 day).")
            entry.woke = True
        return Content(text="Noted: it woke you, so this call-out counts 0.5 day.")

    # -- configuration --------------------------------------------------------------------

    async def set_policy(self, *, workspace_id: str, channel_id: str, policy: str) -> str:
        policy = parse_policy(policy)
        async with self._db.transaction() as session:
            team = await _team_here(session, workspace_id, channel_id)
            row = await session.scalar(select(ToilPolicy).where(ToilPolicy.team_id == team.id))
            if row is None:
                row = ToilPolicy(team_id=team.id, policy=policy, updated_at=self._clock.now())
                session.add(row)
            row.policy, row.updated_at = policy, self._clock.now()
            name = team.name
        return messages.policy_set(team=name, policy=policy)

    # -- the month ------------------------------------------------------------------------

    async def month(
        self,
        *,
        workspace_id: str,
        month: str | None = None,
        channel_id: str | None = None,
        team_name: str | None = None,
    ) -> list[ToilMonth]:
        """Time off owed per person for ``month`` (e.g. "2026-11"; default: this month in
        each team's zone): the team of ``channel_id``, the team named ``team_name``, or all."""
        if month is not None:
            parse_month(month)
        async with self._db.reading() as session:
            query = select(RotaTeam).where(RotaTeam.workspace_id == workspace_id)
            if channel_id:
                query = query.where(RotaTeam.channel_id == channel_id)
            if team_name:
                query = query.where(RotaTeam.name == team_name)
            teams = (await session.scalars(query.order_by(RotaTeam.id))).all()
            if not teams:
                raise UsageError(
                    "No rota team found here. Start one with /rota config, then choose a policy "
                    "with /rota config toil=a (or toil=b)."
                    if channel_id
                    else f"No rota team{' named ' + team_name if team_name else ''} in "
                    f"{workspace_id}. Teams are started with /rota config in their channel."
                )
            result = []
            for team in teams:
                local = month or self._clock.now().astimezone(ZoneInfo(team.tz)).strftime("%Y-%m")
                year, number = parse_month(local)
                result.append(await self._team_month(session, team, year, number))
            return result

    async def _team_month(
        self, session: AsyncSession, team: RotaTeam, year: int, number: int
    ) -> ToilMonth:
        zone = ZoneInfo(team.tz)
        since = datetime(year, number, 1, tzinfo=zone).astimezone(UTC)
        next_month = date(year + (number == 12), number % 12 + 1, 1)
        until = datetime(next_month.year, next_month.month, 1, tzinfo=zone).astimezone(UTC)
        policy = (
            await session.scalar(select(ToilPolicy.policy).where(ToilPolicy.team_id == team.id))
            or "off"
        )
        rows = (
            await session.execute(
                select(OutOfHoursWork, Request)
                .join(Request, Request.id == OutOfHoursWork.request_id)
                .where(
                    OutOfHoursWork.team_id == team.id,
                    OutOfHoursWork.received_at >= since,
                    OutOfHoursWork.received_at < until,
                )
                .order_by(OutOfHoursWork.received_at)
            )
        ).all()
        handlings: dict[str, list[Handling]] = {}
        for entry, request in rows:
            handlings.setdefault(entry.user, []).append(
                Handling(
                    received_at=entry.received_at,
                    handled_at=entry.handled_at,
                    closed_at=self._night_close(entry, request),
                    woke=entry.woke,
                )
            )
        standby: dict[str, float] = {}
        if policy == "b":
            standby = await self._standby(session, team, since, until)
        people = []
        for user in sorted(set(handlings) | set(standby)):
            mine = handlings.get(user, [])
            outs = call_outs(mine)
            person = PersonToil(
                user=user,
                policy=policy,
                handled=len(mine),
                call_outs=len(outs),
                woke=sum(1 for c in outs if c.woke),
                worked_hours=active_hours(mine),
                standby_hours=standby.get(user, 0.0),
            )
            if policy == "a":
                person.owed = policy_a(mine)
            elif policy == "b":
                person.owed = policy_b(standby=person.standby_hours, active=person.worked_hours)
            people.append(person)
        return ToilMonth(
            team=team.name,
            team_id=team.id,
            policy=policy,
            month=f"{year:04d}-{number:02d}",
            people=people,
        )

    def _night_close(self, entry: OutOfHoursWork, request: Request) -> datetime | None:
        """The request's close, if it came after the handling and before the hours opened
        again (a close the next morning is not night work); else None."""
        closed = request.closed_at
        if closed is None or closed < entry.handled_at:
            return None
        watch = self._channels.get(request.workspace_id, request.channel_id)
        hours = watch.hours if watch is not None else None
        if hours is not None and closed >= hours.next_opening(entry.handled_at):
            return None
        return closed

    async def _standby(
        self, session: AsyncSession, team: RotaTeam, since: datetime, until: datetime
    ) -> dict[str, float]:
        """Standby hours of each person of the pair, over their support weeks in the month."""
        weeks = (
            await session.scalars(
                select(SupportWeek).where(
                    SupportWeek.team_id == team.id,
                    SupportWeek.starts_at < until,
                    SupportWeek.ends_at > since,
                    SupportWeek.status != "suggested",
                )
            )
        ).all()
        members = {
            m.user: m
            for m in (
                await session.scalars(select(RotaMember).where(RotaMember.team_id == team.id))
            ).all()
        }
        holidays = BusinessHours.parse("always", tz=team.tz, holidays=team.holidays or "")
        duties: dict[str, list[tuple[datetime, datetime]]] = {}
        for week in weeks:
            for user in (week.first, week.second):
                duties.setdefault(user, []).append((week.starts_at, week.ends_at))
        result = {}
        for user, spans in duties.items():
            member = members.get(user)
            result[user] = standby_hours(
                spans,
                tz=team.tz,
                working_days=_weekdays(member.days if member else "Mon-Fri"),
                is_holiday=holidays.is_holiday,
                since=since,
                until=until,
            )
        return result


async def _team_here(session: AsyncSession, workspace_id: str, channel_id: str) -> RotaTeam:
    return await team_here(session, workspace_id, channel_id, config_hint=" toil=a")


def _weekdays(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first[:3] not in _DAYS or (last and last[:3] not in _DAYS):
            continue
        a = _DAYS.index(first[:3])
        b = _DAYS.index(last[:3]) if last else a
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days) or frozenset(range(5))


def format_toil(months: list[ToilMonth], fmt: str) -> str:
    """The month as a table, CSV or JSON (one row per person and team)."""
    if fmt == "json":
        return json.dumps([m.to_dict() for m in months], indent=2) + "\n"
    header = [
        "team",
        "user",
        "policy",
        "handled",
        "call_outs",
        "woke",
        "worked_hours",
        "standby_hours",
        "owed",
        "unit",
    ]
    rows = []
    for month in months:
        for p in month.people:
            d = p.to_dict()
            rows.append([month.team, *(str(d[k]) for k in header[1:])])
    if fmt == "csv":
        return csv_text(header, rows)
    if not rows:
        return "No out-of-hours work or standby recorded in this month.\n"
    return aligned_text(header, rows)


def describe_month(month: ToilMonth) -> Content:
    """`/rota toil`: the team's month, one line per person."""
    title = f"*Time off in lieu, {month.team}, {month.month}* ({messages.POLICIES[month.policy]})"
    if month.policy == "off":
        return Content(text=title + "\nTurn it on with /rota config toil=a (or toil=b).")
    if not month.people:
        return Content(text=title + "\nNothing recorded this month.")
    lines = [title]
    for p in month.people:
        if p.policy == "a":
            lines.append(
                f"• <@{p.user}>: {round(p.owed, 3):g} day(s) — {p.call_outs} call-out(s) "
                f"from {p.handled} handled, {p.woke} woke them, {p.worked_hours:.2f} h worked"
            )
        else:
            lines.append(
                f"• <@{p.user}>: {round(p.owed, 3):g} hour(s) — {p.standby_hours:.1f} h standby, "
                f"{p.worked_hours:.2f} h active ({p.handled} handled)"
            )
    return Content(text="\n".join(lines))


__all__ = ["Toil", "ToilMonth", "describe_month", "format_toil", "parse_month"]
