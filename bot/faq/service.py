"""Common requests: a per-channel list of questions and answers, matched against new ones.

    faq.attach(desk)   # every new request in an opted-in channel is compared with the list

When a new request resembles an entry (similarity at or above the channel's threshold)
Firstline replies in its thread with the entry's answer, through the outbox, and counts
the recurrence. When it matches none, and two other unmatched requests of the last 30
days resemble it, the pair on support (or the channel, without a rota) is asked once to
add an entry for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import ChangeFeed
from bot.channels import Watch
from bot.clock import Clock
from bot.content import Content, message_ref
from bot.desk import Desk, NewRequest
from bot.errors import UsageError
from bot.matching import DEFAULT_THRESHOLD, similarity
from bot.outgoing import say
from bot.switches import ChannelSwitches
from storage.engine import Database
from storage.models import FaqEntry, FaqMatch, FaqSettings, Request, RotaTeam, SupportWeek

RECURRING_WINDOW = timedelta(days=30)
RECURRING_COUNT = 3  # this request and two earlier ones
SCAN_LIMIT = 500
LIST_LIMIT = 30


class Faq:
    def __init__(self, *, db: Database, clock: Clock, changes: ChangeFeed) -> None:
        self._db = db
        self._clock = clock
        self._changes = changes
        self._switches = ChannelSwitches(clock=clock, table=FaqSettings)

    def attach(self, desk: Desk) -> None:
        desk.on_opened.append(self.on_request)

    # -- matching -------------------------------------------------------------------------

    async def on_request(
        self, session: AsyncSession, request: NewRequest, watch: Watch, now: datetime
    ) -> None:
        threshold = await self._switches.threshold(
            session, request.workspace_id, request.channel_id
        )
        if threshold is None:
            return
        entries = (
            await session.scalars(
                select(FaqEntry).where(
                    FaqEntry.workspace_id == request.workspace_id,
                    FaqEntry.channel_id == request.channel_id,
                    FaqEntry.removed.is_(False),
                )
            )
        ).all()
        scored = sorted(
            ((similarity(request.text, e.question), e) for e in entries),
            key=lambda pair: (-pair[0], pair[1].number),
        )
        match = FaqMatch(
            request_id=request.id,
            workspace_id=request.workspace_id,
            channel_id=request.channel_id,
            posted_at=request.posted_at,
            prompted=False,
        )
        session.add(match)
        if scored and scored[0][0] >= threshold:
            score, entry = scored[0]
            match.entry_id, match.score = entry.id, round(score, 1)
            entry.hits += 1
            entry.last_hit_at = request.posted_at
            say(
                session,
                workspace_id=request.workspace_id,
                destination=request.channel_id,
                op="post",
                at=now,
                thread_ts=request.ts,
                content=Content(
                    text=f"💡 This looks like a common request (FAQ #{entry.number}, "
                    f"“{_snippet(entry.question)}”):\n{entry.answer}",
                    context="Suggested by Firstline from the channel's list of common requests "
                    "(/support faq list). Not it? Someone from support will answer here.",
                ),
            )
            return
        await self._maybe_prompt(session, request, match, threshold, now)

    def forget_settings(self, _channel: object = None) -> None:
        """Another process changed some channel's settings: read the switches afresh."""
        self._switches.forget()

    async def _maybe_prompt(
        self,
        session: AsyncSession,
        request: NewRequest,
        match: FaqMatch,
        threshold: float,
        now: datetime,
    ) -> None:
        earlier = (
            await session.execute(
                select(FaqMatch, Request)
                .join(Request, Request.id == FaqMatch.request_id)
                .where(
                    FaqMatch.workspace_id == request.workspace_id,
                    FaqMatch.channel_id == request.channel_id,
                    FaqMatch.entry_id.is_(None),
                    FaqMatch.posted_at >= request.posted_at - RECURRING_WINDOW,
                    FaqMatch.request_id != request.id,
                    Request.deleted.is_(False),
                )
                .order_by(FaqMatch.posted_at.desc())
                .limit(SCAN_LIMIT)
            )
        ).all()
        similar = [(m, r) for m, r in earlier if similarity(request.text, r.text) >= threshold]
        if len(similar) + 1 < RECURRING_COUNT:
            return
        already = any(m.prompted for m, _ in similar)
        match.prompted = True
        for m, _ in similar:
            m.prompted = True
        if already:
            return  # the pair was asked about this one already: once is enough
        moments = sorted(
            [(request.posted_at, request.ts), *((r.posted_at, r.ts) for _, r in similar)]
        )
        refs = ", ".join(
            message_ref(request.channel_id, ts, at.strftime("%d %b")) for at, ts in moments[-5:]
        )
        content = Content(
            text=(
                f"🔁 {len(moments)} similar requests in <#{request.channel_id}> within 30 days "
                f"match no common request ({refs}): “{_snippet(request.text)}”. Add it so "
                'Firstline can answer next time: /support faq add "question" "answer"'
            )
        )
        pair = await _pair(session, request.workspace_id, request.channel_id, now)
        for user in pair:
            say(
                session,
                workspace_id=request.workspace_id,
                destination=user,
                op="dm",
                at=now,
                content=content,
            )
        if not pair:
            say(
                session,
                workspace_id=request.workspace_id,
                destination=request.channel_id,
                op="post",
                at=now,
                content=content,
            )

    # -- commands -------------------------------------------------------------------------

    async def add(
        self, *, workspace_id: str, channel_id: str, question: str, answer: str, user: str
    ) -> Content:
        question, answer = question.strip(), answer.strip()
        if not question or not answer:
            raise UsageError(
                'Give the question and the answer, each in quotes: /support faq add "How do I '
                'reset a password?" "Settings → Users → Reset password."'
            )
        async with self._db.transaction() as session:
            highest = await session.scalar(
                select(func.max(FaqEntry.number)).where(
                    FaqEntry.workspace_id == workspace_id, FaqEntry.channel_id == channel_id
                )
            )
            entry = FaqEntry(
                workspace_id=workspace_id,
                channel_id=channel_id,
                number=(highest or 0) + 1,
                question=question,
                answer=answer,
                created_by=user,
                created_at=self._clock.now(),
                hits=0,
                removed=False,
            )
            session.add(entry)
            settings = await _settings(session, workspace_id, channel_id)
        hint = (
            ""
            if settings is not None and settings.enabled
            else " Suggestions are off in this channel: an admin turns them on with "
            "/support faq on."
        )
        return Content(text=f"Added common request #{entry.number}: “{question}”.{hint}")

    async def remove(self, *, workspace_id: str, channel_id: str, number: int) -> Content:
        async with self._db.transaction() as session:
            entry = await session.scalar(
                select(FaqEntry).where(
                    FaqEntry.workspace_id == workspace_id,
                    FaqEntry.channel_id == channel_id,
                    FaqEntry.number == number,
                    FaqEntry.removed.is_(False),
                )
            )
            if entry is None:
                raise UsageError(
                    f"There is no common request #{number} here. See the numbers with "
                    "/support faq list."
                )
            entry.removed = True
            question = entry.question
        return Content(text=f"Removed common request #{number}: “{question}”.")

    async def list(self, *, workspace_id: str, channel_id: str) -> Content:
        async with self._db.reading() as session:
            entries = (
                await session.scalars(
                    select(FaqEntry)
                    .where(
                        FaqEntry.workspace_id == workspace_id,
                        FaqEntry.channel_id == channel_id,
                        FaqEntry.removed.is_(False),
                    )
                    .order_by(FaqEntry.number)
                )
            ).all()
            settings = await _settings(session, workspace_id, channel_id)
        state = (
            f"suggestions on, threshold {settings.threshold}"
            if settings is not None and settings.enabled
            else "suggestions off (/support faq on)"
        )
        if not entries:
            return Content(
                text=f"No common requests in <#{channel_id}> yet ({state}). Add one: "
                '/support faq add "question" "answer"'
            )
        lines = [f"*Common requests in <#{channel_id}>* ({state})"]
        for e in entries[:LIST_LIMIT]:
            seen = f", seen {e.hits}×" if e.hits else ""
            lines.append(f"{e.number}. “{_snippet(e.question)}” → {_snippet(e.answer)}{seen}")
        if len(entries) > LIST_LIMIT:
            lines.append(f"…and {len(entries) - LIST_LIMIT} more.")
        return Content(text="\n".join(lines))

    async def configure(
        self, *, workspace_id: str, channel_id: str, enabled: bool, threshold: int | None
    ) -> Content:
        async with self._db.transaction() as session:
            row = await _settings(session, workspace_id, channel_id)
            if row is None:
                row = FaqSettings(
                    workspace_id=workspace_id,
                    channel_id=channel_id,
                    threshold=DEFAULT_THRESHOLD,
                )
                session.add(row)
            row.enabled = enabled
            if threshold is not None:
                row.threshold = threshold
            row.updated_at = self._clock.now()
            value = row.threshold
        self._switches.switched(workspace_id, channel_id, value if enabled else None)
        if not enabled:
            return Content(text=f"Suggested answers are off in <#{channel_id}>.")
        return Content(
            text=f"Suggested answers are on in <#{channel_id}>: a new request at least {value}% "
            "similar to a common request gets its answer in the thread."
        )


async def _settings(
    session: AsyncSession, workspace_id: str, channel_id: str
) -> FaqSettings | None:
    return await session.scalar(
        select(FaqSettings).where(
            FaqSettings.workspace_id == workspace_id, FaqSettings.channel_id == channel_id
        )
    )


async def _pair(
    session: AsyncSession, workspace_id: str, channel_id: str, now: datetime
) -> list[str]:
    """Who is on support for this channel now: the current week's pair of its rota."""
    week = await session.scalar(
        select(SupportWeek)
        .join(RotaTeam, RotaTeam.id == SupportWeek.team_id)
        .where(
            RotaTeam.workspace_id == workspace_id,
            RotaTeam.channel_id == channel_id,
            SupportWeek.starts_at <= now,
            SupportWeek.ends_at > now,
        )
    )
    return [u for u in dict.fromkeys((week.first, week.second)) if u] if week else []


def _snippet(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
