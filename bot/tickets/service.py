"""The ``ticket`` reaction: one ticket per request, created through the outbox.

    tickets.attach(desk)                              # listens for :ticket: on requests
    deliverer.on_delivered("ticket:", tickets.created)
    deliverer.on_attempt_failed("ticket:", tickets.attempt_failed)

The reaction writes a ``Ticket`` row and an outbox row (op ``ticket``, its own
destination so a slow ticket system never holds up chat messages) in the fact's
transaction. The deliverer calls the ticket system with retries; the hooks link the
ticket back in the request's thread, or say there why it failed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import Watch
from bot.clock import Clock
from bot.content import Content
from bot.desk import Desk
from bot.facts import Reacted
from bot.outgoing import say
from bot.tickets import template
from storage.models import OutboxMessage, Request, Ticket, Workspace

EMOJI = "ticket"
OP = "ticket"


class Tickets:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    def attach(self, desk: Desk) -> None:
        desk.on_reaction.append(self.on_reaction)

    async def on_reaction(
        self, session: AsyncSession, request: Request, watch: Watch, fact: Reacted, now: datetime
    ) -> None:
        if not fact.added or fact.emoji.split("::", 1)[0] != EMOJI:
            return
        live = await session.scalar(
            select(Ticket)
            .where(Ticket.request_id == request.id, Ticket.status != "failed")
            .with_for_update()
        )
        if live is not None:
            where = f"<{live.url}|{live.key}>" if live.url else (live.key or "on its way")
            say(
                session,
                workspace_id=request.workspace_id,
                destination=fact.channel_id,
                op="ephemeral",
                at=now,
                content=Content(text=f"This request already has a ticket ({where}); no new one."),
                payload={"user": fact.user},
            )
            return
        ticket = Ticket(
            request_id=request.id,
            workspace_id=request.workspace_id,
            channel_id=request.channel_id,
            thread_ts=request.ts,
            requested_by=fact.user,
            requested_at=now,
            status="pending",
            retry_reported=False,
        )
        session.add(ticket)
        await session.flush()
        workspace = await session.get(Workspace, request.workspace_id)
        link = _permalink(workspace.url if workspace else "", request.channel_id, request.ts)

        def describe(style: str) -> str:
            return template.description(
                original=request.text,
                link=link,
                requester=request.requester,
                channel=request.channel_id,
                posted_at=request.posted_at,
                reported_by=fact.user,
                style=style,
            )

        say(
            session,
            workspace_id=request.workspace_id,
            destination=f"ticket:{ticket.id}",
            op=OP,
            at=now,
            key=f"ticket:{ticket.id}",
            payload={
                "ticket_id": ticket.id,
                "summary": template.summary(request.text),
                "description": describe("jira"),
                "markdown": describe("markdown"),
                "request": {
                    "workspace": request.workspace_id,
                    "channel": request.channel_id,
                    "ts": request.ts,
                    "link": link,
                    "requester": request.requester,
                    "text": request.text,
                    "reported_by": fact.user,
                },
            },
        )

    async def created(self, session: AsyncSession, row: OutboxMessage) -> None:
        """The ticket system answered: record the ticket and link it in the thread."""
        ticket = await _ticket_of(session, row)
        if ticket is None:
            return
        ticket.status = "created"
        ticket.key = row.platform_channel or ""
        ticket.url = str(row.payload.get("ticket_url") or "") or None
        ticket.error = None
        shown = f"<{ticket.url}|{ticket.key}>" if ticket.url else ticket.key
        request = await session.get(Request, ticket.request_id)
        asked = f"asked by <@{request.requester}>, " if request is not None else ""
        self._say_in_thread(
            session,
            ticket,
            f"🎫 Ticket {shown} created for this request ({asked}ticket requested by "
            f"<@{ticket.requested_by}>). Follow the work there.",
        )

    async def attempt_failed(self, session: AsyncSession, row: OutboxMessage) -> None:
        """An attempt failed: say so in the thread once while retrying, and when giving up."""
        ticket = await _ticket_of(session, row)
        if ticket is None:
            return
        error = (row.last_error or "no answer")[:300]
        ticket.error = error
        if row.failed:
            ticket.status = "failed"
            self._say_in_thread(
                session,
                ticket,
                f"❌ The ticket could not be created: {error}. Fix the cause, then react with "
                ":ticket: again to retry.",
            )
        elif not ticket.retry_reported:
            ticket.retry_reported = True
            self._say_in_thread(
                session,
                ticket,
                f"⏳ The ticket is not created yet ({error}); Firstline keeps retrying.",
            )

    def _say_in_thread(self, session: AsyncSession, ticket: Ticket, text: str) -> None:
        say(
            session,
            workspace_id=ticket.workspace_id,
            destination=ticket.channel_id,
            op="post",
            at=self._clock.now(),
            thread_ts=ticket.thread_ts,
            content=Content(text=text),
        )


async def _ticket_of(session: AsyncSession, row: OutboxMessage) -> Ticket | None:
    ident = row.payload.get("ticket_id")
    return await session.get(Ticket, int(ident)) if isinstance(ident, int) else None


def _permalink(base: str, channel: str, ts: str) -> str:
    if not base:
        return ""
    return f"{base.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
