"""The outbox: messages written with the state change that caused them, delivered later.

Rows for one destination are delivered strictly in id order: only the oldest unsent
row of each destination (its head) is ever claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage

WRITTEN = "firstline.outbox_written"  # session.info flag: this transaction queued messages


def enqueue(
    session: AsyncSession,
    *,
    workspace_id: str,
    destination: str,
    op: str,
    payload: dict[str, Any],
    at: datetime,
    thread_ts: str | None = None,
    key: str | None = None,
    ref_key: str | None = None,
    platform: str = "slack",
) -> OutboxMessage:
    row = OutboxMessage(
        workspace_id=workspace_id,
        platform=platform,
        destination=destination,
        op=op,
        payload=payload,
        thread_ts=thread_ts,
        key=key,
        ref_key=ref_key,
        created_at=at,
        attempts=0,
        next_attempt_at=at,
        failed=False,
    )
    session.add(row)
    session.info[WRITTEN] = True
    return row


def _pending() -> Any:
    return (OutboxMessage.sent_at.is_(None)) & (OutboxMessage.failed.is_(False))


async def claim_heads(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    reclaimed: set[int] | None = None,
) -> Sequence[OutboxMessage]:
    """The oldest pending row of each destination that is ready, leased to this process.

    A row whose earlier lease ran out without a recorded result (its sender died or hung
    mid-send) is added to ``reclaimed``: it may already have reached the platform.
    """
    heads = select(func.min(OutboxMessage.id)).where(_pending()).group_by(OutboxMessage.destination)
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.id.in_(heads),
            OutboxMessage.next_attempt_at <= now,
            (OutboxMessage.lease_until.is_(None)) | (OutboxMessage.lease_until < now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.scalars(query)).all()
    for row in rows:
        if reclaimed is not None and row.lease_until is not None:
            reclaimed.add(row.id)
        row.lease_until = now + lease
    return rows


async def referenced(session: AsyncSession, key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


async def next_attempt(session: AsyncSession) -> datetime | None:
    """When the earliest destination head becomes ready (after its retry time and lease)."""
    heads = select(func.min(OutboxMessage.id)).where(_pending()).group_by(OutboxMessage.destination)
    ready_at = case(
        (
            OutboxMessage.lease_until > OutboxMessage.next_attempt_at,
            OutboxMessage.lease_until,
        ),
        else_=OutboxMessage.next_attempt_at,
    )
    return await session.scalar(select(func.min(ready_at)).where(OutboxMessage.id.in_(heads)))


async def backlog(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(OutboxMessage).where(_pending()))
    return int(count or 0)
