"""The outbox deliverer: sends what the core wrote, once, in order per conversation.

Sends run side by side, each recorded in its own transaction as it ends, so one slow or
stuck send holds up only its own conversation (``storage.outbox``). Posts and DMs go to a
destination at most once per ``pace`` from this process (Slack: about one message a
second per channel). A rate limit (429) holds that whole destination, for every replica,
until ``Retry-After`` has passed; a server
error backs off exponentially; a permanent error (channel gone, bad token) marks the
row failed so it never blocks the messages behind it. The platform's message id is
recorded so later edits find the message they edit.

A claimed row is leased, and the lease is renewed every third of its length while the
send is in flight; if its sender dies mid-send (SIGKILL, lost database) the lease runs out
within seconds and another replica takes the row over. Posts and DMs carry a marker (Slack:
message metadata), and a taken-over row is first looked up by that marker, so a message
that did arrive is recorded rather than sent twice.

Each operation is carried out in one place, ``Deliverer._send`` (one branch per op).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.content import (
    ChatPort,
    Content,
    Delivered,
    DeliveryError,
    FindsChannels,
    FindsMarked,
    FindsUploads,
    channel_names,
)
from bot.metrics import Metrics
from bot.paging import PagingPort
from bot.tickets.port import CreatedTicket, TicketPort
from storage import outbox
from storage.engine import Database
from storage.models import OutboxMessage, Workspace

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)
DeliveryHook = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]
MAX_BACKOFF = 300.0
MAX_ATTEMPTS = 50
UNCERTAIN = "uncertain: "  # last_error prefix: the last attempt may have been carried out


PACED_OPS = frozenset({"post", "dm"})  # chat.postMessage: about one a second per channel
WAITING = "waiting for the message or channel it refers to"
# Seconds a lookup reaches back before the row was written: Slack's clock and ours differ.
CLOCK_SKEW = 1.0


class Deliverer:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        chats: dict[str, ChatPort],
        metrics: Metrics,
        tickets: TicketPort | None = None,
        pager: PagingPort | None = None,
        lease: timedelta = LEASE,
        pace: timedelta = timedelta(0),
    ) -> None:
        self.hooks: dict[str, DeliveryHook] = {}
        self.lease = lease
        self.pace = pace
        self.failure_hooks: dict[str, DeliveryHook] = {}
        self.on_finished: Callable[[], None] | None = None  # a send ended: look again
        self._platforms: dict[str, str] = {}  # workspace id → "slack" | "teams"
        self._db = db
        self._clock = clock
        self._chats = chats
        self._metrics = metrics
        self._tickets = tickets
        self._pager = pager
        # Destinations this process sends nothing more to before the time given: its own
        # pace (Slack allows about one message a second per channel) and Retry-After.
        self._held: dict[str, datetime] = {}
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None

    async def deliver_once(self, *, limit: int = 50) -> int:
        """Send one ready row of every destination and wait for the sends; returns how
        many rows were attempted (tests, shutdown drain)."""
        sends = await self.dispatch(limit=limit)
        if sends:
            await asyncio.wait(sends)
        return len(sends)

    async def dispatch(self, *, limit: int = 50) -> list[asyncio.Task[None]]:
        """Claim ready rows (one per destination not held back) and start sending them,
        without waiting: a slow or stuck send holds up nothing but its own conversation."""
        now = self._clock.now()
        reclaimed: set[int] = set()
        async with self._db.transaction() as session:
            rows = await outbox.claim_heads(
                session,
                now=now,
                lease=self.lease,
                limit=limit,
                reclaimed=reclaimed,
                held=self._held_now(now),
            )
            jobs: list[tuple[_Snapshot, _Target | str]] = []
            for row in rows:
                snapshot = _Snapshot.of(
                    row, row.id in reclaimed or (row.last_error or "").startswith(UNCERTAIN)
                )
                snapshot.platform = await self._platform(session, row)
                if row.op == "create_channel" and snapshot.maybe_sent:
                    snapshot.others = await outbox.created_channels(
                        session, workspace_id=row.workspace_id
                    )
                jobs.append((snapshot, await self._resolve(session, row)))
        if not jobs:
            await self._update_backlog()
            return []
        sends = []
        for snapshot, target in jobs:
            if snapshot.op in PACED_OPS and self.pace:
                self._held[snapshot.destination] = now + self.pace
            send = asyncio.create_task(self._deliver(snapshot, target))
            self._in_flight[snapshot.id] = send
            send.add_done_callback(functools.partial(self._finished, snapshot.id))
            sends.append(send)
        self._idle.clear()
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_leases())
        return sends

    async def _deliver(self, row: _Snapshot, target: _Target | str) -> None:
        """Send one row and record the outcome in a transaction of its own."""
        try:
            result: object = await self._send(row, target)
        except Exception as error:
            result = error
        finished = self._clock.now()
        if row.op in PACED_OPS and self.pace:
            # Counted from the answer too: two posts never reach Slack closer than the pace.
            until = finished + self.pace
            self._held[row.destination] = max(self._held.get(row.destination, until), until)
        try:
            async with self._db.transaction() as session:
                claimed = await session.get(OutboxMessage, row.id)
                if claimed is None:
                    return
                claimed.lease_until = None
                self._record(claimed, result, finished, maybe_sent=row.maybe_sent)
                limited = _rate_limit(result)
                if limited is not None:
                    until = finished + timedelta(seconds=limited)
                    self._held[row.destination] = max(self._held.get(row.destination, until), until)
                    await outbox.hold(
                        session,
                        workspace_id=row.workspace_id,
                        destination=row.destination,
                        until=until,
                    )
                await self._run_hook(session, claimed)
        except Exception:
            # The lease runs out and the row is tried again, looked up first.
            log.exception("could not record the outcome of outbox row %s", row.id)

    def _finished(self, row_id: int, _send: object = None) -> None:
        self._in_flight.pop(row_id, None)
        if not self._in_flight:
            self._idle.set()
        if self.on_finished is not None:
            self.on_finished()

    async def _renew_leases(self) -> None:
        """While sends are in flight, keep their leases a few seconds ahead: a live sender
        keeps its rows however long Slack takes; a dead one loses them within a lease."""
        every = max(self.lease.total_seconds() / 3, 0.2)
        while self._in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), every)
            ids = list(self._in_flight)
            if not ids:
                return
            try:
                async with self._db.transaction() as session:
                    await outbox.renew(session, ids=ids, until=self._clock.now() + self.lease)
            except Exception:
                log.warning("could not renew outbox leases; they may be taken over")

    async def wait_in_flight(self, *, within: float) -> None:
        """Let sends in progress finish (graceful shutdown)."""
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=within)
        for send in list(self._in_flight.values()):
            send.cancel()  # not recorded: its lease runs out and the row is looked up
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None

    def _held_now(self, now: datetime) -> set[str]:
        self._held = {d: until for d, until in self._held.items() if until > now}
        return set(self._held)

    async def _platform(self, session: AsyncSession, row: OutboxMessage) -> str:
        """The platform a row goes to: its workspace's (services write rows without one)."""
        known = self._platforms.get(row.workspace_id)
        if known is None:
            workspace = await session.get(Workspace, row.workspace_id)
            if workspace is None:
                return row.platform
            known = self._platforms[row.workspace_id] = workspace.platform or row.platform
        return known

    async def next_attempt(self) -> datetime | None:
        """When a row next becomes ready for this process (retry time, lease, pace)."""
        held = self._held_now(self._clock.now())
        async with self._db.reading() as session:
            due = await outbox.next_attempt(session, held=held)
        released = min(self._held.values(), default=None)
        if released is not None and (due is None or released < due):
            return released
        return due

    async def _resolve(self, session: AsyncSession, row: OutboxMessage) -> _Target | str:
        """Where the row goes: its channel, and for edits and pins the message's id.

        A destination "@<key>" is the channel created by the row named <key> (an incident
        channel, say); a ``ref_key`` names the message an edit or pin applies to. Returns
        "wait" while those are not delivered yet, or why they never will be.
        """
        channel: str | None = row.destination
        if row.destination.startswith("@"):
            created = await outbox.referenced(session, row.destination[1:])
            if created is None or created.failed:
                return "the channel it belongs to was never created"
            channel = created.platform_channel
            if channel is None and row.op != "create_channel":
                return "wait"
        ts = None
        if row.ref_key:
            ref = await outbox.referenced(session, row.ref_key)
            if ref is None or ref.failed:
                return "the message it refers to was never delivered"
            if ref.platform_ts is None or ref.platform_channel is None:
                return "wait"
            channel, ts = ref.platform_channel, ref.platform_ts
        return _Target(channel, ts)

    async def _send(self, row: _Snapshot, target: _Target | str) -> Delivered | CreatedTicket:
        if row.op == "ticket":
            if self._tickets is None:
                raise DeliveryError(
                    "no ticket system is configured (set JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN "
                    "and JIRA_PROJECT, or FIRSTLINE_TICKET_WEBHOOK)",
                    permanent=True,
                )
            return await self._tickets.create(
                payload=row.payload,
                idempotency_key=f"firstline-outbox-{outbox.identity(row.id, row.created_at)}",
                look_first=row.maybe_sent,
            )
        if row.op == "page":  # paging services (bot/paging.py), not a chat platform
            if self._pager is None:
                raise DeliveryError("no paging targets are configured", permanent=True)
            return await self._pager.send(payload=row.payload)
        chat = self._chats.get(row.platform)
        if chat is None:
            raise DeliveryError(f"no chat platform {row.platform!r} configured", permanent=True)
        if target == "wait":
            raise DeliveryError(WAITING, retry_after=5)
        if not isinstance(target, _Target):
            raise DeliveryError(str(target), permanent=True)
        ws, channel, payload = row.workspace_id, target.channel or "", row.payload
        content = Content.from_payload(payload)
        if row.op in ("post", "dm", "update"):
            marker = _marker(row)
            content = replace(content, marker=marker)
            if row.maybe_sent and isinstance(chat, FindsMarked):
                found = await chat.find_marked(
                    workspace_id=ws,
                    channel=channel,
                    thread_ts=target.ts if row.op == "update" else row.thread_ts,
                    marker=marker,
                    since=row.created_at.timestamp() - CLOCK_SKEW,
                )
                if found is not None:
                    log.warning("outbox row %s had already arrived (found by its marker)", row.id)
                    return found
        if row.op == "post":
            return await chat.post(
                workspace_id=ws, channel=channel, content=content, thread_ts=row.thread_ts
            )
        if row.op == "dm":
            return await chat.dm(workspace_id=ws, user=channel, content=content)
        if row.op == "ephemeral":
            if row.maybe_sent:
                # Slack cannot be asked whether an ephemeral arrived; a private hint shown
                # twice is worse than one that may be missing, so it is not repeated.
                log.warning("outbox row %s: ephemeral may have arrived; not repeated", row.id)
                return Delivered(channel, "")
            user = str(payload.get("user") or "")
            return await chat.ephemeral(
                workspace_id=ws, channel=channel, user=user, content=content
            )
        if row.op == "update" and target.ts:
            return await chat.update(
                workspace_id=ws, channel=channel, ts=target.ts, content=content
            )
        if row.op == "create_channel":
            name = str(payload["name"])
            if row.maybe_sent and isinstance(chat, FindsChannels):
                # An earlier attempt may have created it: the first name of the ones it would
                # have tried that exists and belongs to no other row is that channel.
                names = channel_names(name)
                existing = await chat.find_channels(workspace_id=ws, names=names)
                for candidate in names:
                    if candidate not in existing:
                        break  # names are tried in order: a free one ends the search
                    if existing[candidate] not in row.others:
                        log.warning("outbox row %s: channel #%s already made", row.id, candidate)
                        return Delivered(existing[candidate], "", name=candidate)
            return await chat.create_channel(
                workspace_id=ws, name=name, is_private=bool(payload.get("private"))
            )
        if row.op == "invite":
            users = [str(u) for u in payload.get("users", [])]
            return await chat.invite(workspace_id=ws, channel=channel, users=users)
        if row.op == "pin" and target.ts:
            return await chat.pin(workspace_id=ws, channel=channel, ts=target.ts)
        if row.op == "topic":
            return await chat.set_topic(
                workspace_id=ws, channel=channel, topic=str(payload["topic"])
            )
        if row.op == "group":
            users = [str(u) for u in payload.get("users", [])]
            return await chat.set_group_members(
                workspace_id=ws, group=str(payload["group"]), users=users
            )
        if row.op == "upload":
            filename = str(payload["filename"])
            title = str(payload.get("title") or filename)
            if row.maybe_sent and isinstance(chat, FindsUploads):
                found = await chat.find_upload(
                    workspace_id=ws,
                    channel=channel,
                    filename=filename,
                    title=title,
                    since=row.created_at.timestamp() - CLOCK_SKEW,
                )
                if found is not None:
                    log.warning("outbox row %s: file already shared (found by name)", row.id)
                    return found
            # Binary files (report charts) travel base64-encoded in the JSON payload.
            data: str | bytes = (
                base64.b64decode(str(payload["content_base64"]))
                if payload.get("content_base64")
                else str(payload["content"])
            )
            return await chat.upload(
                workspace_id=ws,
                channel=channel,
                filename=filename,
                content=data,
                title=title,
                comment=str(payload.get("comment") or ""),
            )
        if row.op == "home":
            sections = [Content.from_payload(p) for p in payload.get("sections", [])]
            return await chat.publish_home(workspace_id=ws, user=channel, sections=sections)
        raise DeliveryError(f"unknown outbox operation {row.op!r}", permanent=True)

    def _record(
        self, row: OutboxMessage, result: object, now: datetime, *, maybe_sent: bool = False
    ) -> None:
        if isinstance(result, CreatedTicket):
            # The ticket's key stands where a message id would; its address rides in the payload.
            row.payload = {**row.payload, "ticket_url": result.url}
            result = Delivered(result.key[:64], "")
        if isinstance(result, Delivered):
            if result.name:
                row.payload = {**row.payload, "created_name": result.name}
            row.sent_at = now
            row.platform_channel = result.channel
            row.platform_ts = result.ts
            row.last_error = None
            self._metrics.deliveries.labels(result="sent").inc()
            return
        row.attempts += 1
        error = result if isinstance(result, DeliveryError) else None
        row.last_error = str(result)[:2000]
        if maybe_sent or (error is not None and error.uncertain):
            # Until a lookup says otherwise, the next attempt must look before it sends.
            row.last_error = (UNCERTAIN + row.last_error)[:2000]
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

    def on_delivered(self, key_prefix: str, hook: DeliveryHook) -> None:
        """Run ``hook`` in the transaction that records a row whose key starts with the prefix
        as sent, e.g. to store the id of a channel the platform just created."""
        self.hooks[key_prefix] = hook

    def on_attempt_failed(self, key_prefix: str, hook: DeliveryHook) -> None:
        """Run ``hook`` after each failed attempt of a row whose key starts with the prefix
        (``row.failed`` tells whether it was the last one), e.g. to report it in a thread."""
        self.failure_hooks[key_prefix] = hook

    async def _run_hook(self, session: AsyncSession, row: OutboxMessage) -> None:
        if not row.key:
            return
        if row.sent_at is None:
            for prefix, hook in self.failure_hooks.items():
                if row.key.startswith(prefix):
                    await hook(session, row)
            return
        for prefix, hook in self.hooks.items():
            if row.key.startswith(prefix):
                await hook(session, row)

    async def _update_backlog(self) -> None:
        async with self._db.reading() as session:
            self._metrics.outbox_backlog.set(await outbox.backlog(session))


