"""Triage: set a request's category (the "Triage" message shortcut), post its reply
template in the thread, keep each channel's templates, and count requests by category.

    reply = await triage.set_category(workspace_id="T1", channel_id="C1", ts=ts,
                                      category="documented", user="U1")
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import ChangeFeed
from bot.clock import Clock
from bot.content import Content
from bot.errors import UsageError
from bot.outgoing import say
from bot.stats import Figures
from bot.triage.categories import CATEGORIES, DEFAULT_TEMPLATES, fill, parse_category
from storage.engine import Database
from storage.models import ReplyTemplate, Request, RequestCategory, RequestMessage

UNTRIAGED = "untriaged"


class Triage:
    def __init__(self, *, db: Database, clock: Clock, changes: ChangeFeed) -> None:
        self._db = db
        self._clock = clock
        self._changes = changes

    async def find(self, *, workspace_id: str, channel_id: str, ts: str) -> Request | None:
        """The request a message is, or belongs to (a reply in its thread, an alert repeat)."""
        async with self._db.reading() as session:
            return await request_at(session, workspace_id, channel_id, ts)

    async def current(self, request_id: int) -> str | None:
        async with self._db.reading() as session:
            return await session.scalar(
                select(RequestCategory.category).where(RequestCategory.request_id == request_id)
            )

    async def set_category(
        self, *, workspace_id: str, channel_id: str, ts: str, category: str, user: str
    ) -> Content:
        category = parse_category(category)
        now = self._clock.now()
        async with self._db.transaction() as session:
            request = await request_at(session, workspace_id, channel_id, ts)
            if request is None or request.deleted:
                raise UsageError(
                    "That message is not a request Firstline tracks: triage the request itself "
                    "(the first message of the thread) in a watched channel."
                )
            row = await session.scalar(
                select(RequestCategory)
                .where(RequestCategory.request_id == request.id)
                .with_for_update()
            )
            if row is not None and row.category == category:
                return Content(text=f"Already triaged as *{CATEGORIES[category]}*.")
            if row is None:
                row = RequestCategory(request_id=request.id, category=category, set_by=user)
                session.add(row)
            row.category, row.set_by, row.set_at = category, user, now
            template = await self._template(session, workspace_id, channel_id, category)
            posted = bool(template.strip())
            if posted:
                say(
                    session,
                    workspace_id=workspace_id,
                    destination=request.channel_id,
                    op="post",
                    at=now,
                    thread_ts=request.ts,
                    content=Content(text=fill(template, requester=request.requester)),
                )
        self._changes.committed(session)
        said = " and posted its reply in the thread" if posted else ""
        return Content(text=f"Triaged as *{CATEGORIES[category]}*{said}.")

    async def _template(
        self, session: AsyncSession, workspace_id: str, channel_id: str, category: str
    ) -> str:
        own = await session.scalar(
            select(ReplyTemplate.text).where(
                ReplyTemplate.workspace_id == workspace_id,
                ReplyTemplate.channel_id == channel_id,
                ReplyTemplate.category == category,
            )
        )
        return DEFAULT_TEMPLATES[category] if own is None else own

    async def set_template(
        self, *, workspace_id: str, channel_id: str, category: str, text: str | None, user: str
    ) -> Content:
        """``text`` None restores the handbook default; "" posts nothing for the category."""
        category = parse_category(category)
        async with self._db.transaction() as session:
            row = await session.scalar(
                select(ReplyTemplate).where(
                    ReplyTemplate.workspace_id == workspace_id,
                    ReplyTemplate.channel_id == channel_id,
                    ReplyTemplate.category == category,
                )
            )
            if text is None:
                if row is not None:
                    await session.delete(row)
            else:
                if row is None:
                    row = ReplyTemplate(
                        workspace_id=workspace_id, channel_id=channel_id, category=category
                    )
                    session.add(row)
                row.text, row.updated_by, row.updated_at = text, user, self._clock.now()
        label = CATEGORIES[category]
        if text is None:
            return Content(text=f"*{label}* uses the default reply again.")
        if not text:
            return Content(text=f"*{label}*: triage posts nothing in the thread now.")
        return Content(text=f"*{label}* reply set: “{text}”")

    async def templates(self, *, workspace_id: str, channel_id: str) -> Content:
        async with self._db.reading() as session:
            lines = ["*Triage replies in this channel* ({requester} mentions the requester)"]
            for category, label in CATEGORIES.items():
                text = await self._template(session, workspace_id, channel_id, category)
                lines.append(f"• *{label}* (`{category}`): {text or '— nothing is posted'}")
        lines.append('Change one with /support template documented "See https://docs…"')
        return Content(text="\n".join(lines))


async def request_at(
    session: AsyncSession, workspace_id: str, channel_id: str, ts: str
) -> Request | None:
    """The request the message at ``ts`` is, or belongs to (an alert's repeat), in that
    workspace; deleted ones too (the caller says what to do with those)."""
    request = await session.scalar(
        select(Request).where(
            Request.workspace_id == workspace_id,
            Request.channel_id == channel_id,
            Request.ts == ts,
        )
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
    )


async def figures_by_category(
    db: Database,
    *,
    now: datetime,
    workspace_id: str | None = None,
    channel_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Figures]:
    """First-response figures per category (untriaged requests under "untriaged"), for
    requests posted in [since, until), counted by the rules of ``bot.stats``."""
    query = (
        select(
            RequestCategory.category,
            Request.target_seconds,
            Request.deadline_at,
            Request.first_response_seconds,
            Request.closed_at,
            Request.close_seconds,
        )
        .select_from(Request)
        .outerjoin(RequestCategory, RequestCategory.request_id == Request.id)
        .where(Request.deleted.is_(False), Request.kind == "requests")
    )
    if workspace_id:
        query = query.where(Request.workspace_id == workspace_id)
    if channel_id:
        query = query.where(Request.channel_id == channel_id)
    if since:
        query = query.where(Request.posted_at >= since)
    if until:
        query = query.where(Request.posted_at < until)
    result: dict[str, Figures] = {}
    async with db.reading() as session:
        for row in await session.execute(query):
            result.setdefault(row.category or UNTRIAGED, Figures()).add(row, now)
    order = [*CATEGORIES, UNTRIAGED]
    return {key: result[key] for key in order if key in result}


def category_lines(figures: dict[str, Figures]) -> str:
    """One line for `/support stats`: how many requests of each category."""
    if not figures:
        return ""
    parts = [
        f"{CATEGORIES.get(key, 'Untriaged')} {value.requests}" for key, value in figures.items()
    ]
    return "By category: " + " · ".join(parts)
