"""The next-response ladder: the first response's warning and breach, for a follow-up.

A requester follow-up with a next-response target gets two timers, subject
"next:<request id>:<follow-up instant in µs>": at 60% of the target a DM to the
responders, at the target one message in the request's thread mentioning them. A timer
of an earlier follow-up (answered since) finds another instant on the request and does
nothing; neither step is sent once the follow-up is answered or the request closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import Channels, Watch
from bot.content import Content, message_ref
from bot.durations import format_duration
from bot.outgoing import say
from storage import timers
from storage.models import Request, Timer

KIND = "next"
STEPS = (("nudge", 0.6), ("breach", 1.0))


def subject(request: Request, asked_at: datetime) -> str:
    return f"{KIND}:{request.id}:{round(asked_at.timestamp() * 1_000_000)}"


async def schedule(
    session: AsyncSession, watch: Watch, request: Request, *, target: int, now: datetime
) -> None:
    """A follow-up started the next-response clock; imported history is never escalated."""
    asked = request.next_asked_at
    if asked is None or request.imported:
        return
    steps = [(step, watch.hours.add(asked, target * fraction)) for step, fraction in STEPS]
    await timers.schedule_steps(
        session,
        workspace_id=request.workspace_id,
        subject=subject(request, asked),
        steps=[(step, due) for step, due in steps if due > now],
    )


async def cancel(session: AsyncSession, request: Request, *, now: datetime, reason: str) -> None:
    if request.next_asked_at is not None:
        await timers.cancel(
            session, subject=subject(request, request.next_asked_at), at=now, outcome=reason
        )


class NextResponseLadder:
    """Fires "next:…" timers (registered with the timer sweep by the core)."""

    def __init__(self, *, channels: Channels) -> None:
        self._channels = channels

    async def fire_timer(self, session: AsyncSession, timer: Timer, now: datetime) -> str:
        _, ident, stamp = [*timer.subject.split(":"), "", ""][:3]
        request = (
            await session.get(Request, int(ident), with_for_update=True)
            if ident.isdigit()
            else None
        )
        if request is None or request.deleted:
            return "withdrawn"
        asked = request.next_asked_at
        if (
            asked is None
            or request.closed_at is not None
            or subject(request, asked) != (f"{KIND}:{ident}:{stamp}")
        ):
            return "answered"
        watch = await self._channels.load(session, request.workspace_id, request.channel_id)
        if watch is None:
            return "unwatched"
        target = watch.settings.next_target_seconds or round(
            watch.hours.elapsed(asked, request.next_due_at or asked)
        )
        waited = watch.hours.elapsed(asked, now)
        link = message_ref(request.channel_id, request.ts, "open it")
        if timer.step == "nudge":
            if not watch.responders:
                return "no_responders"
            text = (
                f"⏳ A follow-up in <#{request.channel_id}> has waited {format_duration(waited)} "
                f"for the next response (target {format_duration(target)}): {link}"
            )
            for user in watch.responders:
                say(
                    session,
                    workspace_id=request.workspace_id,
                    destination=user,
                    op="dm",
                    at=now,
                    content=Content(text=text),
                    key=f"next_nudge:{request.id}:{stamp}:{user}",
                )
            return "sent"
        if timer.step == "breach":
            mentions = [f"<@{u}>" for u in watch.responders]
            if not mentions and watch.settings.escalate:
                mentions = [watch.settings.escalate]
            who = " ".join(mentions) if mentions else "Nobody is set to respond here"
            text = (
                f"🚨 <@{request.requester}>'s follow-up has had no response for "
                f"{format_duration(target)} (the next-response target). {who}: can you take it?"
            )
            say(
                session,
                workspace_id=request.workspace_id,
                destination=request.channel_id,
                op="post",
                at=now,
                content=Content(text=text),
                key=f"next_breach:{request.id}:{stamp}",
                thread_ts=request.ts,
            )
            return "sent"
        return "unknown_step"
