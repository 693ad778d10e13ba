"""The inbox: one row per processed event, so a retried delivery does nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import connection_of
from storage.models import InboxEntry


async def seen(session: AsyncSession, key: str) -> bool:
    return (await session.get(InboxEntry, key)) is not None


def _record_statement(insert: Any) -> Any:
    return (
        insert(InboxEntry.__table__)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(InboxEntry.__table__.c.key)
    )


# Built once: building a statement costs more than running it on this path.
_RECORD = {
    "postgresql": _record_statement(postgresql_insert),
    "sqlite": _record_statement(sqlite_insert),
}


async def record(session: AsyncSession, *, key: str, at: datetime) -> bool:
    """Record ``key`` in this transaction; False if it was already processed.

    One statement (INSERT … ON CONFLICT DO NOTHING RETURNING): this is on every event's path.
    """
    # On the session's connection, not through Session.execute: the ORM's per-statement
    # machinery cost more than the INSERT itself, and this row has no ORM object.
    conn = await connection_of(session)
    statement = _RECORD["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    result = await conn.execute(statement, {"key": key, "received_at": at})
    return result.first() is not None


async def forget_before(session: AsyncSession, *, before: datetime) -> int:
    """Drop old keys (Slack retries within minutes; a week is plenty)."""
    result = await session.execute(delete(InboxEntry).where(InboxEntry.received_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget(session: AsyncSession, key: str) -> None:
    """Let a retry of ``key`` run again (its first run failed after it was recorded)."""
    await session.execute(delete(InboxEntry).where(InboxEntry.key == key))
