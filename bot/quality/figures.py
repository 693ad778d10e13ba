"""Request-quality figures for /support stats and the CLI: posts set aside, next response,
resolution. Windows match bot/stats.py: [since, until) on the request's (or post's) time.

    figures = await quality_figures(db, now=now, workspace_id="T1", channel_id="C1")
"""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.durations import format_duration
from bot.stats import percentile
from storage.engine import Database
from storage.models import NextResponse, Request, SetAsidePost

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])

REASONS = {
    "thanks": "thanks",
    "acknowledgement": "acknowledgements",
    "greeting": "greetings",
    "solved": '"solved"/"ignore me"',
    "emoji": "only emoji",
    "custom": "the channel's own phrases",
    "burst": "bursts (joined the requester's request)",
    # Only in the real-data comparison: a follow-up of the author's other unanswered request.
    "follow_up": "follow-ups of another unanswered request",
}


@dataclass(frozen=True)
class ClockBreach:
    """A request whose next response or resolution missed its target: measured over it
    (``seconds``), or still open past it (``seconds`` None)."""

    ts: str
    requester: str
    seconds: float | None
    target_seconds: int | None  # None: an open next response (its target is the channel's)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "requester": self.requester,
            "seconds": self.seconds,
            "target_seconds": self.target_seconds,
        }


@dataclass
class Clock:
    """One kind of clock: measured times against their targets, and clocks past due."""

    within: int = 0
    breached: int = 0
    running: int = 0  # still inside their target
    times: list[float] = field(default_factory=list)
    # The breaches: measured ones, then open ones, each in the order of their requests.
    missed: list[ClockBreach] = field(default_factory=list)

    def measured(self, seconds: float, target: int, *, request: Any) -> None:
        self.times.append(seconds)
        if seconds <= target:
            self.within += 1
        else:
            self.breached += 1
            self.missed.append(ClockBreach(request.ts, request.requester, seconds, target))

    def overdue(self, request: Any, *, target: int | None) -> None:
        self.breached += 1
        self.missed.append(ClockBreach(request.ts, request.requester, None, target))

    def to_dict(self) -> dict[str, Any]:
        return {
            "measured": len(self.times),
            "within_target": self.within,
            "breached": self.breached,
            "running": self.running,
            "p50": _round(percentile(self.times, 50)),
            "p90": _round(percentile(self.times, 90)),
        }


@dataclass
class QualityFigures:
    set_aside: Counter[str] = field(default_factory=Counter)
    next_response: Clock = field(default_factory=Clock)
    resolution: Clock = field(default_factory=Clock)

    def to_dict(self) -> dict[str, Any]:
        return {
            "set_aside": dict(sorted(self.set_aside.items())),
            "next_response_seconds": self.next_response.to_dict(),
            "resolution_seconds": self.resolution.to_dict(),
        }


async def quality_figures(
    db: Database,
    *,
    now: datetime,
    workspace_id: str | None = None,
    channel_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    session: AsyncSession | None = None,
) -> QualityFigures:
    figures = QualityFigures()
    async with AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(db.reading())
        aside = select(SetAsidePost.reason, func.count()).group_by(SetAsidePost.reason)
        aside = _scope(aside, SetAsidePost, workspace_id, channel_id, since, until)
        for reason, count in await session.execute(aside):
            figures.set_aside[reason] = count
        answered = select(
            NextResponse.seconds, NextResponse.target_seconds, Request.ts, Request.requester
        ).join(Request, Request.id == NextResponse.request_id)
        answered = _scope(
            answered.where(Request.deleted.is_(False)),
            Request,
            workspace_id,
            channel_id,
            since,
            until,
        )
        answered = answered.order_by(Request.posted_at, Request.id, NextResponse.asked_at)
        for answer in await session.execute(answered):
            figures.next_response.measured(answer.seconds, answer.target_seconds, request=answer)
        rows = select(
            Request.ts,
            Request.requester,
            Request.next_due_at,
            Request.resolve_target_seconds,
            Request.resolve_due_at,
            Request.close_seconds,
            Request.closed_at,
            Request.waited_seconds,
            Request.waiting_since,
        ).where(
            Request.deleted.is_(False),
            (Request.next_due_at.is_not(None)) | (Request.resolve_target_seconds.is_not(None)),
        )
        rows = _scope(rows, Request, workspace_id, channel_id, since, until)
        for row in await session.execute(rows.order_by(Request.posted_at, Request.id)):
            if row.next_due_at is not None:
                if row.next_due_at <= now:
                    figures.next_response.overdue(row, target=None)
                else:
                    figures.next_response.running += 1
            if row.resolve_target_seconds is not None:
                _resolution(figures.resolution, row, now)
    return figures


def _resolution(clock: Clock, row: Any, now: datetime) -> None:
    if row.closed_at is not None and row.close_seconds is not None:
        seconds = max(0.0, row.close_seconds - (row.waited_seconds or 0.0))
        clock.measured(seconds, row.resolve_target_seconds, request=row)
        return
    # Open: the clock stopped when waiting on the requester began.
    stopped_at = row.waiting_since if row.waiting_since is not None else now
    if row.resolve_due_at is not None and row.resolve_due_at <= stopped_at:
        clock.overdue(row, target=row.resolve_target_seconds)
    else:
        clock.running += 1


def _scope(
    query: Q,
    table: type[Request] | type[SetAsidePost],
    workspace_id: str | None,
    channel_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Q:
    if workspace_id:
        query = query.where(table.workspace_id == workspace_id)
    if channel_id:
        query = query.where(table.channel_id == channel_id)
    if since:
        query = query.where(table.posted_at >= since)
    if until:
        query = query.where(table.posted_at < until)
    return query


def quality_lines(figures: QualityFigures) -> list[str]:
    """What /support stats adds below the first-response figures."""
    lines = []
    total = sum(figures.set_aside.values())
    if total:
        order = list(REASONS)
        ranked = sorted(
            figures.set_aside.items(),
            key=lambda item: (-item[1], order.index(item[0]) if item[0] in order else len(order)),
        )
        why = " · ".join(f"{REASONS.get(reason, reason)} {count}" for reason, count in ranked)
        posts = "post" if total == 1 else "posts"
        lines.append(f"Not counted as requests: {total} {posts} ({why})")
    for name, clock in (
        ("Next response", figures.next_response),
        ("Resolution", figures.resolution),
    ):
        data = clock.to_dict()
        if not (data["measured"] or data["breached"] or data["running"]):
            continue
        p50 = "–" if data["p50"] is None else format_duration(data["p50"])
        p90 = "–" if data["p90"] is None else format_duration(data["p90"])
        decided = data["within_target"] + data["breached"]
        share = f" ({data['within_target'] / decided:.0%})" if decided else ""
        lines.append(
            f"{name}: {data['measured']} measured · within target {data['within_target']}"
            f"{share} · breached {data['breached']} · running {data['running']} · "
            f"p50 {p50} · p90 {p90}"
        )
    return lines


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
