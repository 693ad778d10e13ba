"""Answers from history: a channel's answered requests, suggested for new ones like them.

    history.attach(desk)   # keeps threads' replies; suggests on new requests where it is on

Firstline keeps, per requests channel, each request that someone other than the requester
replied to in its thread (the replies, who wrote them, the link), from live traffic and
from ``firstline import`` alike. When a request opens in a channel where suggestions are
on, its words are ranked against that channel's answered requests (``bot.matching``,
offline); the closest one at or above the channel's threshold is posted in the thread
once, with Helpful and Not related buttons. Nothing leaves the database, and a channel's
history is only ever suggested in that channel.

A suggestion is not a first response: a person still owes one, and the escalation ladder
keeps running, unless the requester presses Helpful, which closes the request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import escalation
from bot.channels import Channels, Watch
from bot.clock import Clock
from bot.content import Content, button_id
from bot.desk import Desk, NewRequest
from bot.errors import UsageError
from bot.facts import Posted, truncate
from bot.history import messages
from bot.matching import DEFAULT_RANKER, RANKERS, Ranker, RankIndex, similarity
from bot.outgoing import say
from bot.switches import ChannelSwitches
from storage.engine import Database
from storage.models import HistoryReply, HistoryThread, Request, Suggestion, SuggestionSettings

SCAN_LIMIT = 2000  # the most recently answered threads a new request is ranked against
SAME_QUESTION = 90.0  # a "not related" verdict also holds for questions this alike (0–100)
_SLACK_LINK = re.compile(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})")
_TS = re.compile(r"^\d{9,10}\.\d{6}$")
FORGET_FORM = (
    "/support suggest forget https://yourteam.slack.com/archives/C0123/p1700000000000100 "
    "(the link of the request: message menu → Copy link)"
)


@dataclass(frozen=True)
class Pressed:
    content: Content
    closed: bool = False  # the requester closed their request with Helpful


class History:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        channels: Channels,
        ranker: Ranker | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._channels = channels
        self.ranker = ranker or RANKERS[DEFAULT_RANKER]
        self._switches = ChannelSwitches(clock=clock, table=SuggestionSettings)
        # Per channel: the ranker prepared on its threads, reused until they change.
        self._indexes: dict[tuple[str, str], tuple[int, RankIndex]] = {}

    def attach(self, desk: Desk) -> None:
        desk.on_reply.append(self.on_reply)
        desk.on_opened.append(self.on_request)

    # -- keeping the history ---------------------------------------------------------------

    def forget_settings(self, _channel: object = None) -> None:
        """Another process changed some channel's settings: read the switches afresh."""
        self._switches.forget()

    async def on_reply(
        self, session: AsyncSession, request: Request, watch: Watch, reply: Posted
    ) -> None:
        """A person replied in a request's thread: keep it when it answers someone else."""
        if watch.kind != "requests" or reply.user is None or reply.user == request.requester:
            return
        thread = await session.scalar(
            select(HistoryThread).where(HistoryThread.request_id == request.id)
        )
        if thread is None:
            thread = HistoryThread(
                request_id=request.id,
                workspace_id=request.workspace_id,
                channel_id=request.channel_id,
                ts=request.ts,
                question=request.text,
                answered_by=reply.user,
                answer=truncate(reply.text),
                replies=0,
                last_reply_at=reply.at,
                forgotten=False,
            )
            session.add(thread)
            await session.flush()
        if thread.forgotten:
            return
        known = await session.scalar(
            select(HistoryReply.id).where(
                HistoryReply.workspace_id == reply.workspace_id,
                HistoryReply.channel_id == reply.channel_id,
                HistoryReply.ts == reply.ts,
            )
        )
        if known is not None:
            return  # the same reply imported twice, or live and then imported
        session.add(
            HistoryReply(
                thread_id=thread.id,
                workspace_id=reply.workspace_id,
                channel_id=reply.channel_id,
                ts=reply.ts,
                user=reply.user,
                text=truncate(reply.text),
                posted_at=reply.at,
            )
        )
        thread.question = request.text  # the request may have been edited since
        thread.replies += 1
        thread.last_reply_at = max(thread.last_reply_at, reply.at)

    # -- suggesting ------------------------------------------------------------------------

    async def on_request(
        self, session: AsyncSession, request: NewRequest, watch: Watch, now: datetime
    ) -> None:
        if watch.kind != "requests":
            return
        threshold = await self._switches.threshold(
            session, request.workspace_id, request.channel_id
        )
        if threshold is None:
            return
        threads = (
            await session.scalars(
                select(HistoryThread)
                .join(Request, Request.id == HistoryThread.request_id)
                .where(
                    HistoryThread.workspace_id == request.workspace_id,
                    HistoryThread.channel_id == request.channel_id,
                    HistoryThread.forgotten.is_(False),
                    HistoryThread.request_id != request.id,
                    Request.deleted.is_(False),
                    (Request.first_response_at.is_not(None)) | (Request.closed_at.is_not(None)),
                )
                .order_by(HistoryThread.last_reply_at.desc())
                .limit(SCAN_LIMIT)
            )
        ).all()
        if not threads:
            return
        threads = sorted(threads, key=lambda t: t.id)  # a reply reorders by time, not by id
        refused = await self._refused(session, request)
        ranked = self._index(request, threads).rank(request.text)
        for index, score in ranked:
            if score < threshold:
                return
            thread = threads[index]
            if thread.id in refused:
                continue
            await self._suggest(session, request, thread, score=score, now=now)
            return

    def _index(self, request: NewRequest, threads: Sequence[HistoryThread]) -> RankIndex:
        """The channel's prepared ranker: preparing costs far more than ranking, and most
        new requests arrive while the channel's answered threads are the same."""
        where = (request.workspace_id, request.channel_id)
        signature = hash(tuple((t.id, t.question) for t in threads))
        cached = self._indexes.get(where)
        if cached is not None and cached[0] == signature:
            return cached[1]
        index = self.ranker.index([t.question for t in threads])
        self._indexes[where] = (signature, index)
        return index

    async def _refused(self, session: AsyncSession, request: NewRequest) -> set[int]:
        """Threads people marked "not related" to this question, or to one just like it."""
        verdicts = await session.execute(
            select(Suggestion.thread_id, Suggestion.question).where(
                Suggestion.workspace_id == request.workspace_id,
                Suggestion.channel_id == request.channel_id,
                Suggestion.verdict == "not_related",
            )
        )
        return {
            thread_id
            for thread_id, question in verdicts
            if similarity(question, request.text) >= SAME_QUESTION
        }

    async def _suggest(
        self,
        session: AsyncSession,
        request: NewRequest,
        thread: HistoryThread,
        *,
        score: float,
        now: datetime,
    ) -> None:
        suggestion = Suggestion(
            request_id=request.id,
            thread_id=thread.id,
            workspace_id=request.workspace_id,
            channel_id=request.channel_id,
            requester=request.requester,
            question=request.text,
            score=score,
            created_at=now,
        )
        session.add(suggestion)
        await session.flush()
        say(
            session,
            workspace_id=request.workspace_id,
            destination=request.channel_id,
            op="post",
            at=now,
            thread_ts=request.ts,
            key=f"history:{suggestion.id}",
            content=messages.suggestion(
                suggestion_id=suggestion.id,
                channel_id=thread.channel_id,
                ts=thread.ts,
                question=thread.question,
                answered_by=thread.answered_by,
                answer=thread.answer,
            ),
        )

    # -- buttons ---------------------------------------------------------------------------

    async def press(self, *, action_id: str, value: str, user: str, workspace_id: str) -> Pressed:
        """Helpful or Not related on a suggestion; the answer goes to the presser alone."""
        ident = button_id(value)
        now = self._clock.now()
        async with self._db.transaction() as session:
            suggestion = (
                await session.get(Suggestion, ident, with_for_update=True)
                if ident is not None
                else None
            )
            if suggestion is None or suggestion.workspace_id != workspace_id:
                return Pressed(messages.gone())
            if suggestion.verdict is not None and suggestion.verdict_by:
                return Pressed(messages.already(suggestion.verdict, suggestion.verdict_by))
            suggestion.verdict_by, suggestion.verdict_at = user, now
            if action_id == messages.UNRELATED:
                suggestion.verdict = "not_related"
                return Pressed(messages.marked_unrelated())
            suggestion.verdict = "helpful"
            if user != suggestion.requester:
                return Pressed(messages.marked_helpful(closed=False))
            closed = await self._close(session, suggestion, user=user, now=now)
            return Pressed(messages.marked_helpful(closed=closed), closed=closed)

    async def _close(
        self, session: AsyncSession, suggestion: Suggestion, *, user: str, now: datetime
    ) -> bool:
        """The requester found their answer: that is the first response, and the close."""
        request = await session.get(Request, suggestion.request_id, with_for_update=True)
        if request is None or request.deleted or request.closed_at is not None:
            return False
        watch = await self._channels.load(session, request.workspace_id, request.channel_id)
        if watch is None:
            return False
        at = max(now, request.posted_at)
        elapsed = watch.hours.elapsed(request.posted_at, at)
        if request.first_response_at is None:
            request.first_response_at = at
            request.first_responder = user
            request.first_response_via = "history"
            request.first_response_seconds = elapsed
        request.closed_at, request.closed_by, request.close_seconds = at, user, elapsed
        await escalation.on_settled(session, request=request, now=now, reason="closed")
        return True

    # -- commands --------------------------------------------------------------------------

    async def configure(
        self, *, workspace_id: str, channel_id: str, enabled: bool, threshold: float | None
    ) -> Content:
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(SuggestionSettings).where(
                    SuggestionSettings.workspace_id == workspace_id,
                    SuggestionSettings.channel_id == channel_id,
                )
            )
            if row is None:
                row = SuggestionSettings(
                    workspace_id=workspace_id,
                    channel_id=channel_id,
                    threshold=self.ranker.default_threshold,
                )
                session.add(row)
            row.enabled = enabled
            if threshold is not None:
                row.threshold = threshold
            row.updated_at = self._clock.now()
            value = row.threshold
            threads = await session.scalar(
                select(func.count())
                .select_from(HistoryThread)
                .where(
                    HistoryThread.workspace_id == workspace_id,
                    HistoryThread.channel_id == channel_id,
                    HistoryThread.forgotten.is_(False),
                )
            )
        self._switches.switched(workspace_id, channel_id, value if enabled else None)
        return messages.switched(
            channel_id=channel_id, enabled=enabled, threshold=value, threads=int(threads or 0)
        )

    async def forget(self, *, workspace_id: str, channel_id: str, link: str) -> Content:
        ts = _linked_ts(link, channel_id=channel_id)
        async with self._db.transaction() as session:
            thread = await session.scalar(
                select(HistoryThread).where(
                    HistoryThread.workspace_id == workspace_id,
                    HistoryThread.channel_id == channel_id,
                    HistoryThread.ts == ts,
                )
            )
            if thread is None or thread.forgotten:
                raise UsageError(
                    "Firstline keeps no answered request at that link in this channel "
                    "(or it was forgotten already). Copy the link of the request itself, "
                    "the first message of the thread."
                )
            replies = await session.scalars(
                select(HistoryReply).where(HistoryReply.thread_id == thread.id)
            )
            for reply in replies.all():
                await session.delete(reply)
            thread.forgotten = True
            thread.question = thread.answer = ""
        return messages.forgotten(channel_id=channel_id, ts=ts)