def _marker(row: _Snapshot) -> str:
    """What Slack keeps with a message (its metadata) to recognise it after an uncertain
    send. Rows written by a version that marked ``outbox:<id>`` and uncertain at the
    upgrade are posted again rather than risk taking an earlier install's message."""
    return f"outbox:{outbox.identity(row.id, row.created_at)}"


def _rate_limit(result: object) -> float | None:
    """Seconds the platform asked us to wait (429 Retry-After), if it did."""
    if (
        isinstance(result, DeliveryError)
        and result.retry_after is not None
        and str(result) != WAITING
    ):
        return max(result.retry_after, 0.0)
    return None


@dataclass(frozen=True)
class _Target:
    channel: str | None
    ts: str | None


class _Snapshot:
    """The fields of a claimed row, read before its session closes."""

    __slots__ = (
        "created_at",
        "destination",
        "id",
        "maybe_sent",
        "op",
        "others",
        "payload",
        "platform",
        "thread_ts",
        "workspace_id",
    )

    def __init__(self, row: OutboxMessage, maybe_sent: bool) -> None:
        self.id = row.id
        self.created_at = row.created_at
        self.maybe_sent = maybe_sent  # an earlier attempt may have reached the platform
        self.others: frozenset[str] = frozenset()  # channels other rows created
        self.workspace_id = row.workspace_id
        self.platform = row.platform
        self.destination = row.destination
        self.op = row.op
        self.payload = row.payload
        self.thread_ts = row.thread_ts

    @classmethod
    def of(cls, row: OutboxMessage, maybe_sent: bool = False) -> _Snapshot:
        return cls(row, maybe_sent)
