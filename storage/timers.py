"""Timers in the database: scheduled with their subject, claimed atomically when due."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.deferred import DeferredRows
from storage.models import Timer

WRITTEN = "firstline.timers_written"  # session.info: the earliest due_at this transaction wrote


async def schedule(
    session: AsyncSession, *, workspace_id: str, subject: str, step: str, due_at: datetime
) -> Timer:
    timer = Timer(workspace_id=workspace_id, subject=subject, step=step, due_at=due_at)
    session.add(timer)
    _written(session, due_at)
    return timer


_TIMERS = cast(Table, Timer.__table__)
# New ladder steps wait in the session and are written together (storage/deferred.py).
_NEW_STEPS = DeferredRows(_TIMERS, columns=[c.key for c in _TIMERS.columns if c.key != "id"])


async def schedule_steps(
    session: AsyncSession,
    *,
    workspace_id: str,
    subject: str,
    steps: Iterable[tuple[str, datetime]],
) -> int:
    """Schedule several steps of one subject; returns how many.

    The desk does this for every new request, so the rows skip the ORM and wait in the
    session: ``write_pending`` writes a whole transaction's rows in one statement (the desk
    calls it before committing a group of posts). ``cancel`` writes them first, and any
    flush or commit writes those left, so no step is lost or outlives its cancellation.
    """
    steps = list(steps)
    if not steps:
        return 0
    for row in (
        {
            "workspace_id": workspace_id,
            "subject": subject,
            "step": step,
            "due_at": due_at,
            "fired_at": None,
            "outcome": None,
            "late_seconds": None,
        }
        for step, due_at in steps
    ):
        _NEW_STEPS.add(session, row)
    _written(session, min(due_at for _, due_at in steps))
    return len(steps)


async def write_pending(session: AsyncSession) -> None:
    """Write the rows ``schedule_steps`` kept in the session, in one statement."""
    await _NEW_STEPS.write(session)


def _written(session: AsyncSession, due_at: datetime) -> None:
    earliest = session.info.get(WRITTEN)
    session.info[WRITTEN] = due_at if earliest is None or due_at < earliest else earliest


async def cancel(session: AsyncSession, *, subject: str, at: datetime, outcome: str) -> None:
    """Retire every pending timer of ``subject`` (the request was answered, closed or deleted)."""
    await write_pending(session)  # steps scheduled earlier in this transaction count too
    await session.execute(
        update(Timer)
        .where(Timer.subject == subject, Timer.fired_at.is_(None))
        .values(fired_at=at, outcome=outcome)
    )


def claim_statement(*, limit: int) -> Select[Any]:
    """The sweep's claim: pending timers due by ``:now``, oldest first. It reads the partial
    index ix_timers_pending (due_at, id over pending timers) in order and stops at the
    LIMIT, so it costs the same with 100,000 timers pending or a backlog of 50,000 due
    (plans in docs/benchmarks.md, from tests/bench/explain_timers.py)."""
    return (
        select(Timer)
        .where(Timer.fired_at.is_(None), Timer.due_at <= bindparam("now"))
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[Timer]:
    """Due timers, locked for this transaction (other replicas skip them)."""
    claimed: Sequence[Timer] = (
        await session.scalars(claim_statement(limit=limit), {"now": now})
    ).all()
    return claimed


async def next_due(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(Timer.due_at)).where(Timer.fired_at.is_(None)))


async def pending_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Timer).where(Timer.fired_at.is_(None))
        )
        or 0
    )
