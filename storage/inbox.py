"""The inbox: one row per processed event, so a retried delivery does nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxEntry


async def seen(session: AsyncSession, key: str) -> bool:
    return (await session.get(InboxEntry, key)) is not None


async def record(session: AsyncSession, *, key: str, at: datetime) -> bool:
    """Record ``key`` in this transaction; False if it was already processed."""
    if await seen(session, key):
        return False
    session.add(InboxEntry(key=key, received_at=at))
    await session.flush()
    return True


async def forget_before(session: AsyncSession, *, before: datetime) -> int:
    """Drop old keys (Slack retries within minutes; a week is plenty)."""
    result = await session.execute(delete(InboxEntry).where(InboxEntry.received_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
