"""Reports as a service: the weekly report's timers, SLO notices and the Home tab's refresh.

    reports = Reports(db=db, clock=clock, channels=channels, changes=changes)
    await reports.ensure_schedules()           # every watched channel has its weekly timer
    await reports.changed("T1")                # a request moved: refresh Home, check the SLO

Timers (subjects handled by ``fire_timer``):

- ``reports:<workspace>:<channel>`` step ``weekly@2026-W48``: the weekly report of that
  channel, due Monday 09:00 in the channel's time zone after the week ends. The (subject,
  step) key is unique, so replicas and restarts post each week's report once.
- ``reports:<workspace>`` step ``changed@<instant>``: something shown on the Home tab
  changed. Written at most once per ``DEBOUNCE``, so a burst of requests republishes
  each Home tab once; it also re-checks the error budget of the workspace's channels.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import ChangeFeed
from bot.channels import Channels, Watch
from bot.clock import Clock
from bot.content import Content, message_ref
from bot.durations import format_duration
from bot.errors import UsageError
from bot.outgoing import say
from bot.people import Directory
from bot.reports import charts
from bot.reports import messages as say_text
from bot.reports.commands import ReportCommand, ReportContext
from bot.reports.figures import WeeklyReport, weekly_report
from bot.reports.slo import (
    Budget,
    Objective,
    error_budget,
    objective_of,
    objective_row,
    parse_objective,
)
from bot.reports.weeks import IsoWeek
from bot.rota.service import next_occurrence
from bot.stats import Figures, compute_stats, percentile, window_bound, window_zone
from storage import outbox, timers
from storage.engine import Database
from storage.models import (
    HomeViewer,
    Request,
    RotaMember,
    RotaTeam,
    ServiceObjective,
    SupportWeek,
    Timer,
    WatchedChannel,
    Workspace,
)

log = logging.getLogger(__name__)

REPORT_RULE = "Mon 09:00"  # local to the channel: the week before is over, people are in
DEBOUNCE = timedelta(seconds=10)
HOME_OPEN_LIMIT = 15
OWN_FIGURES = timedelta(days=28)


class Reports:
    def __init__(
        self, *, db: Database, clock: Clock, channels: Channels, changes: ChangeFeed
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels = channels
        self._changes = changes
        self._pending: dict[str, datetime] = {}  # workspace -> due time of its refresh timer
        self.directory = Directory()  # names for charts and Markdown; the server sets it

    # -- schedules ---------------------------------------------------------------------------

    async def ensure_schedules(self) -> int:
        """Give every watched channel its next weekly-report timer (if it has none pending).

        The watched channels are read from the database, not from the in-memory view: on
        PostgreSQL the view learns of a change when its NOTIFY has been heard and reloaded,
        which may be after the watch command that made it has answered, and a channel
        missing from the view then would get no weekly report. One short read when nothing
        is missing, so the refresh loop can call it every few seconds and a channel watched
        from the shell or another replica gets its report too.
        """
        async with self._db.reading() as session:
            rows = (
                await session.scalars(select(WatchedChannel).where(WatchedChannel.active.is_(True)))
            ).all()
            if not rows:
                return 0
            watches = [Watch.from_row(row) for row in rows]
            pending = set(
                (
                    await session.scalars(
                        select(Timer.subject).where(
                            Timer.subject.like("reports:%:%"), Timer.fired_at.is_(None)
                        )
                    )
                ).all()
            )
        missing = [
            w for w in watches if _weekly_subject(w.workspace_id, w.channel_id) not in pending
        ]
        created = 0
        now = self._clock.now()
        for watch in missing:
            subject = _weekly_subject(watch.workspace_id, watch.channel_id)
            try:
                async with self._db.transaction() as session:
                    again = await session.scalar(
                        select(Timer.id).where(Timer.subject == subject, Timer.fired_at.is_(None))
                    )
                    if again is None:
                        await self._schedule_weekly(session, watch, after=now)
                        created += 1
                self._changes.committed(session)
            except IntegrityError:
                pass  # another replica scheduled the same occurrence
        return created

    async def _schedule_weekly(
        self, session: AsyncSession, watch: Watch, *, after: datetime
    ) -> None:
        tz = watch.settings.tz
        due = next_occurrence(REPORT_RULE, tz, after)
        week = IsoWeek.containing(due, tz).previous()
        step = f"weekly@{week}"
        subject = _weekly_subject(watch.workspace_id, watch.channel_id)
        existing = await session.scalar(
            select(Timer.id).where(Timer.subject == subject, Timer.step == step)
        )
        if existing is None:
            await timers.schedule(
                session, workspace_id=watch.workspace_id, subject=subject, step=step, due_at=due
            )

    async def changed(self, workspace_id: str) -> None:
        """Something the Home tab shows changed; refresh soon (once per burst). Never raises."""
        now = self._clock.now()
        due = self._pending.get(workspace_id)
        if due is not None and now < due:
            return
        try:
            async with self._db.transaction() as session:
                await self.mark_changed(session, workspace_id=workspace_id, now=now)
        except Exception:
            # The change itself is committed; a missed refresh must not fail the event
            # (the next change, or the next opening of the tab, publishes it).
            log.warning("could not schedule the Home refresh for %s", workspace_id, exc_info=True)
            return
        self._changes.committed(session)

    async def mark_changed(
        self, session: AsyncSession, *, workspace_id: str, now: datetime
    ) -> None:
        """The same, inside the caller's transaction."""
        subject = f"reports:{workspace_id}"
        pending = await session.scalar(
            select(Timer.due_at).where(Timer.subject == subject, Timer.fired_at.is_(None))
        )
        if pending is None:
            pending = now + DEBOUNCE
            await timers.schedule(
                session,
                workspace_id=workspace_id,
                subject=subject,
                step=f"changed@{int(now.timestamp() * 1000)}",  # steps are 32 chars at most
                due_at=pending,
            )
        self._pending[workspace_id] = pending

    async def fire_timer(self, session: AsyncSession, timer: Timer, now: datetime) -> str:
        parts = timer.subject.split(":")
        if len(parts) == 2:
            self._pending.pop(parts[1], None)
            return await self._refresh(session, parts[1], now)
        if len(parts) == 3 and timer.step.startswith("weekly@"):
            return await self._weekly(session, parts[1], parts[2], timer.step[7:], now)
        return "unknown"

    async def _weekly(
        self,
        session: AsyncSession,
        workspace_id: str,
        channel_id: str,
        week_text: str,
        now: datetime,
    ) -> str:
        watch = await self._channels.load(session, workspace_id, channel_id)
        if watch is None:
            return "unwatched"
        await self._schedule_weekly(session, watch, after=now)
        report = await self.build(session, watch=watch, week=IsoWeek.parse(week_text), now=now)
        self._post(session, report, key=f"report:{workspace_id}:{channel_id}:{week_text}")
        await self._check_budget(session, watch, now)
        return "sent"

    async def _refresh(self, session: AsyncSession, workspace_id: str, now: datetime) -> str:
        for watch in self._channels.all():
            if watch.workspace_id == workspace_id:
                await self._check_budget(session, watch, now)
        viewers = (
            await session.scalars(
                select(HomeViewer.user_id).where(HomeViewer.workspace_id == workspace_id)
            )
        ).all()
        shared = await self.home_shared(session, workspace_id, now) if viewers else []
        for user in viewers:
            await self._publish_home(
                session, workspace_id=workspace_id, user=user, now=now, shared=shared
            )
        return f"homes:{len(viewers)}"

    # -- the weekly report -------------------------------------------------------------------

    async def build(
        self,
        session: AsyncSession,
        *,
        watch: Watch,
        week: IsoWeek,
        now: datetime,
        charts_too: bool = True,
    ) -> WeeklyReport:
        report = await weekly_report(
            session,
            db=self._db,
            workspace_id=watch.workspace_id,
            channel_id=watch.channel_id,
            kind=watch.kind,
            tz=watch.settings.tz,
            week=week,
            now=now,
            next_target=watch.settings.next_target_seconds,
            resolve_target=watch.settings.resolve_target_seconds,
        )
        # A past week's budget as it stood when that week ended, not today's.
        as_of = min(now, report.until)
        budget = await self.budget(session, watch.workspace_id, watch.channel_id, as_of)
        report.slo = budget.to_dict()
        workspace = await session.get(Workspace, watch.workspace_id)
        report.base_url = workspace.url if workspace is not None else ""
        report.channel_label = await self.directory.channel(watch.workspace_id, watch.channel_id)
        report.names = await self.directory.people(watch.workspace_id, report.people())
        if charts_too:
            noun = "alerts" if watch.kind == "alerts" else "requests"
            where = report.channel_label
            # Drawing takes a few hundred milliseconds: off the event loop, so Slack's
            # events keep being answered within their 3 seconds meanwhile.
            report.charts = {
                "per_day": await asyncio.to_thread(
                    charts.per_day_png,
                    report.per_day,
                    title=f"{noun.capitalize()} per day in {where}, {week}",
                ),
                "heatmap": await asyncio.to_thread(
                    charts.heatmap_png,
                    report.heatmap,
                    title=f"{noun.capitalize()} by hour of week in {where}, {week} "
                    f"({watch.settings.tz})",
                ),
            }
        return report

    def _post(self, session: AsyncSession, report: WeeklyReport, *, key: str | None) -> None:
        """The report as a message, then its charts as PNG uploads (in that order)."""
        now = self._clock.now()
        ws, channel = report.workspace_id, report.channel_id
        say(
            session,
            workspace_id=ws,
            destination=channel,
            op="post",
            at=now,
            content=say_text.report_content(report),
            key=key,
        )
        charts_worth_it = report.figures["requests"] > 0  # an empty heatmap says nothing
        for name, png in report.charts.items() if charts_worth_it else ():
            say(
                session,
                workspace_id=ws,
                destination=channel,
                op="upload",
                at=now,
                payload={
                    "filename": f"firstline-{report.week}-{name}.png",
                    "content_base64": base64.b64encode(png).decode("ascii"),
                    "title": f"{report.week}: "
                    + ("requests per day" if name == "per_day" else "hour-of-week heatmap"),
                },
                key=f"{key}:{name}" if key else None,
            )

    async def reports_for(
        self, *, workspace_id: str, channel_id: str | None, week: IsoWeek, charts_too: bool = False
    ) -> list[WeeklyReport]:
        """Reports of one channel or every watched channel of the workspace (CLI, API)."""
        now = self._clock.now()
        async with self._db.reading() as session:
            query = select(WatchedChannel).where(
                WatchedChannel.workspace_id == workspace_id, WatchedChannel.active.is_(True)
            )
            if channel_id:
                query = query.where(WatchedChannel.channel_id == channel_id)
            watches = [Watch.from_row(r) for r in (await session.scalars(query)).all()]
            if channel_id and not watches:
                raise UsageError(
                    f"{channel_id} is not a watched channel in {workspace_id}. "
                    "Leave out --channel to report on every watched channel."
                )
            return [
                await self.build(session, watch=w, week=week, now=now, charts_too=charts_too)
                for w in sorted(watches, key=lambda w: w.channel_id)
            ]

    async def api_stats(
        self,
        *,
        workspace_id: str | None,
        channel_id: str | None,
        since: str | None,
        until: str | None,
    ) -> dict[str, Any]:
        """`GET /api/stats`: the figures of ``bot.stats``, plus the error budget of a channel."""
        now = self._clock.now()
        # Dates are whole days in the channel's zone, until's day included (as the CLI).
        zone = await window_zone(self._db, workspace_id=workspace_id, channel_id=channel_id)
        start = (
            window_bound(since, tz=zone, end=False, name="since=")
            if since
            else now - timedelta(days=7)
        )
        end = window_bound(until, tz=zone, end=True, name="until=") if until else None
        if end is not None and end <= start:
            raise UsageError(
                "until must not be before since, e.g. since=2026-11-01&until=2026-11-15."
            )
        async with self._db.reading() as session:
            report = await compute_stats(
                self._db,
                now=now,
                workspace_id=workspace_id,
                channel_id=channel_id,
                since=start,
                until=end,
                session=session,
            )
            answer = report.to_dict()
            if channel_id:
                watched = await session.scalar(
                    select(WatchedChannel.workspace_id).where(
                        WatchedChannel.channel_id == channel_id,
                        *([WatchedChannel.workspace_id == workspace_id] if workspace_id else []),
                    )
                )
                if watched is None:
                    raise UsageError(
                        f"{channel_id} is not a watched channel; leave channel= out for all."
                    )
                budget = await self.budget(session, watched, channel_id, now)
                answer["slo"] = budget.to_dict()
        return answer

    # -- commands ----------------------------------------------------------------------------

    async def run(self, command: ReportCommand, ctx: ReportContext) -> Content:
        # Not the view as last loaded: right after a watch command it may not have taken
        # the change yet (PostgreSQL), and "not watched" would be wrong.
        watch = await self._channels.lookup(ctx.workspace_id, ctx.channel_id)
        if watch is None:
            raise UsageError(
                "This channel is not watched, so there is nothing to report. An admin can start "
                "with /support watch requests target=5m."
            )
        now = self._clock.now()
        if command.verb == "report":
            week = _week_of(command.week, now, watch.settings.tz)
            if week.bounds(watch.settings.tz)[0] > now:
                raise UsageError(f"{week} has not started yet. Try /support report last.")
            async with self._db.transaction() as session:
                report = await self.build(session, watch=watch, week=week, now=now)
                self._post(session, report, key=None)
            self._changes.committed(session)
            return say_text.report_posting(str(week), ctx.channel_id)
        if command.verb == "slo_set":
            objective = parse_objective(list(command.args))
            async with self._db.transaction() as session:
                row = await objective_row(
                    session, workspace_id=ctx.workspace_id, channel_id=ctx.channel_id, lock=True
                )
                if row is None:
                    row = ServiceObjective(workspace_id=ctx.workspace_id, channel_id=ctx.channel_id)
                    session.add(row)
                row.objective, row.window_days = objective.objective, objective.window_days
                row.set_by, row.updated_at = ctx.user, now
            return say_text.slo_set(channel_id=ctx.channel_id, objective=objective)
        async with self._db.reading() as session:
            row = await objective_row(
                session, workspace_id=ctx.workspace_id, channel_id=ctx.channel_id
            )
            configured = row is not None and bool(row.set_by)  # notices also create the row
            budget = await self.budget(session, ctx.workspace_id, ctx.channel_id, now)
        return say_text.slo_status(channel_id=ctx.channel_id, budget=budget, configured=configured)

    # -- SLO ---------------------------------------------------------------------------------

    async def budget(
        self, session: AsyncSession, workspace_id: str, channel_id: str, now: datetime
    ) -> Budget:
        objective = await objective_of(session, workspace_id=workspace_id, channel_id=channel_id)
        return await error_budget(
            session,
            workspace_id=workspace_id,
            channel_id=channel_id,
            objective=objective,
            now=now,
        )

    async def _check_budget(self, session: AsyncSession, watch: Watch, now: datetime) -> str:
        """Warn once per window when the budget burns fast; say once when it is spent."""
        ws, channel = watch.workspace_id, watch.channel_id
        budget = await self.budget(session, ws, channel, now)
        if not budget.spent and not budget.firing:
            return "fine"
        row = await objective_row(session, workspace_id=ws, channel_id=channel, lock=True)
        if row is None:
            row = ServiceObjective(
                workspace_id=ws,
                channel_id=channel,
                objective=budget.objective.objective,
                window_days=budget.objective.window_days,
                set_by="",
                updated_at=now,
            )
            session.add(row)
        window = budget.objective.window
        if budget.spent:
            if row.spent_at is not None and now - row.spent_at < window:
                return "spent_said"
            await _post_once(
                session,
                key=f"slo-spent:{ws}:{channel}:{now.date().isoformat()}",
                workspace_id=ws,
                channel=channel,
                content=say_text.slo_spent(budget=budget),
                now=now,
            )
            row.spent_at = now
            return "spent"
        recent = [at for at in (row.warned_at, row.spent_at) if at is not None]
        if recent and now - max(recent) < window:
            return "warned_already"
        await _post_once(
            session,
            key=f"slo-warn:{ws}:{channel}:{now.date().isoformat()}",
            workspace_id=ws,
            channel=channel,
            content=say_text.slo_warning(budget=budget, rule=budget.firing[0]),
            now=now,
        )
        row.warned_at = now
        return "warned"

    # -- App Home ----------------------------------------------------------------------------

    async def home_opened(self, *, workspace_id: str, user: str) -> None:
        """``app_home_opened``: remember the viewer and publish their Home tab now."""
        now = self._clock.now()
        try:
            async with self._db.transaction() as session:
                viewer = await session.scalar(
                    select(HomeViewer).where(
                        HomeViewer.workspace_id == workspace_id, HomeViewer.user_id == user
                    )
                )
                if viewer is None:
                    session.add(HomeViewer(workspace_id=workspace_id, user_id=user, opened_at=now))
                else:
                    viewer.opened_at = now
                await self._publish_home(session, workspace_id=workspace_id, user=user, now=now)
        except IntegrityError:
            return  # a concurrent open of the same Home tab published it
        self._changes.committed(session)

    async def _publish_home(
        self,
        session: AsyncSession,
        *,
        workspace_id: str,
        user: str,
        now: datetime,
        shared: list[Content] | None = None,
    ) -> None:
        sections = await self.home_sections(
            session, workspace_id=workspace_id, user=user, now=now, shared=shared
        )
        say(
            session,
            workspace_id=workspace_id,
            destination=user,
            op="home",
            at=now,
            payload={"sections": [s.to_payload() for s in sections]},
        )

    async def home_sections(
        self,
        session: AsyncSession,
        *,
        workspace_id: str,
        user: str,
        now: datetime,
        shared: list[Content] | None = None,
    ) -> list[Content]:
        """One person's Home tab: what everyone sees (``shared``, computed once per refresh)
        and, for people on a rota, their own figures."""
        sections = list(shared or await self.home_shared(session, workspace_id, now))
        own = await self._home_own(session, workspace_id, user, now)
        if own is not None:
            sections.append(own)
        return sections

    async def home_shared(
        self, session: AsyncSession, workspace_id: str, now: datetime
    ) -> list[Content]:
        sections = [Content(text="*Firstline*: first-line support at a glance")]
        sections.append(await self._home_rota(session, workspace_id, now))
        watches = sorted(
            (w for w in self._channels.all() if w.workspace_id == workspace_id),
            key=lambda w: w.channel_id,
        )
        week_lines = []
        for watch in watches:
            tz = watch.settings.tz
            since, _ = IsoWeek.containing(now, tz).bounds(tz)
            figures = Figures()
            rows = await session.execute(
                select(
                    Request.target_seconds,
                    Request.deadline_at,
                    Request.first_response_seconds,
                    Request.closed_at,
                    Request.close_seconds,
                ).where(
                    Request.workspace_id == workspace_id,
                    Request.channel_id == watch.channel_id,
                    Request.deleted.is_(False),
                    Request.posted_at >= since,
                    Request.posted_at < now,
                )
            )
            for row in rows:
                figures.add(row, now)
            budget = await self.budget(session, workspace_id, watch.channel_id, now)
            decided = figures.within_target + figures.breached
            share = f"{figures.within_target / decided:.0%}" if decided else "–"
            left = (
                "spent: prioritise support debt"
                if budget.spent
                else f"{say_text.budget_left(budget.left)} left"
            )
            week_lines.append(
                f"• <#{watch.channel_id}>: {share} within target this week "
                f"({figures.within_target} of {decided}) · error budget {left}"
            )
        sections.append(
            Content(text="*This week*\n" + ("\n".join(week_lines) or "No channel is watched yet."))
        )
        sections.append(await self._home_open(session, workspace_id, now))
        return sections

    async def _home_rota(self, session: AsyncSession, workspace_id: str, now: datetime) -> Content:
        teams = (
            await session.scalars(
                select(RotaTeam).where(RotaTeam.workspace_id == workspace_id).order_by(RotaTeam.id)
            )
        ).all()
        if not teams:
            return Content(text="*On support*\nNo rota yet (/rota config starts one).")
        lines = ["*On support*"]
        for team in teams:
            zone = ZoneInfo(team.tz)
            current = await session.scalar(
                select(SupportWeek).where(
                    SupportWeek.team_id == team.id,
                    SupportWeek.starts_at <= now,
                    SupportWeek.ends_at > now,
                )
            )
            upcoming = await session.scalar(
                select(SupportWeek)
                .where(
                    SupportWeek.team_id == team.id,
                    SupportWeek.starts_at >= (current.ends_at if current else now),
                )
                .order_by(SupportWeek.starts_at)
                .limit(1)
            )
            if current is not None:
                until = current.ends_at.astimezone(zone)
                lines.append(f"• {team.name}: now {_pair(current)} until {until:%a %d %b %H:%M}")
            else:
                lines.append(f"• {team.name}: nobody is on support right now")
            if upcoming is not None:
                starts = upcoming.starts_at.astimezone(zone)
                state = " (suggested)" if upcoming.status == "suggested" else ""
                lines.append(f"   next: {_pair(upcoming)}{state} from {starts:%a %d %b %H:%M}")
            else:
                lines.append(f"   next: not picked yet (the pick is {team.pick_rule})")
        return Content(text="\n".join(lines))

    async def _home_open(self, session: AsyncSession, workspace_id: str, now: datetime) -> Content:
        watched = [w.channel_id for w in self._channels.all() if w.workspace_id == workspace_id]
        rows = (
            (
                await session.scalars(
                    select(Request)
                    .where(
                        Request.workspace_id == workspace_id,
                        Request.channel_id.in_(watched),
                        Request.closed_at.is_(None),
                        Request.deleted.is_(False),
                    )
                    .order_by(Request.posted_at)
                    .limit(HOME_OPEN_LIMIT + 1)
                )
            ).all()
            if watched
            else []
        )
        if not rows:
            return Content(text="*Open requests*\nNone. 🎉")
        lines = ["*Open requests*"]
        for row in rows[:HOME_OPEN_LIMIT]:
            age = format_duration((now - row.posted_at).total_seconds())
            state = (
                f"answered by <@{row.first_responder}>"
                if row.first_responder
                else ("⚠️ past target" if row.deadline_at <= now else "waiting")
            )
            text = " ".join(row.text.split())
            snippet = text[:60] + ("…" if len(text) > 60 else "")
            lines.append(
                f"• {age}: “{snippet}” in <#{row.channel_id}> ({state}) "
                f"{message_ref(row.channel_id, row.ts, 'open')}"
            )
        if len(rows) > HOME_OPEN_LIMIT:
            lines.append("…and more: /support status in a channel lists them all.")
        return Content(text="\n".join(lines))

    async def _home_own(
        self, session: AsyncSession, workspace_id: str, user: str, now: datetime
    ) -> Content | None:
        member = await session.scalar(
            select(RotaMember.id)
            .join(RotaTeam, RotaTeam.id == RotaMember.team_id)
            .where(
                RotaTeam.workspace_id == workspace_id,
                RotaMember.user == user,
                RotaMember.active.is_(True),
            )
            .limit(1)
        )
        if member is None:
            return None
        rows = (
            await session.execute(
                select(Request.first_response_seconds, Request.target_seconds).where(
                    Request.workspace_id == workspace_id,
                    Request.first_responder == user,
                    Request.deleted.is_(False),
                    Request.first_response_at >= now - OWN_FIGURES,
                )
            )
        ).all()
        times = [
            float(r.first_response_seconds) for r in rows if r.first_response_seconds is not None
        ]
        within = sum(1 for r in rows if r.first_response_seconds <= r.target_seconds)
        weeks = await session.scalar(
            select(SupportWeek.id)
            .join(RotaTeam, RotaTeam.id == SupportWeek.team_id)
            .where(
                RotaTeam.workspace_id == workspace_id,
                SupportWeek.starts_at >= now - timedelta(days=91),
                SupportWeek.starts_at <= now,
                (SupportWeek.first == user) | (SupportWeek.second == user),
            )
            .limit(1)
        )
        p50 = percentile(times, 50)
        p90 = percentile(times, 90)
        text = (
            "*Your figures, last 28 days*\n"
            f"First responses given: {len(times)}"
            + (
                f" · within target {within} ({within / len(times):.0%}) · "
                f"p50 {format_duration(p50 or 0)} · p90 {format_duration(p90 or 0)}"
                if times
                else ""
            )
            + ("\nYou were on support in the last 13 weeks." if weeks else "")
        )
        return Content(text=text)


def _pair(week: SupportWeek) -> str:
    fallback = f" (fallback <@{week.fallback}>)" if week.fallback else ""
    return f"<@{week.first}> and <@{week.second}>{fallback}"


def _weekly_subject(workspace_id: str, channel_id: str) -> str:
    return f"reports:{workspace_id}:{channel_id}"


def _week_of(text: str | None, now: datetime, tz: str) -> IsoWeek:
    if text is None or text.lower() == "this":
        return IsoWeek.containing(now, tz)
    if text.lower() == "last":
        return IsoWeek.containing(now, tz).previous()
    return IsoWeek.parse(text)


__all__ = ["Objective", "ReportCommand", "ReportContext", "Reports"]


async def _post_once(
    session: AsyncSession,
    *,
    key: str,
    workspace_id: str,
    channel: str,
    content: Content,
    now: datetime,
) -> None:
    """Post ``content`` unless a message under ``key`` was queued before (replicas, restarts)."""
    if await outbox.referenced(session, key) is None:
        say(
            session,
            workspace_id=workspace_id,
            destination=channel,
            op="post",
            at=now,
            content=content,
            key=key,
        )