def _linked_ts(link: str, *, channel_id: str) -> str:
    """The message id a link (or a bare ts) names; it must be in this channel."""
    text = link.strip().strip("<>").split("|", 1)[0]
    if _TS.match(text):
        return text
    found = _SLACK_LINK.search(text)
    if found is None:
        raise UsageError(f'"{link}" is not a message link. Use: {FORGET_FORM}')
    linked_channel, seconds, micros = found.groups()
    if linked_channel != channel_id:
        raise UsageError(
            f"That link is to a message in <#{linked_channel}>: a channel's history is only "
            "kept and forgotten in that channel. Run the command there."
        )
    return f"{seconds}.{micros}"


async def history_line(
    db: Database, *, workspace_id: str, channel_id: str, since: datetime, until: datetime | None
) -> str | None:
    """What the stats say of suggestions in a period, or None when there were none."""
    query = (
        select(Suggestion.verdict, func.count())
        .where(
            Suggestion.workspace_id == workspace_id,
            Suggestion.channel_id == channel_id,
            Suggestion.created_at >= since,
        )
        .group_by(Suggestion.verdict)
    )
    if until is not None:
        query = query.where(Suggestion.created_at < until)
    async with db.reading() as session:
        counts = {verdict: int(n) for verdict, n in await session.execute(query)}
    total = sum(counts.values())
    if not total:
        return None
    return messages.stats_line(
        suggested=total,
        helpful=counts.get("helpful", 0),
        unrelated=counts.get("not_related", 0),
    )
