"""What `/support …` commands do, whichever platform or grammar delivered them.

    reply = await support.run(SupportStatus(), context)

Commands arrive parsed (see ``bot.grammar``) and authorized (see ``bot.frontdoor``): who
may change what Firstline watches is decided there, before anything here runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.channels import Channels, Watch
from bot.clock import Clock
from bot.content import Content, message_ref
from bot.context import CommandContext
from bot.durations import format_duration
from bot.errors import UsageError
from bot.history.service import history_line
from bot.quality.figures import quality_figures, quality_lines
from bot.quality.settings import describe_quality
from bot.reports.commands import ReportCommand, ReportContext
from bot.stats import compute_stats, summary
from bot.support_ops import HELP_LINES as OPS_HELP
from bot.support_ops import OPS_COMMANDS, FaqSwitch, OpsCommand, SupportOps
from bot.triage.service import category_lines, figures_by_category
from storage.engine import Database
from storage.models import Request

if TYPE_CHECKING:
    from bot.reports.service import Reports


@dataclass(frozen=True)
class SupportWatch:
    kind: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SupportUnwatch:
    pass


@dataclass(frozen=True)
class SupportResponders:
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class SupportStatus:
    pass


@dataclass(frozen=True)
class SupportStats:
    days: int | None = 7
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SupportHelp:
    pass


SupportCommand = (
    SupportWatch
    | SupportUnwatch
    | SupportResponders
    | SupportStatus
    | SupportStats
    | SupportHelp
    | OpsCommand
    | ReportCommand
)

REPORT_HELP = (
    "• `/support report [this|last|2026-W48]`: post the weekly report here, with charts",
    "• `/support slo`: the objective and error budget; `/support slo set 95% 28d` changes it",
)

HELP = "\n".join(
    [
        "*Firstline: /support*",
        "• `/support watch requests [target=5m] [responders=anyone|team] "
        '[hours=always|"Mon-Fri 10:00-18:00"] [tz=Europe/Berlin] [holidays=DE] '
        "[escalate=@user|@group|pagerduty:<name>|webhook:<name>] [offhours=wait|page]`: "
        "measure first responses here "
        "(alerts: `/support watch alerts …`)",
        "• request quality (requests channels): `noise=on|off` `noise_words=+passt,-hi` "
        "`burst=3m|off` `next=30m|off` `resolve=1d|off` `waiting=?,hourglass|off`: thanks, "
        "greetings and emoji are not requests; a quick burst is one request; next-response and "
        "resolution targets pause while waiting on the requester",
        "• `/support unwatch`: stop watching this channel (figures are kept)",
        "• `/support responders @a @b`: who is nudged and, with responders=team, who may answer",
        "• `/support status`: open requests and alerts, with age and link",
        "• `/support stats [7d|30d|since 2026-11-01]`: first-response figures for this channel",
        *REPORT_HELP,
        *OPS_HELP,
        "• `/support help`: this message",
    ]
)
ACKNOWLEDGE_BY_EMOJI = (
    "Acknowledge with :eyes:, close with :white_check_mark:, or reply in the thread."
)
# A Teams bot hears of no reactions in channels: there, a reply is the acknowledgement.
ACKNOWLEDGE_BY_REPLY = "Acknowledge by replying to the request; the first reply is the response."

STATUS_LIMIT = 15


class SupportCommands:
    def __init__(
        self, *, db: Database, clock: Clock, channels: Channels, reports: Reports | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels = channels
        self.ops: SupportOps | None = None  # faq and template, wired by Core
        self._reports = reports

    async def run(self, command: SupportCommand, ctx: CommandContext) -> Content:
        if isinstance(command, OPS_COMMANDS) and self.ops is not None:
            return await self.ops.run(command, ctx)
        if isinstance(command, SupportHelp):
            slack = ctx.prefix == "/"
            return Content(
                text=f"{HELP}\n{ACKNOWLEDGE_BY_EMOJI if slack else ACKNOWLEDGE_BY_REPLY}"
            )
        if isinstance(command, SupportStatus):
            return await self._status(ctx)
        if isinstance(command, SupportStats):
            return await self._stats(command, ctx)
        if isinstance(command, SupportResponders) and not command.users:
            return self._show_responders(ctx)
        if isinstance(command, ReportCommand):
            return await self._report(command, ctx)
        if isinstance(command, SupportWatch):
            options = dict(command.options)
            faq = options.pop("faq", None)  # common requests live beside the watch settings
            watch = await self._channels.watch(
                workspace_id=ctx.workspace_id,
                channel_id=ctx.channel_id,
                kind=command.kind,
                options=options,
                actor=ctx.user,
            )
            if self._reports is not None:
                await self._reports.ensure_schedules()  # the channel's weekly report
            text = f"👀 Watching <#{ctx.channel_id}>: {describe(watch)}"
            if faq is not None and self.ops is not None:
                switched = await self.ops.run(FaqSwitch(enabled=faq == "on"), ctx)
                text += f"\n{switched.text}"
            return Content(text=text)
        if isinstance(command, SupportUnwatch):
            stopped = await self._channels.unwatch(
                workspace_id=ctx.workspace_id, channel_id=ctx.channel_id
            )
            if not stopped:
                return Content(text="This channel was not watched; nothing changed.")
            return Content(text=f"Stopped watching <#{ctx.channel_id}>. Its figures are kept.")
        if isinstance(command, SupportResponders):
            watch = await self._channels.set_responders(
                workspace_id=ctx.workspace_id, channel_id=ctx.channel_id, users=list(command.users)
            )
            return Content(text=f"Responders for <#{ctx.channel_id}>: {_people(watch.responders)}")
        raise UsageError("I don't know that command. Type /support help.")

    async def _report(self, command: ReportCommand, ctx: CommandContext) -> Content:
        if self._reports is None:
            raise UsageError("Reports are not available here.")
        return await self._reports.run(
            command,
            ReportContext(
                workspace_id=ctx.workspace_id,
                channel_id=ctx.channel_id,
                user=ctx.user,
                is_admin=ctx.is_admin,
            ),
        )

    def _watch_or_hint(self, ctx: CommandContext) -> Watch:
        watch = self._channels.get(ctx.workspace_id, ctx.channel_id)
        if watch is None:
            raise UsageError(
                "This channel is not watched. An admin can start with "
                "/support watch requests target=5m (or /support watch alerts)."
            )
        return watch

    def _show_responders(self, ctx: CommandContext) -> Content:
        watch = self._watch_or_hint(ctx)
        return Content(
            text=f"Responders for <#{ctx.channel_id}>: {_people(watch.responders)} "
            "(change with /support responders @a @b)"
        )

    async def _status(self, ctx: CommandContext) -> Content:
        watch = self._watch_or_hint(ctx)
        now = self._clock.now()
        async with self._db.reading() as session:
            rows = (
                await session.scalars(
                    select(Request)
                    .where(
                        Request.workspace_id == ctx.workspace_id,
                        Request.channel_id == ctx.channel_id,
                        Request.closed_at.is_(None),
                        Request.deleted.is_(False),
                    )
                    .order_by(Request.posted_at)
                    .limit(200)
                )
            ).all()
        noun = "alerts" if watch.kind == "alerts" else "requests"
        if not rows:
            return Content(text=f"No open {noun} in <#{ctx.channel_id}>. 🎉")
        lines = [f"*Open {noun} in <#{ctx.channel_id}>* ({len(rows)})"]
        for row in rows[:STATUS_LIMIT]:
            age = format_duration((now - row.posted_at).total_seconds())
            state = (
                f"answered by <@{row.first_responder}>"
                if row.first_responder
                else ("⚠️ no first response, target passed" if row.deadline_at <= now else "waiting")
            )
            repeats = f" ×{row.occurrences}" if row.occurrences > 1 else ""
            snippet = _snippet(row.text)
            lines.append(
                f"• {age} ago{repeats}: {snippet} ({state}) "
                f"{message_ref(row.channel_id, row.ts, 'open')}"
            )
        if len(rows) > STATUS_LIMIT:
            lines.append(f"…and {len(rows) - STATUS_LIMIT} more.")
        return Content(text="\n".join(lines))

    async def _stats(self, command: SupportStats, ctx: CommandContext) -> Content:
        now = self._clock.now()
        since = command.since or (now - timedelta(days=command.days or 7))
        # The same channel and window for the first-response, category and quality figures.
        scope: dict[str, Any] = {
            "now": now,
            "workspace_id": ctx.workspace_id,
            "channel_id": ctx.channel_id,
            "since": since,
            "until": command.until,
        }
        report = await compute_stats(self._db, **scope)
        window = (
            f"since {since.date().isoformat()}"
            if command.since
            else f"last {command.days or 7} days"
        )
        by_category = category_lines(await figures_by_category(self._db, **scope))
        quality = await quality_figures(self._db, **scope)
        from_history = await history_line(
            self._db,
            workspace_id=ctx.workspace_id,
            channel_id=ctx.channel_id,
            since=since,
            until=command.until,
        )
        return Content(
            text=f"*First response in <#{ctx.channel_id}>, {window}*\n"
            + summary(report.total)
            + "".join(f"\n{line}" for line in quality_lines(quality))
            + (f"\n{by_category}" if report.total.requests and by_category else "")
            + (f"\n{from_history}" if from_history else "")
        )


def describe(watch: Watch) -> str:
    s = watch.settings
    parts = [
        s.kind,
        f"target {format_duration(s.target_seconds)}",
        f"responders {s.responders_mode}" + (f" ({_people(s.responders)})" if s.responders else ""),
        f"hours {watch.hours.describe()}",
        f"escalate {s.escalate}" if s.escalate else "no second line (escalate=@someone)",
        *(["out of hours: page"] if s.offhours == "page" else []),
        f"ack :{':, :'.join(s.ack_emojis)}:, done :{':, :'.join(s.done_emojis)}:",
    ]
    if s.kind == "requests":
        parts.extend(describe_quality(s))
    return " · ".join(parts)


def _people(users: tuple[str, ...]) -> str:
    return " ".join(f"<@{u}>" for u in users) if users else "nobody yet"


def _snippet(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return f"“{flat[:limit]}…”" if len(flat) > limit else f"“{flat}”"
