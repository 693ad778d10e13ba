"""The outbox deliverer: sends what the core wrote, once, in order per destination.

A rate limit (429) holds that destination until ``Retry-After`` has passed; a server
error backs off exponentially; a permanent error (channel gone, bad token) marks the
row failed so it never blocks the messages behind it. The platform's message id is
recorded so later edits find the message they edit.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.content import ChatPort, Content, Delivered, DeliveryError
from bot.metrics import Metrics
from storage import outbox
from storage.engine import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_BACKOFF = 300.0
MAX_ATTEMPTS = 50


class Deliverer:
    def __init__(
        self, *, db: Database, clock: Clock, chats: dict[str, ChatPort], metrics: Metrics
    ) -> None:
        self._db = db
        self._clock = clock
        self._chats = chats
        self._metrics = metrics

    async def deliver_once(self, *, limit: int = 50) -> int:
        """Send the ready head of every destination; returns how many rows were attempted."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            rows = await outbox.claim_heads(session, now=now, lease=LEASE, limit=limit)
            jobs = [(row.id, await self._resolve(session, row)) for row in rows]
            snapshot = {row.id: _Snapshot.of(row) for row in rows}
        if not jobs:
            await self._update_backlog()
            return 0
        results = await asyncio.gather(
            *(self._send(snapshot[row_id], ref) for row_id, ref in jobs), return_exceptions=True
        )
        finished = self._clock.now()
        async with self._db.transaction() as session:
            for (row_id, _), result in zip(jobs, results, strict=True):
                row = await session.get(OutboxMessage, row_id)
                if row is None:
                    continue
                row.lease_until = None
                self._record(row, result, finished)
        await self._update_backlog()
        return len(jobs)

    async def next_attempt(self) -> datetime | None:
        async with self._db.reading() as session:
            return await outbox.next_attempt(session)

    async def _resolve(self, session: AsyncSession, row: OutboxMessage) -> Delivered | str | None:
        """For an edit: where the edited message lives, or why it can't be edited."""
        if row.op != "update" or not row.ref_key:
            return None
        ref = await outbox.referenced(session, row.ref_key)
        if ref is None or ref.failed:
            return "the message to edit was never delivered"
        if ref.platform_ts is None or ref.platform_channel is None:
            return "wait"
        return Delivered(ref.platform_channel, ref.platform_ts)

    async def _send(self, row: _Snapshot, ref: Delivered | str | None) -> Delivered:
        chat = self._chats.get(row.platform)
        if chat is None:
            raise DeliveryError(f"no chat platform {row.platform!r} configured", permanent=True)
        content = Content.from_payload(row.payload)
        if row.op == "post":
            return await chat.post(
                workspace_id=row.workspace_id,
                channel=row.destination,
                content=content,
                thread_ts=row.thread_ts,
            )
        if row.op == "dm":
            return await chat.dm(
                workspace_id=row.workspace_id, user=row.destination, content=content
            )
        if row.op == "ephemeral":
            return await chat.ephemeral(
                workspace_id=row.workspace_id,
                channel=row.destination,
                user=str(row.payload.get("user") or ""),
                content=content,
            )
        if row.op == "update":
            if ref == "wait":
                raise DeliveryError("waiting for the message to edit", retry_after=5)
            if not isinstance(ref, Delivered):
                raise DeliveryError(str(ref), permanent=True)
            return await chat.update(
                workspace_id=row.workspace_id, channel=ref.channel, ts=ref.ts, content=content
            )
        raise DeliveryError(f"unknown outbox operation {row.op!r}", permanent=True)

    def _record(self, row: OutboxMessage, result: object, now: datetime) -> None:
        if isinstance(result, Delivered):
            row.sent_at = now
            row.platform_channel = result.channel
            row.platform_ts = result.ts
            row.last_error = None
            self._metrics.deliveries.labels(result="sent").inc()
            return
        row.attempts += 1
        error = result if isinstance(result, DeliveryError) else None
        row.last_error = str(result)[:2000]
        if (error is not None and error.permanent) or row.attempts >= MAX_ATTEMPTS:
            row.failed = True
            log.error("outbox row %s failed for good: %s", row.id, row.last_error)
            self._metrics.deliveries.labels(result="failed").inc()
            return
        if error is not None and error.retry_after is not None:
            delay = max(error.retry_after, 0.0)
            self._metrics.deliveries.labels(result="rate_limited").inc()
        else:
            delay = min(MAX_BACKOFF, 2.0 ** min(row.attempts, 10))
            self._metrics.deliveries.labels(result="retry").inc()
            if error is None:
                log.warning("outbox row %s: unexpected error %r", row.id, result)
        row.next_attempt_at = now + timedelta(seconds=delay)

    async def _update_backlog(self) -> None:
        async with self._db.reading() as session:
            self._metrics.outbox_backlog.set(await outbox.backlog(session))


class _Snapshot:
    """The fields of a claimed row, read before its session closes."""

    __slots__ = ("destination", "op", "payload", "platform", "thread_ts", "workspace_id")

    def __init__(self, row: OutboxMessage) -> None:
        self.workspace_id = row.workspace_id
        self.platform = row.platform
        self.destination = row.destination
        self.op = row.op
        self.payload = row.payload
        self.thread_ts = row.thread_ts

    @classmethod
    def of(cls, row: OutboxMessage) -> _Snapshot:
        return cls(row)
