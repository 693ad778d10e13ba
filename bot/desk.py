"""The support desk: turns facts from a channel into requests, alerts and first responses.

    outcome = await desk.handle(fact, event_key="slack:T1:Ev123")

One fact is one transaction: its inbox row, its state change, its timers and any
message it causes commit together, so a crash loses nothing and a retry does nothing.
The rules are stated in README.md ("How Firstline measures").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import escalation, messages
from bot.alerts import REPEAT_WINDOW, fingerprint
from bot.changes import CHANNELS_CHANGED, ChangeFeed
from bot.channels import Channels, Watch
from bot.clock import Clock
from bot.facts import Deleted, Edited, Fact, Posted, Reacted, truncate
from bot.metrics import Metrics
from storage import inbox, outbox, timers
from storage.engine import Database
from storage.models import Request, RequestMessage, Timer, WatchedChannel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewRequest:
    """A request just opened, as its hooks see it (the row was inserted without the ORM)."""

    id: int
    workspace_id: str
    channel_id: str
    ts: str
    posted_at: datetime
    requester: str
    text: str


# Other services react inside the fact's own transaction (time off, FAQ, tickets).
OpenedHook = Callable[[AsyncSession, NewRequest, Watch, datetime], Awaitable[None]]
RequestHook = Callable[[AsyncSession, Request, Watch, datetime], Awaitable[None]]
ReactionHook = Callable[[AsyncSession, Request, Watch, Reacted, datetime], Awaitable[None]]


# Statements on every watched post are built once: building one costs more than running it.
_HERE = (Request.workspace_id == bindparam("workspace_id")) & (
    Request.channel_id == bindparam("channel_id")
)
# Open, unanswered requests by some requesters, or the request at a ts. Each side of the
# OR names its whole index, so both stay index searches.
_OPEN_UNANSWERED = (
    select(Request)
    .where(
        (
            _HERE
            & Request.requester.in_(bindparam("requesters", expanding=True))
            & Request.closed_at.is_(None)
            & Request.first_response_at.is_(None)
            & Request.deleted.is_(False)
        )
        | (_HERE & (Request.ts == bindparam("ts")))
    )
    .order_by(Request.posted_at)
    .with_for_update()
)
_REQUESTS = cast(Table, Request.__table__)
_INSERT_REQUEST = insert(_REQUESTS).returning(_REQUESTS.c.id)
_WATCHES_READ = "firstline.desk_watches"  # session.info: channel settings read this transaction
_UNANSWERED = {
    "first_response_at": None,
    "first_responder": None,
    "first_response_via": None,
    "first_response_seconds": None,
    "closed_at": None,
    "closed_by": None,
    "close_seconds": None,
    "escalation_key": None,
}


@dataclass(frozen=True)
class Outcome:
    """What a fact did: "opened", "responded", "follow_up", "duplicate", "ignored", …"""

    what: str
    request_id: int | None = None


class Desk:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        channels: Channels,
        metrics: Metrics,
        changes: ChangeFeed,
    ) -> None:
        self.db = db
        self.clock = clock
        self.channels = channels
        self.metrics = metrics
        self._changes = changes
        self.on_opened: list[OpenedHook] = []  # a new request (not alerts, not imported)
        self.on_first_response: list[RequestHook] = []  # not for imported requests
        self.on_reaction: list[ReactionHook] = []

    async def handle(
        self, fact: Fact, *, event_key: str | None = None, imported: bool = False
    ) -> Outcome:
        """Apply ``fact`` in one transaction; facts for unwatched channels touch nothing."""
        watch = await self.channels.lookup(fact.workspace_id, fact.channel_id)
        if watch is None:
            return Outcome("unwatched")
        now = self.clock.now()
        try:
            async with self.db.transaction() as session:
                if event_key is not None and not await inbox.record(session, key=event_key, at=now):
                    self.metrics.duplicates.inc()
                    return Outcome("duplicate")
                outcome = await self._apply(session, watch, fact, now=now, imported=imported)
            self._changes.committed(session)
        except IntegrityError:
            # Two deliveries of one event raced (a retry while the first was in flight):
            # the one that committed did the work.
            if event_key is not None:
                async with self.db.reading() as session:
                    if await inbox.seen(session, event_key):
                        self.metrics.duplicates.inc()
                        return Outcome("duplicate")
            raise
        self.metrics.facts.labels(outcome=outcome.what).inc()
        return outcome

    async def _apply(
        self, session: AsyncSession, watch: Watch, fact: Fact, *, now: datetime, imported: bool
    ) -> Outcome:
        if isinstance(fact, Posted):
            if fact.is_reply:
                return await self._reply(session, watch, fact, now=now)
            if watch.kind == "alerts":
                return await self._alert_post(session, watch, fact, now=now, imported=imported)
            return await self._request_post(session, watch, fact, now=now, imported=imported)
        if isinstance(fact, Reacted):
            return await self._reaction(session, watch, fact, now=now, imported=imported)
        if isinstance(fact, Edited):
            request = await self._find(session, fact.workspace_id, fact.channel_id, fact.ts)
            if request is None or request.ts != fact.ts:
                return Outcome("ignored")
            request.text = truncate(fact.text)
            return Outcome("edited", request.id)
        if isinstance(fact, Deleted):
            request = await self._find(session, fact.workspace_id, fact.channel_id, fact.ts)
            if request is None or request.ts != fact.ts or request.deleted:
                return Outcome("ignored")
            request.deleted = True
            await escalation.on_settled(session, request=request, now=now, reason="withdrawn")
            return Outcome("withdrawn", request.id)
        return Outcome("ignored")

    # -- requests channels -------------------------------------------------------------

    async def _request_post(
        self, session: AsyncSession, watch: Watch, fact: Posted, *, now: datetime, imported: bool
    ) -> Outcome:
        if not fact.is_human or fact.user is None:
            return Outcome("ignored")
        found = await self._open_unanswered(
            session, watch, requesters={fact.user, *fact.mentions}, or_ts=fact.ts
        )
        if any(r.ts == fact.ts for r in found):
            return Outcome("duplicate_message")  # the same message under another event id
        waiting = [r for r in found if r.first_response_at is None and r.closed_at is None]
        mentioned = [
            r for r in waiting if r.requester in fact.mentions and r.requester != fact.user
        ]
        if mentioned:
            answered = 0
            for request in mentioned:
                if watch.is_eligible(fact.user, requester=request.requester):
                    await self._first_response(
                        session, request, watch, user=fact.user, at=fact.at, via="mention", now=now
                    )
                    answered += 1
            return Outcome("responded" if answered else "ignored", mentioned[0].id)
        own = [r for r in waiting if r.requester == fact.user]
        if own:
            return Outcome("follow_up", own[0].id)
        if watch.settings.responders_mode == "team" and fact.user in watch.responders:
            return Outcome("ignored")
        opened = await self._open(session, watch, fact, now=now, imported=imported, known_new=True)
        if opened is not None and not imported:
            new = NewRequest(
                id=opened,
                workspace_id=fact.workspace_id,
                channel_id=fact.channel_id,
                ts=fact.ts,
                posted_at=fact.at,
                requester=fact.author,
                text=truncate(fact.text),
            )
            for hook in self.on_opened:
                await hook(session, new, watch, now)
        return Outcome("opened", opened)

    async def _open_unanswered(
        self, session: AsyncSession, watch: Watch, *, requesters: set[str], or_ts: str
    ) -> list[Request]:
        """Open, unanswered requests by ``requesters``, and the request at ``or_ts`` if any:
        one query, because this runs for every post in a watched channel."""
        params = {
            "workspace_id": watch.workspace_id,
            "channel_id": watch.channel_id,
            "requesters": sorted(requesters),
            "ts": or_ts,
        }
        return list((await session.scalars(_OPEN_UNANSWERED, params)).all())

    async def _open(
        self,
        session: AsyncSession,
        watch: Watch,
        fact: Posted,
        *,
        now: datetime,
        imported: bool,
        fingerprint_text: str | None = None,
        known_new: bool = False,
    ) -> int | None:
        """Open a request for ``fact``; its id, or None if that message already has one."""
        # The same message delivered under another event id (rare) must not open twice.
        if not known_new:
            existing = await session.scalar(
                select(Request.id).where(
                    Request.workspace_id == fact.workspace_id,
                    Request.channel_id == fact.channel_id,
                    Request.ts == fact.ts,
                )
            )
            if existing is not None:
                return None
        target = watch.settings.target_seconds
        values = {
            "workspace_id": fact.workspace_id,
            "channel_id": fact.channel_id,
            "kind": watch.kind,
            "ts": fact.ts,
            "posted_at": fact.at,
            "requester": fact.author,
            "text": truncate(fact.text),
            "fingerprint": fingerprint_text,
            "occurrences": 1,
            "last_occurrence_at": fact.at,
            "target_seconds": target,
            "deadline_at": watch.hours.add(fact.at, target),
            "deleted": False,
            "imported": imported,
            **_UNANSWERED,
        }
        # One INSERT … RETURNING, without the ORM's unit of work: this runs for every request,
        # and nothing else in this transaction touches the new row.
        request_id: int = (await session.execute(_INSERT_REQUEST, values)).scalar_one()
        self.metrics.opened.labels(kind=watch.kind).inc()
        if not imported:
            await escalation.schedule(
                session,
                request_id=request_id,
                workspace_id=fact.workspace_id,
                posted_at=fact.at,
                target_seconds=target,
                watch=watch,
                now=now,
            )
        return request_id

    # -- alerts channels ---------------------------------------------------------------

    async def _alert_post(
        self, session: AsyncSession, watch: Watch, fact: Posted, *, now: datetime, imported: bool
    ) -> Outcome:
        if fact.user and fact.user in watch.responders:
            return Outcome("ignored")
        key = fingerprint(fact.text)
        repeat = await session.scalar(
            select(Request)
            .where(
                Request.workspace_id == watch.workspace_id,
                Request.channel_id == watch.channel_id,
                Request.fingerprint == key,
                Request.closed_at.is_(None),
                Request.deleted.is_(False),
                Request.last_occurrence_at >= fact.at - REPEAT_WINDOW,
            )
            .order_by(Request.posted_at.desc())
            .limit(1)
            .with_for_update()
        )
        if repeat is not None and repeat.ts != fact.ts:
            known = await session.scalar(
                select(RequestMessage).where(
                    RequestMessage.workspace_id == fact.workspace_id,
                    RequestMessage.channel_id == fact.channel_id,
                    RequestMessage.ts == fact.ts,
                )
            )
            if known is None:
                repeat.occurrences += 1
                repeat.last_occurrence_at = max(repeat.last_occurrence_at, fact.at)
                session.add(
                    RequestMessage(
                        request_id=repeat.id,
                        workspace_id=fact.workspace_id,
                        channel_id=fact.channel_id,
                        ts=fact.ts,
                    )
                )
            return Outcome("repeated", repeat.id)
        opened = await self._open(
            session, watch, fact, now=now, imported=imported, fingerprint_text=key
        )
        return Outcome("opened", opened)

    # -- replies and reactions ---------------------------------------------------------

    async def _reply(
        self, session: AsyncSession, watch: Watch, fact: Posted, *, now: datetime
    ) -> Outcome:
        assert fact.thread_ts is not None
        request = await self._find(session, fact.workspace_id, fact.channel_id, fact.thread_ts)
        if request is None or request.deleted or request.first_response_at is not None:
            return Outcome("ignored")
        if not fact.is_human or not watch.is_eligible(fact.user, requester=request.requester):
            return Outcome("ignored")
        assert fact.user is not None
        await self._first_response(
            session, request, watch, user=fact.user, at=fact.at, via="reply", now=now
        )
        return Outcome("responded", request.id)

    async def _reaction(
        self, session: AsyncSession, watch: Watch, fact: Reacted, *, now: datetime, imported: bool
    ) -> Outcome:
        request = await self._find(session, fact.workspace_id, fact.channel_id, fact.item_ts)
        if request is None or request.deleted:
            return Outcome("ignored")
        if not imported:  # a backfill must not file tickets for old reactions
            for hook in self.on_reaction:
                await hook(session, request, watch, fact, now)
        emoji = fact.emoji.split("::", 1)[0]
        is_done = emoji in watch.settings.done_emojis
        is_ack = emoji in watch.settings.ack_emojis
        if not fact.added:
            if is_done and request.closed_at is not None and request.closed_by == fact.user:
                request.closed_at = request.closed_by = request.close_seconds = None
                return Outcome("reopened", request.id)
            return Outcome("ignored")
        eligible = watch.is_eligible(fact.user, requester=request.requester)
        outcome = "ignored"
        if (is_ack or is_done) and eligible and request.first_response_at is None:
            await self._first_response(
                session,
                request,
                watch,
                user=fact.user,
                at=fact.at,
                via="done" if is_done and not is_ack else "reaction",
                now=now,
            )
            outcome = "responded"
        if is_done and request.closed_at is None:
            closed_at = max(fact.at, request.posted_at)
            request.closed_at = closed_at
            request.closed_by = fact.user
            request.close_seconds = watch.hours.elapsed(request.posted_at, closed_at)
            await timers.cancel(
                session, subject=escalation.subject(request), at=now, outcome="closed"
            )
            outcome = "closed"
        return Outcome(outcome, request.id)

    async def respond_by_button(
        self, *, workspace_id: str, channel_id: str, ts: str, user: str, reply_in: str
    ) -> str:
        """ "I'm on it" pressed: a first response now, by ``user``, if they may give one.

        The answer goes to ``user`` alone (ephemeral, in ``reply_in``) through the outbox.
        """
        now = self.clock.now()
        async with self.db.transaction() as session:
            watch = await self.channels.load(session, workspace_id, channel_id)
            request = await self._find(session, workspace_id, channel_id, ts)
            if watch is None or request is None or request.deleted:
                answer = "This request is no longer watched or was deleted."
            elif request.first_response_at is not None:
                answer = f"<@{request.first_responder}> already gave the first response."
            elif not watch.is_eligible(user, requester=request.requester):
                answer = (
                    "You can't give the first response to this request "
                    "(you asked it, or you are not a responder here)."
                )
            else:
                await self._first_response(
                    session, request, watch, user=user, at=now, via="button", now=now
                )
                answer = "Thanks: you're recorded as the first response."
            outbox.enqueue(
                session,
                workspace_id=workspace_id,
                destination=reply_in,
                op="ephemeral",
                payload={**messages.plain(answer).to_payload(), "user": user},
                at=now,
            )
        self._changes.committed(session)
        return answer

    async def _first_response(
        self,
        session: AsyncSession,
        request: Request,
        watch: Watch,
        *,
        user: str,
        at: datetime,
        via: str,
        now: datetime,
    ) -> None:
        at = max(at, request.posted_at)
        seconds = watch.hours.elapsed(request.posted_at, at)
        request.first_response_at = at
        request.first_responder = user
        request.first_response_via = via
        request.first_response_seconds = seconds
        self.metrics.first_response.labels(kind=request.kind).observe(seconds)
        if seconds > request.target_seconds:
            self.metrics.breaches.labels(kind=request.kind).inc()
        if not request.imported:
            await escalation.on_settled(session, request=request, now=now, reason="answered")
            for hook in self.on_first_response:
                await hook(session, request, watch, now)

    async def _find(
        self, session: AsyncSession, workspace_id: str, channel_id: str, ts: str
    ) -> Request | None:
        """The request a message belongs to: the request itself or one of its repeats."""
        request = await session.scalar(
            select(Request)
            .where(
                Request.workspace_id == workspace_id,
                Request.channel_id == channel_id,
                Request.ts == ts,
            )
            .with_for_update()
        )
        if request is not None:
            return request
        return await session.scalar(
            select(Request)
            .join(RequestMessage, RequestMessage.request_id == Request.id)
            .where(
                RequestMessage.workspace_id == workspace_id,
                RequestMessage.channel_id == channel_id,
                RequestMessage.ts == ts,
            )
            .with_for_update(of=Request)
        )

    # -- timers ------------------------------------------------------------------------

    async def fire_timer(self, session: AsyncSession, timer: Timer, now: datetime) -> str:
        """An escalation step of a request (subject "request:<id>") is due."""
        _, _, ident = timer.subject.partition(":")
        request = (
            await session.get(Request, int(ident), with_for_update=True)
            if ident.isdigit()
            else None
        )
        watch = None
        if request is not None:
            # A sweep fires up to a few hundred timers in one transaction, mostly of a few
            # channels: read each channel's settings once per transaction, not per timer.
            loaded = session.info.setdefault(_WATCHES_READ, {})
            if session.info.get(CHANNELS_CHANGED):
                loaded.clear()  # a rota step in this sweep set responders: read them afresh
            key = (request.workspace_id, request.channel_id)
            if key not in loaded:
                loaded[key] = await self.channels.load(session, *key)
            watch = loaded[key]
        outcome = await escalation.fire(session, timer=timer, request=request, watch=watch, now=now)
        if outcome in ("sent", "no_target"):
            self.metrics.escalations.labels(step=timer.step).inc()
        return outcome

    async def forget_old_events(self, *, before: datetime) -> int:
        """Drop inbox keys older than ``before``; retries never come that late."""
        async with self.db.transaction() as session:
            return await inbox.forget_before(session, before=before)


__all__ = ["Desk", "Outcome", "WatchedChannel"]
