"""The escalation ladder: nudge the responders, then the thread, then the second line.

Default ladder, as fractions of the channel's target in business time: at 60% DM the
responders; at 100% one message in the request's thread mentioning them (or the
escalation target if there are none); at 200% edit that message and bring in the
second line. Each step is a database timer that fires once, never after the first
response, and a step already past when the request arrives is not sent.

A step found overdue (Firstline was not running when it fell due) while the channel is
out of hours (a weekend, a public holiday, before opening) waits for the next opening
and fires once then; every step sent late, DMs included, says how late.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages, paging
from bot.channels import Watch
from bot.content import Content
from bot.outgoing import say
from bot.timer_sweep import DEFERRED
from storage import timers
from storage.models import Request, Timer

LADDER: tuple[tuple[str, float], ...] = (("nudge", 0.6), ("breach", 1.0), ("second_line", 2.0))
LATE_AFTER_SECONDS = 60.0


def subject(request: Request | int) -> str:
    """The timers' subject for a request (or a request id)."""
    return f"request:{request if isinstance(request, int) else request.id}"


def escalation_key(request: Request) -> str:
    return f"esc:{request.id}"


async def schedule(
    session: AsyncSession,
    *,
    request_id: int,
    workspace_id: str,
    posted_at: datetime,
    target_seconds: int,
    watch: Watch,
    now: datetime,
) -> int:
    """Create a new request's ladder timers; steps whose time has already passed are skipped."""
    steps = [
        (step, watch.hours.add(posted_at, target_seconds * fraction)) for step, fraction in LADDER
    ]
    page_at = paging.offhours_page_at(watch=watch, posted_at=posted_at, target=target_seconds)
    if page_at is not None:
        steps.append(("page", page_at))
    return await timers.schedule_steps(
        session,
        workspace_id=workspace_id,
        subject=subject(request_id),
        steps=[(step, due) for step, due in steps if due > now],
    )


async def fire(
    session: AsyncSession,
    *,
    timer: Timer,
    request: Request | None,
    watch: Watch | None,
    now: datetime,
) -> str:
    """Carry out one due step; returns the outcome recorded on the timer."""
    if request is None or request.deleted:
        return "withdrawn"
    if request.first_response_at is not None or request.closed_at is not None:
        return "answered"
    if watch is None:
        return "unwatched"
    late = (now - _first_due(timer, request=request, watch=watch)).total_seconds()
    if timer.step != "page" and late >= LATE_AFTER_SECONDS and not watch.hours.is_open(now):
        # Overdue across a restart, and out of hours now: nobody is paged at the weekend,
        # unless the channel asked for exactly that (offhours=page: the "page" step).
        timer.due_at = watch.hours.next_opening(now)
        return DEFERRED
    late_for_text = late if late >= LATE_AFTER_SECONDS else None
    on_it = f"{request.channel_id}:{request.ts}"
    mentions = [f"<@{u}>" for u in watch.responders]
    if timer.step == "page":  # out of hours, offhours=page
        paged = await paging.trigger(
            session, request=request, watch=watch, step="offhours", now=now
        )
        return "sent" if paged else "paged_already"
    if timer.step == "nudge":
        if not watch.responders:
            return "no_responders"
        waited = watch.hours.elapsed(request.posted_at, now)
        content = messages.nudge_dm(
            channel_id=request.channel_id,
            ts=request.ts,
            waited=waited,
            target=request.target_seconds,
            kind=request.kind,
            late=late_for_text,
        )
        for user in watch.responders:
            _say(
                session,
                request,
                destination=user,
                op="dm",
                content=content,
                now=now,
                key=f"nudge:{request.id}:{user}",
            )
        return "sent"
    if timer.step == "breach":
        if paging.page_step(watch.kind) == "breach":
            await paging.trigger(session, request=request, watch=watch, step="breach", now=now)
        if not mentions and watch.settings.escalate:
            mentions = [paging.shown(watch.settings.escalate)]
        content = messages.breach(
            target=request.target_seconds,
            mentions=mentions,
            kind=request.kind,
            late=late_for_text,
            on_it=on_it,
        )
        _escalation_message(session, request, content=content, now=now)
        return "sent"
    if timer.step == "second_line":
        escalate = watch.settings.escalate
        content = messages.second_line(
            target=request.target_seconds,
            mentions=mentions,
            escalate=paging.shown(escalate) if escalate else None,
            kind=request.kind,
            late=late_for_text,
            on_it=on_it,
        )
        _escalation_message(session, request, content=content, now=now)
        if paging.paging_target(escalate) is not None:
            await paging.trigger(session, request=request, watch=watch, step=timer.step, now=now)
            return "sent"
        if escalate:
            # An edit does not notify the people it mentions; the second line must hear it.
            ping = messages.second_line_ping(
                escalate=escalate,
                channel_id=request.channel_id,
                ts=request.ts,
                target=request.target_seconds,
            )
            if escalate.startswith("<@"):
                user = escalate[2:-1]
                _say(
                    session,
                    request,
                    destination=user,
                    op="dm",
                    content=ping,
                    now=now,
                    key=f"second_line:{request.id}",
                )
            else:
                _say(
                    session,
                    request,
                    destination=request.channel_id,
                    op="post",
                    content=ping,
                    now=now,
                    key=f"second_line:{request.id}",
                    thread_ts=request.ts,
                )
            return "sent"
        return "no_target"
    return "unknown_step"


