"""The support desk: turns facts from a channel into requests, alerts and first responses.

    outcome = await desk.handle(fact, event_key="slack:T1:Ev123")

One fact is one transaction: its inbox row, its state change, its timers and any
message it causes commit together, so a crash loses nothing and a retry does nothing.
The rules are stated in README.md ("How Firstline measures").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import escalation, messages
from bot.alerts import REPEAT_WINDOW, fingerprint
from bot.changes import CHANNELS_CHANGED, ChangeFeed
from bot.channels import Channels, Watch
from bot.clock import Clock
from bot.facts import Deleted, Edited, Fact, Posted, Reacted, truncate
from bot.metrics import Metrics
from bot.quality import turns
from bot.quality.noise import KINDS as NOISE_KINDS
from storage import inbox, outbox, timers
from storage.engine import Database
from storage.models import Request, RequestMessage, Timer, WatchedChannel
from storage.prepared import Prepared

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
ReplyHook = Callable[[AsyncSession, Request, Watch, Posted], Awaitable[None]]


# Statements on every watched post are built once: building one costs more than running it.
_REQUESTS = cast(Table, Request.__table__)
_HERE = (_REQUESTS.c.workspace_id == bindparam("workspace_id")) & (
    _REQUESTS.c.channel_id == bindparam("channel_id")
)


def _open_unanswered_statement(requesters: int, stamps: int) -> Select[Any]:
    """Open, unanswered requests by some requesters, their open requests posted to since
    the burst window began, or the requests at some ts.

    Each side of the OR names its whole index, so both stay index searches. It reads the
    table's columns (rows, not ORM objects): on most posts it finds nothing, and loading
    entities into the session cost more than the query; the rare post that answers one
    loads it then. One form per number of requesters (the poster and whom they mention)
    and of ts (one, or a group's posts: ``_Lookahead``).
    """
    return (
        select(_REQUESTS)
        .where(
            (
                _HERE
                & _REQUESTS.c.requester.in_([bindparam(f"r{i}") for i in range(requesters)])
                & _REQUESTS.c.closed_at.is_(None)
                & _REQUESTS.c.deleted.is_(False)
                & (
                    _REQUESTS.c.first_response_at.is_(None)
                    # Answered but open, posted to within the burst window (NULL: no bursts).
                    | (_REQUESTS.c.last_occurrence_at >= bindparam("burst_since"))
                )
            )
            | (_HERE & _REQUESTS.c.ts.in_([bindparam(f"t{i}") for i in range(stamps)]))
        )
        .order_by(_REQUESTS.c.posted_at)
        .with_for_update()
    )


_OPEN_UNANSWERED: dict[tuple[int, int], Prepared] = {}


async def _open_unanswered(
    session: AsyncSession,
    *,
    workspace_id: str,
    channel_id: str,
    requesters: Iterable[str],
    stamps: Iterable[str],
    burst_since: datetime | None,
    pad: bool = False,
) -> list[Any]:
    """Run ``_open_unanswered_statement``; ``pad`` repeats the last requester and ts up to
    a power of two, so groups of any size share a few compiled forms."""
    people, ts = sorted(set(requesters)), sorted(set(stamps))
    if pad:
        people += people[-1:] * (_padded(len(people)) - len(people))
        ts += ts[-1:] * (_padded(len(ts)) - len(ts))
    params: dict[str, Any] = {
        "workspace_id": workspace_id,
        "channel_id": channel_id,
        "burst_since": burst_since,
    }
    params.update({f"r{i}": person for i, person in enumerate(people)})
    params.update({f"t{i}": stamp for i, stamp in enumerate(ts)})
    shape = (len(people), len(ts))
    prepared = _OPEN_UNANSWERED.get(shape)
    if prepared is None:
        prepared = _OPEN_UNANSWERED[shape] = Prepared(_open_unanswered_statement(*shape))
    return await prepared.rows(session, params)


def _padded(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


# Outcomes after which every request row is as it was, but for the post's own new request.
_LEAVES_REQUESTS = frozenset(
    {"opened", "ignored", "duplicate", "duplicate_message", "custom", *NOISE_KINDS}
)


class _Lookahead:
    """The requests a group's top-level posts in one channel will look up, read with one
    query before the first of them (one round trip instead of one per post).

    It answers each post as its own query would: the group's own openings are added as
    they happen, and after any other change to a request (an answer, a follow-up, a burst)
    the desk drops it and the posts after that look up alone.
    """

    def __init__(self, watch: Watch, rows: list[Any]) -> None:
        self.where = (watch.workspace_id, watch.channel_id)
        self._rows = rows

    @classmethod
    async def read(cls, session: AsyncSession, group: list[_Pending]) -> _Lookahead | None:
        posts = [p for p in group if _looks_up(p)]
        if len(posts) < 2 or len({(p.watch.workspace_id, p.watch.channel_id) for p in posts}) > 1:
            return None
        facts = [cast(Posted, p.fact) for p in posts]
        since = [turns.burst_since(posts[0].watch, fact) for fact in facts]
        known = [s for s in since if s is not None]
        rows = await _open_unanswered(
            session,
            workspace_id=posts[0].watch.workspace_id,
            channel_id=posts[0].watch.channel_id,
            requesters={person for f in facts for person in (cast(str, f.user), *f.mentions)},
            stamps={fact.ts for fact in facts},
            burst_since=min(known) if len(known) == len(since) else None,
            pad=True,
        )
        return cls(posts[0].watch, list(rows))

    def found(self, *, requesters: set[str], or_ts: str, burst_since: datetime | None) -> list[Any]:
        """What ``_open_unanswered`` would return for one post, from the rows read."""
        return sorted(
            (
                r
                for r in self._rows
                if r.ts == or_ts
                or (
                    r.requester in requesters
                    and r.closed_at is None
                    and not r.deleted
                    and (
                        r.first_response_at is None
                        or (burst_since is not None and r.last_occurrence_at >= burst_since)
                    )
                )
            ),
            key=lambda r: r.posted_at,
        )

    def opened(self, row: Any) -> None:
        self._rows.append(row)


def _looks_up(pending: _Pending) -> bool:
    fact = pending.fact
    return (
        isinstance(fact, Posted)
        and not fact.is_reply
        and pending.watch.kind == "requests"
        and fact.is_human
        and fact.user is not None
    )


_INSERT_REQUEST = Prepared(
    insert(_REQUESTS).returning(_REQUESTS.c.id),
    columns=[column.key for column in _REQUESTS.columns if column.key != "id"],
)
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


@dataclass(frozen=True)
class _Pending:
    """A fact waiting for the desk's next transaction."""

    fact: Fact
    event_key: str | None
    imported: bool
    watch: Watch


class _GroupCommit:
    """Applies facts that arrive while a transaction runs together, in the next one.

    One caller at a time leads: it takes everything queued (up to ``limit``), runs it in one
    transaction and hands each waiting caller its outcome, then passes the lead to the next
    caller still waiting. A commit costs about as much as opening a request, and with
    SQLite the writers queue for one lock anyway, so under bursts this halves the CPU per
    fact; a lone fact runs alone, as before. If a group fails, each of its facts is applied
    alone, so one bad fact fails only its own event (which Slack retries).
    """

    def __init__(
        self,
        *,
        alone: Callable[[_Pending], Awaitable[Outcome]],
        together: Callable[[list[_Pending]], Awaitable[list[Outcome]]],
        limit: int = 32,
    ) -> None:
        self._alone = alone
        self._together = together
        self._limit = limit
        self._queue: list[tuple[_Pending, asyncio.Future[Outcome | None]]] = []
        self._leading = False

    async def apply(self, pending: _Pending) -> Outcome:
        turn: asyncio.Future[Outcome | None] = asyncio.get_running_loop().create_future()
        self._queue.append((pending, turn))
        if self._leading:
            try:
                outcome = await turn  # None: our turn to lead
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():
                    self._pass_lead([])  # handed the lead as we were cancelled: hand it on
                raise
            if outcome is not None:
                return outcome
            # Still first in the queue; a fresh future carries our own outcome.
            turn = asyncio.get_running_loop().create_future()
            self._queue[0] = (pending, turn)
        self._leading = True
        group = self._queue[: self._limit]
        del self._queue[: self._limit]
        try:
            await self._run(group)
        finally:
            self._pass_lead(group)
        outcome = turn.result()
        assert outcome is not None  # _run settled every fact of the group
        return outcome

    async def _run(self, group: list[tuple[_Pending, asyncio.Future[Outcome | None]]]) -> None:
        if len(group) > 1:
            try:
                outcomes = await self._together([pending for pending, _ in group])
            except Exception:
                log.info("a group of %d facts failed; applying each alone", len(group))
            else:
                for (_, turn), outcome in zip(group, outcomes, strict=True):
                    if not turn.done():
                        turn.set_result(outcome)
                return
        for pending, turn in group:
            try:
                outcome = await self._alone(pending)
            except Exception as error:
                if not turn.done():
                    turn.set_exception(error)
            else:
                if not turn.done():
                    turn.set_result(outcome)

    def _pass_lead(self, group: list[tuple[_Pending, asyncio.Future[Outcome | None]]]) -> None:
        for _, turn in group:  # the leader was cancelled halfway: the others must not hang
            if not turn.done():
                # Their facts were rolled back with the group; a 500 makes Slack retry them.
                turn.set_exception(RuntimeError("the transaction holding this fact was cancelled"))
        while self._queue and self._queue[0][1].done():
            self._queue.pop(0)  # its caller went away (cancelled) before its turn
        if self._queue:
            self._queue[0][1].set_result(None)
        else:
            self._leading = False


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
        self.on_reply: list[ReplyHook] = []  # every person's reply in a request's thread
        self._group = _GroupCommit(alone=self._handle_alone, together=self._handle_group)

    async def handle(
        self, fact: Fact, *, event_key: str | None = None, imported: bool = False
    ) -> Outcome:
        """Apply ``fact``; facts for unwatched channels touch nothing.

        Facts arriving while another transaction of the desk runs are applied together in
        the next one (group commit): each caller still returns only after the commit that
        holds its fact, so nothing is acknowledged before it is durable.
        """
        watch = await self.channels.lookup(fact.workspace_id, fact.channel_id)
        if watch is None:
            return Outcome("unwatched")
        return await self._group.apply(
            _Pending(fact=fact, event_key=event_key, imported=imported, watch=watch)
        )

    async def _handle_alone(self, pending: _Pending) -> Outcome:
        """Apply one fact in its own transaction (also the retry of a failed group)."""
        event_key = pending.event_key
        now = self.clock.now()
        try:
            async with self.db.transaction() as session:
                outcome = await self._record_and_apply(session, pending, now=now)
                await timers.write_pending(session)
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

    async def _handle_group(self, group: list[_Pending]) -> list[Outcome]:
        """Apply several facts, in arrival order, in one transaction. Any failure rolls the
        whole group back and raises; the caller then applies each fact alone."""
        now = self.clock.now()
        outcomes: list[Outcome] = []
        async with self.db.transaction() as session:
            # The group's inbox rows in one statement; a key twice in the group (a retry
            # queued behind its first delivery) is applied once.
            fresh = await inbox.record_many(
                session, keys=[p.event_key for p in group if p.event_key is not None], at=now
            )
            lookahead = await _Lookahead.read(session, group)
            for pending in group:
                key = pending.event_key
                if key is not None and key not in fresh:
                    self.metrics.duplicates.inc()
                    outcomes.append(Outcome("duplicate"))
                    continue
                if key is not None:
                    fresh.discard(key)
                if outcomes and (session.new or session.dirty or session.deleted):
                    # Core lookups read the connection, not the session: earlier facts'
                    # ORM changes must be written before the next fact looks.
                    await session.flush()
                outcome = await self._apply(
                    session,
                    pending.watch,
                    pending.fact,
                    now=now,
                    imported=pending.imported,
                    lookahead=lookahead,
                )
                outcomes.append(outcome)
                if outcome.what not in _LEAVES_REQUESTS:
                    lookahead = None  # a request changed: the next posts look up alone
            await timers.write_pending(session)
        self._changes.committed(session)
        for outcome in outcomes:
            self.metrics.facts.labels(outcome=outcome.what).inc()
        return outcomes

    async def _record_and_apply(
        self, session: AsyncSession, pending: _Pending, *, now: datetime
    ) -> Outcome:
        if pending.event_key is not None and not await inbox.record(
            session, key=pending.event_key, at=now
        ):
            self.metrics.duplicates.inc()
            return Outcome("duplicate")
        return await self._apply(
            session, pending.watch, pending.fact, now=now, imported=pending.imported
        )

    async def _apply(
        self,
        session: AsyncSession,
        watch: Watch,
        fact: Fact,
        *,
        now: datetime,
        imported: bool,
        lookahead: _Lookahead | None = None,
    ) -> Outcome:
        if isinstance(fact, Posted):
            if fact.is_reply:
                return await self._reply(session, watch, fact, now=now)
            if watch.kind == "alerts":
                return await self._alert_post(session, watch, fact, now=now, imported=imported)
            return await self._request_post(
                session, watch, fact, now=now, imported=imported, lookahead=lookahead
            )
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
        self,
        session: AsyncSession,
        watch: Watch,
        fact: Posted,
        *,
        now: datetime,
        imported: bool,
        lookahead: _Lookahead | None = None,
    ) -> Outcome:
        if not fact.is_human or fact.user is None:
            return Outcome("ignored")
        requesters = {fact.user, *fact.mentions}
        burst_since = turns.burst_since(watch, fact)
        if lookahead is not None and lookahead.where == (watch.workspace_id, watch.channel_id):
            found = lookahead.found(requesters=requesters, or_ts=fact.ts, burst_since=burst_since)
        else:
            found = await _open_unanswered(
                session,
                workspace_id=watch.workspace_id,
                channel_id=watch.channel_id,
                requesters=requesters,
                stamps=[fact.ts],
                burst_since=burst_since,
            )
        if any(r.ts == fact.ts for r in found):
            return Outcome("duplicate_message")  # the same message under another event id
        waiting = [r for r in found if r.first_response_at is None and r.closed_at is None]
        mentioned = [
            r for r in waiting if r.requester in fact.mentions and r.requester != fact.user
        ]
        if mentioned:
            answered = 0
            for row in mentioned:
                if not watch.is_eligible(fact.user, requester=row.requester):
                    continue
                request = await session.get(Request, row.id, with_for_update=True)
                if request is not None:
                    await self._first_response(
                        session, request, watch, user=fact.user, at=fact.at, via="mention", now=now
                    )
                    answered += 1
            return Outcome("responded" if answered else "ignored", mentioned[0].id)
        own = [r for r in waiting if r.requester == fact.user]
        if own:
            # The lookup's rows are read-only; a follow-up may change the request (its latest
            # post for bursts, waiting on the requester), so load it.
            followed = await session.get(Request, own[0].id, with_for_update=True)
            if followed is not None:
                await turns.followed_up(session, watch, followed, fact, now=now)
            return Outcome("follow_up", own[0].id)
        if watch.settings.responders_mode == "team" and fact.user in watch.responders:
            return Outcome("ignored")
        # Noise, or a burst (found by the lookup above).
        set_aside = await turns.set_aside(session, watch, fact, now=now, requests=found)
        if set_aside is not None:
            return Outcome(set_aside)
        opened = await self._open(session, watch, fact, now=now, imported=imported, known_new=True)
        if opened is not None and lookahead is not None:
            lookahead.opened(
                SimpleNamespace(
                    id=opened,
                    ts=fact.ts,
                    requester=fact.author,
                    posted_at=fact.at,
                    last_occurrence_at=fact.at,
                    first_response_at=None,
                    closed_at=None,
                    deleted=False,
                )
            )
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
            **turns.opening_values(watch, fact.at),
        }
        # One INSERT … RETURNING, without the ORM's unit of work: this runs for every request,
        # and nothing else in this transaction touches the new row.
        request_id: int = await _INSERT_REQUEST.scalar(session, values)
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
        if request is not None and not request.deleted and fact.is_human:
            for hook in self.on_reply:  # answers from history keep the thread (imports too)
                await hook(session, request, watch, fact)
        if request is None or request.deleted:
            return Outcome("ignored")
        if request.first_response_at is not None:
            after = await turns.after_first_response(session, watch, request, fact, now=now)
            return Outcome(after, request.id)
        if not fact.is_human or not watch.is_eligible(fact.user, requester=request.requester):
            return Outcome("ignored")
        assert fact.user is not None
        await self._first_response(
            session, request, watch, user=fact.user, at=fact.at, via="reply", now=now
        )
        turns.first_reply(watch, request, fact)
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
            after = await turns.reacted(session, watch, request, fact, outcome="ignored", now=now)
            return Outcome(after, request.id)
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
            await escalation.on_closed(session, request=request, now=now)
            outcome = "closed"
        outcome = await turns.reacted(session, watch, request, fact, outcome=outcome, now=now)
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
