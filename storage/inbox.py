"""The inbox: one row per processed event, so a retried delivery does nothing.

Slack event keys were "slack:<event id>" before they were scoped by workspace
("slack:<team>:<event id>"). An event first processed by the old version and retried to
the new one must still count as seen: while the database holds old-format keys young
enough to be retried (``LEGACY_WINDOW`` after the newest), both forms are checked. The
check for old keys runs once per process; after the window it costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxEntry
from storage.prepared import Prepared


async def seen(session: AsyncSession, key: str) -> bool:
    return (await session.get(InboxEntry, key)) is not None


def _record_statement(insert: Any) -> Any:
    return (
        insert(InboxEntry.__table__)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(InboxEntry.__table__.c.key)
    )


# Prepared once: building and executing a statement through SQLAlchemy cost more than
# running it, on this path.
_RECORD = Prepared(
    {
        "postgresql": _record_statement(postgresql_insert),
        "sqlite": _record_statement(sqlite_insert),
    },
    columns=["key", "received_at"],
)


LEGACY_WINDOW = timedelta(hours=1)  # Slack retries within minutes
_RECHECK = timedelta(minutes=1)  # old replicas may still write old keys (rolling upgrade)
# database URL → (end of the upgrade window, last checked, first checked)
_legacy: dict[str, tuple[datetime | None, datetime, datetime]] = {}


def legacy_key(key: str) -> str | None:
    """The pre-workspace form of a Slack event key ("slack:T1:Ev1" → "slack:Ev1")."""
    platform, _, rest = key.partition(":")
    team, _, event_id = rest.partition(":")
    return f"{platform}:{event_id}" if platform == "slack" and team and event_id else None


async def _seen_in_old_form(session: AsyncSession, key: str, at: datetime) -> bool:
    old = legacy_key(key)
    if old is None:
        return False
    where = str(session.bind.engine.url) if session.bind is not None else ""
    known = _legacy.get(where)
    if known is None or (at - known[1] > _RECHECK and at - known[2] < LEGACY_WINDOW):
        newest = await session.scalar(
            select(func.max(InboxEntry.received_at)).where(
                InboxEntry.key.like("slack:%"), InboxEntry.key.not_like("slack:%:%")
            )
        )
        first = known[2] if known is not None else at
        known = (newest + LEGACY_WINDOW if newest is not None else None, at, first)
        _legacy[where] = known
    until = known[0]
    if until is None or at > until:
        return False
    return await seen(session, old)


async def record(session: AsyncSession, *, key: str, at: datetime) -> bool:
    """Record ``key`` in this transaction; False if it was already processed.

    One statement (INSERT … ON CONFLICT DO NOTHING RETURNING): this is on every event's path.
    """
    if await _seen_in_old_form(session, key, at):
        return False
    # On the transaction's driver connection (storage/prepared.py): this row has no ORM
    # object, and SQLAlchemy's per-statement machinery cost more than the INSERT itself.
    return bool(await _RECORD.rows(session, {"key": key, "received_at": at}))


def _record_many_statement(insert: Any, count: int) -> Any:
    rows: list[dict[str, Any]] = [
        {"key": bindparam(f"k{i}"), "received_at": bindparam("at")} for i in range(count)
    ]
    return (
        insert(InboxEntry.__table__)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(InboxEntry.__table__.c.key)
    )


_RECORD_MANY: dict[int, Prepared] = {}  # one form per number of keys (a group holds ≤ 32)


async def record_many(session: AsyncSession, *, keys: Sequence[str], at: datetime) -> set[str]:
    """Record several keys in this transaction with one statement; the keys recorded now
    (the others were already processed). A key given twice is recorded once."""
    fresh = [key for key in dict.fromkeys(keys) if not await _seen_in_old_form(session, key, at)]
    if not fresh:
        return set()
    prepared = _RECORD_MANY.get(len(fresh))
    if prepared is None:
        prepared = _RECORD_MANY[len(fresh)] = Prepared(
            {
                "postgresql": _record_many_statement(postgresql_insert, len(fresh)),
                "sqlite": _record_many_statement(sqlite_insert, len(fresh)),
            }
        )
    params: dict[str, Any] = {f"k{i}": key for i, key in enumerate(fresh)}
    params["at"] = at
    return {row.key for row in await prepared.rows(session, params)}


async def forget_before(session: AsyncSession, *, before: datetime) -> int:
    """Drop old keys (Slack retries within minutes; a week is plenty)."""
    result = await session.execute(delete(InboxEntry).where(InboxEntry.received_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget(session: AsyncSession, key: str) -> None:
    """Let a retry of ``key`` run again (its first run failed after it was recorded)."""
    await session.execute(delete(InboxEntry).where(InboxEntry.key == key))