def _first_due(timer: Timer, *, request: Request, watch: Watch) -> datetime:
    """When the step first fell due (a deferred timer's ``due_at`` is its new time)."""
    fraction = dict(LADDER).get(timer.step)
    if fraction is None:
        return timer.due_at
    return min(timer.due_at, watch.hours.add(request.posted_at, request.target_seconds * fraction))


async def on_settled(
    session: AsyncSession, *, request: Request, now: datetime, reason: str
) -> None:
    """The request was answered, closed or withdrawn: stop the ladder, mend its message."""
    await timers.cancel(session, subject=subject(request), at=now, outcome=reason)
    await paging.settle(session, request=request, now=now, reason=reason)
    if not request.escalation_key:
        return
    if reason == "withdrawn":
        content = messages.withdrawn()
    elif request.first_responder and request.first_response_seconds is not None:
        content = messages.answered(
            responder=request.first_responder,
            seconds=request.first_response_seconds,
            target=request.target_seconds,
            via=request.first_response_via or "reply",
        )
    else:
        return
    _say(
        session,
        request,
        destination=request.channel_id,
        op="update",
        content=content,
        now=now,
        ref_key=request.escalation_key,
    )


def _escalation_message(
    session: AsyncSession, request: Request, *, content: Content, now: datetime
) -> None:
    """The request's one escalation message: posted in its thread once, edited after that."""
    if request.escalation_key:
        _say(
            session,
            request,
            destination=request.channel_id,
            op="update",
            content=content,
            now=now,
            ref_key=request.escalation_key,
        )
        return
    key = escalation_key(request)
    _say(
        session,
        request,
        destination=request.channel_id,
        op="post",
        content=content,
        now=now,
        key=key,
        thread_ts=request.ts,
    )
    request.escalation_key = key


def _say(
    session: AsyncSession,
    request: Request,
    *,
    destination: str,
    op: str,
    content: Content,
    now: datetime,
    **what: Any,
) -> None:
    say(
        session,
        workspace_id=request.workspace_id,
        destination=destination,
        op=op,
        at=now,
        content=content,
        **what,
    )


async def on_closed(session: AsyncSession, *, request: Request, now: datetime) -> None:
    """The request was closed: no more steps, and a page about it is resolved."""
    await timers.cancel(session, subject=subject(request), at=now, outcome="closed")
    await paging.settle(session, request=request, now=now, reason="closed")
