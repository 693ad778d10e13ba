"""The outbox: messages written with the state change that caused them, delivered later.

Order is kept per conversation, not per channel: each row gets an ``order_key`` (one
thread, one message and its edits, one DM conversation, a channel's top-level posts) and
only the oldest unsent row of each conversation (its head) is ever claimed, so a send
stuck in one thread holds up that thread alone. Rows that stand alone (ephemerals,
tickets) have no order key. An edit or pin also waits until the message it refers to is
sent. A claim takes at most one row per destination, so a channel with many ready
threads cannot crowd the others out of a round.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

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
        order_key=conversation(
            op=op, destination=destination, thread_ts=thread_ts, ref_key=ref_key
        ),
        created_at=at,
        attempts=0,
        next_attempt_at=at,
        failed=False,
    )
    session.add(row)
    session.info[WRITTEN] = True
    return row


def identity(row_id: int, created_at: datetime) -> str:
    """What a side effect carries to be recognised as this row's after an uncertain outcome
    (the Slack marker, the Jira label, the webhook's Idempotency-Key): the row's id and its
    creation time. Ids alone start again at 1 in an empty database (a reinstall, a move
    from SQLite to PostgreSQL) while Slack, Jira and webhook receivers still hold the
    earlier install's records, and a lookup would take one of those for this row. No
    spaces and under 40 characters, so it is a valid Jira label too."""
    return f"{row_id}:{created_at:%Y%m%dT%H%M%S.%f}"


def conversation(
    *, op: str, destination: str, thread_ts: str | None, ref_key: str | None
) -> str | None:
    """The conversation a row keeps its order in (None: it stands alone)."""
    if destination.startswith("@"):
        return destination  # a channel still being created: everything after its creation
    if ref_key:
        return f"msg:{ref_key}"  # edits and pins of one message, in order
    if op == "dm":
        return f"dm:{destination}"
    if op == "home":
        return f"home:{destination}"
    if op in ("ephemeral", "ticket"):
        return None
    if op == "post" and thread_ts:
        return f"{destination}:{thread_ts}"
    return destination  # a channel's own top-level posts, topic, members, files


def _pending() -> Any:
    return (OutboxMessage.sent_at.is_(None)) & (OutboxMessage.failed.is_(False))


def _heads() -> Any:
    """Rows that may go next: the head of their conversation, their message already sent."""
    ordered = (
        select(func.min(OutboxMessage.id))
        .where(_pending(), OutboxMessage.order_key.is_not(None))
        .group_by(OutboxMessage.order_key)
    )
    ref = aliased(OutboxMessage)
    waits_for_ref = exists().where(
        ref.key == OutboxMessage.ref_key, ref.sent_at.is_(None), ref.failed.is_(False)
    )
    return (
        _pending()
        & (OutboxMessage.order_key.is_(None) | OutboxMessage.id.in_(ordered))
        & ~waits_for_ref
    )


async def claim_heads(
    session: AsyncSession,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    reclaimed: set[int] | None = None,
    held: Collection[str] = (),
) -> Sequence[OutboxMessage]:
    """Ready conversation heads, at most one per destination (none for ``held`` ones),
    leased to this process.

    A row whose earlier lease ran out without a recorded result (its sender died or hung
    mid-send) is added to ``reclaimed``: it may already have reached the platform.
    """
    ready = (
        _heads()
        & (OutboxMessage.next_attempt_at <= now)
        & ((OutboxMessage.lease_until.is_(None)) | (OutboxMessage.lease_until < now))
    )
    if held:
        ready = ready & OutboxMessage.destination.not_in(list(held))
    first = select(func.min(OutboxMessage.id)).where(ready).group_by(OutboxMessage.destination)
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(first))
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


async def renew(session: AsyncSession, *, ids: Collection[int], until: datetime) -> None:
    """Extend the lease of rows still being sent (the sender is alive)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.sent_at.is_(None))
        .values(lease_until=until)
    )


async def hold(
    session: AsyncSession, *, workspace_id: str, destination: str, until: datetime
) -> None:
    """Nothing more to ``destination`` before ``until`` (the platform said Retry-After),
    whichever replica would send it."""
    await session.execute(
        update(OutboxMessage)
        .where(
            _pending(),
            OutboxMessage.workspace_id == workspace_id,
            OutboxMessage.destination == destination,
            OutboxMessage.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
    )


async def created_channels(session: AsyncSession, *, workspace_id: str) -> frozenset[str]:
    """Channels that rows of this workspace are recorded as having created."""
    rows = await session.scalars(
        select(OutboxMessage.platform_channel).where(
            OutboxMessage.workspace_id == workspace_id,
            OutboxMessage.op == "create_channel",
            OutboxMessage.sent_at.is_not(None),
        )
    )
    return frozenset(c for c in rows if c)


async def referenced(session: AsyncSession, key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


async def next_attempt(session: AsyncSession, *, held: Collection[str] = ()) -> datetime | None:
    """When the earliest conversation head becomes ready (after its retry time and lease),
    leaving out destinations this process holds back for now."""
    ready_at = case(
        (
            OutboxMessage.lease_until > OutboxMessage.next_attempt_at,
            OutboxMessage.lease_until,
        ),
        else_=OutboxMessage.next_attempt_at,
    )
    heads = _heads()
    if held:
        heads = heads & OutboxMessage.destination.not_in(list(held))
    return await session.scalar(select(func.min(ready_at)).where(heads))


async def backlog(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(OutboxMessage).where(_pending()))
    return int(count or 0)
