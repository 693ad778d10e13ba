"""First-response figures, computed the same way for the CLI, Slack and reports.

    report = await compute_stats(db, now=clock.now(), channel_id="C053AK3F9")

Rules (docs/measurement.md): deleted requests count nowhere; a request is
within target when its first response took at most the target (business time); it is
breached when its first response was later, or when it has none and its deadline
passed before now (or before it was closed); percentiles interpolate linearly between
closest ranks, as numpy does by default.
"""

from __future__ import annotations

import math
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.durations import format_duration
from bot.errors import UsageError
from storage.engine import Database
from storage.models import Request, WatchedChannel


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy.percentile's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Figures:
    requests: int = 0
    responded: int = 0
    within_target: int = 0
    breached: int = 0
    not_closed: int = 0
    closed: int = 0
    times: list[float] = field(default_factory=list)
    close_times: list[float] = field(default_factory=list)

    def add(self, row: Any, now: datetime) -> None:
        self.requests += 1
        if row.first_response_seconds is not None:
            self.responded += 1
            self.times.append(row.first_response_seconds)
            if row.first_response_seconds <= row.target_seconds:
                self.within_target += 1
            else:
                self.breached += 1
        else:
            horizon = row.closed_at if row.closed_at is not None else now
            if row.deadline_at <= horizon:
                self.breached += 1
        if row.closed_at is not None:
            self.closed += 1
            if row.close_seconds is not None:
                self.close_times.append(row.close_seconds)
        else:
            self.not_closed += 1

    @property
    def unanswered(self) -> int:
        """Requests with no first response yet ("open" in the sense a support lead means)."""
        return self.requests - self.responded

    def to_dict(self) -> dict[str, Any]:
        decided = self.within_target + self.breached
        return {
            "requests": self.requests,
            "responded": self.responded,
            "within_target": self.within_target,
            "breached": self.breached,
            "unanswered": self.unanswered,
            "closed": self.closed,
            "not_closed": self.not_closed,
            "first_response_seconds": {
                "p50": _round(percentile(self.times, 50)),
                "p90": _round(percentile(self.times, 90)),
                "max": _round(max(self.times) if self.times else None),
            },
            "time_to_close_seconds": {
                "p50": _round(percentile(self.close_times, 50)),
                "p90": _round(percentile(self.close_times, 90)),
            },
            "within_target_ratio": round(self.within_target / decided, 4) if decided else None,
        }


@dataclass
class StatsReport:
    since: datetime | None
    until: datetime | None
    total: Figures
    channels: dict[tuple[str, str, str], Figures]

    def to_dict(self) -> dict[str, Any]:
        result = self.total.to_dict()
        result["since"] = self.since.isoformat() if self.since else None
        result["until"] = self.until.isoformat() if self.until else None
        result["channels"] = [
            {"workspace": ws, "channel": ch, "kind": kind, **figures.to_dict()}
            for (ws, ch, kind), figures in sorted(self.channels.items())
        ]
        return result


async def compute_stats(
    db: Database,
    *,
    now: datetime,
    workspace_id: str | None = None,
    channel_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    session: AsyncSession | None = None,
) -> StatsReport:
    """Figures for requests posted in [since, until); reads in ``session`` when one is given."""
    query = select(
        Request.workspace_id,
        Request.channel_id,
        Request.kind,
        Request.target_seconds,
        Request.deadline_at,
        Request.first_response_seconds,
        Request.closed_at,
        Request.close_seconds,
    ).where(Request.deleted.is_(False))
    if workspace_id:
        query = query.where(Request.workspace_id == workspace_id)
    if channel_id:
        query = query.where(Request.channel_id == channel_id)
    if since:
        query = query.where(Request.posted_at >= since)
    if until:
        query = query.where(Request.posted_at < until)
    total = Figures()
    channels: dict[tuple[str, str, str], Figures] = {}
    async with AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(db.reading())
        for row in await session.execute(query):
            total.add(row, now)
            channels.setdefault((row.workspace_id, row.channel_id, row.kind), Figures()).add(
                row, now
            )
    return StatsReport(since=since, until=until, total=total, channels=channels)


def window_bound(text: str, *, tz: str, end: bool, name: str = "") -> datetime:
    """A ``--since``/``--until`` value as the instant it means: a date is a whole day in the
    channel's zone ``tz`` (``--until``'s day included, so the bound is the next midnight);
    a time without an offset is read in ``tz`` too; one with an offset is taken as given."""
    name = name or ("--until" if end else "--since")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"{name} {text!r} is not a date. Write it as 2026-11-01 (a whole day in the "
                "channel's time zone) or 2026-11-01T09:30+01:00."
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))
    return datetime.combine(day + timedelta(days=1 if end else 0), time(0), ZoneInfo(tz))


async def window_zone(db: Database, *, workspace_id: str | None, channel_id: str | None) -> str:
    """The zone dates are read in: the channel's, or the one zone all watched channels
    share; UTC when they differ (say ``--channel`` to use one's)."""
    query = select(WatchedChannel.tz).where(WatchedChannel.active.is_(True)).distinct()
    if workspace_id:
        query = query.where(WatchedChannel.workspace_id == workspace_id)
    if channel_id:
        query = query.where(WatchedChannel.channel_id == channel_id)
    async with db.reading() as session:
        zones = (await session.scalars(query)).all()
    return zones[0] if len(zones) == 1 else "UTC"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summary(figures: Figures) -> str:
    data = figures.to_dict()
    if not data["requests"]:
        return "No requests in this period."
    fr = data["first_response_seconds"]
    ratio = data["within_target_ratio"]

    def dur(value: float | None) -> str:
        return "–" if value is None else format_duration(value)

    share = "–" if ratio is None else f"{ratio:.0%}"
    return (
        f"Requests: {data['requests']} · answered: {data['responded']} · unanswered: "
        f"{data['unanswered']} · within target: "
        f"{data['within_target']} ({share}) · breached: {data['breached']}\n"
        f"First response p50 {dur(fr['p50'])} · p90 {dur(fr['p90'])} · max {dur(fr['max'])}"
    )
