"""The request-quality rules, applied inside the desk's transaction for one fact.

The desk calls in at a few points: before a top-level post opens a request
(``set_aside``), when a requester follows up on their request (``followed_up``), on a
thread reply or a reaction after the first response (``after_first_response``,
``reacted``), and when it builds a new request's row (``opening_values``). Everything
here is off for a channel with ``noise=off`` and no ``next``/``resolve`` targets, except
what those options name. The rules are stated in docs/measurement.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_settings import QUESTION
from bot.channels import Watch
from bot.facts import Posted, Reacted
from bot.quality import ladder
from bot.quality.noise import channel_phrases, classify
from storage.models import NextResponse, Request, SetAsidePost

_SNIPPET = 500  # set-aside posts keep enough text for a lead to judge the rule


_phrases_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, str]] = {}


def noise_kind(watch: Watch, text: str) -> str | None:
    """Why ``text`` is noise in this channel (a kind from bot.quality.noise), or None."""
    settings = watch.settings
    if not settings.noise:
        return None
    key = (settings.noise_added, settings.noise_removed)
    phrases = _phrases_cache.get(key)
    if phrases is None:
        phrases = _phrases_cache[key] = channel_phrases(
            added=settings.noise_added, removed=settings.noise_removed
        )
    return classify(text, phrases=phrases)


def opening_values(watch: Watch, at: datetime) -> dict[str, Any]:
    """Columns of a new request's row that the resolution target sets."""
    target = watch.settings.resolve_target_seconds if watch.kind == "requests" else None
    return {
        "next_asked_at": None,
        "next_due_at": None,
        "waiting_since": None,
        "waited_seconds": 0.0,
        "resolve_target_seconds": target,
        "resolve_due_at": watch.hours.add(at, target) if target is not None else None,
    }


def burst_since(watch: Watch, fact: Posted) -> datetime | None:
    """Where the burst window of ``fact`` starts, or None when bursts do not apply."""
    settings = watch.settings
    if not settings.noise or fact.user is None or settings.burst_seconds <= 0:
        return None
    return fact.at - timedelta(seconds=settings.burst_seconds)


async def set_aside(
    session: AsyncSession,
    watch: Watch,
    fact: Posted,
    *,
    now: datetime,
    requests: Sequence[Any],
) -> str | None:
    """A top-level post that would open a request: the reason it does not, or None.

    Noise is recorded and opens nothing; a post by a requester within the channel's burst
    window of their latest post in a request that is not closed joins that request.
    ``requests``: rows of the channel's requests by the poster that the desk's one lookup
    found, including those posted to since ``burst_since`` (read-only rows).
    """
    settings = watch.settings
    if not settings.noise or fact.user is None:
        return None
    kind = noise_kind(watch, fact.text)
    if kind is not None:
        return await _record(session, fact, reason=kind, request_id=None)
    since = burst_since(watch, fact)
    if since is None:
        return None
    latest = max(
        (
            r
            for r in requests
            if r.requester == fact.user
            and r.closed_at is None
            and not r.deleted
            and since <= r.last_occurrence_at <= fact.at
        ),
        key=lambda r: r.last_occurrence_at,
        default=None,
    )
    # The rare burst loads its row to change it.
    recent = (
        await session.get(Request, latest.id, with_for_update=True) if latest is not None else None
    )
    if recent is None:
        return None
    reason = await _record(session, fact, reason="burst", request_id=recent.id)
    if reason == "burst":
        await followed_up(session, watch, recent, fact, now=now)
    return reason


async def followed_up(
    session: AsyncSession, watch: Watch, request: Request, fact: Posted, *, now: datetime
) -> None:
    """The requester posted again in their request (top level, or in its thread)."""
    if watch.settings.noise and fact.thread_ts is None:
        # A burst is measured from the requester's latest top-level post in the request.
        request.last_occurrence_at = max(request.last_occurrence_at, fact.at)
    if request.closed_at is not None or noise_kind(watch, fact.text) is not None:
        return  # "thanks" is not something to answer, nor the answer the team waits for
    _stop_waiting(watch, request, at=fact.at)
    if request.first_response_at is None:
        return
    target = watch.settings.next_target_seconds
    if target is not None and request.next_asked_at is None:
        request.next_asked_at = max(fact.at, request.posted_at)
        request.next_due_at = watch.hours.add(request.next_asked_at, target)
        await ladder.schedule(session, watch, request, target=target, now=now)


async def after_first_response(
    session: AsyncSession, watch: Watch, request: Request, fact: Posted, *, now: datetime
) -> str:
    """A thread reply in a request that already has its first response."""
    if watch.kind != "requests" or request.closed_at is not None:
        return "ignored"
    if not fact.is_human or fact.user is None:
        return "ignored"
    if fact.user == request.requester:
        await followed_up(session, watch, request, fact, now=now)
        return "follow_up"
    if not watch.is_eligible(fact.user, requester=request.requester):
        return "ignored"
    answered = await _answer_next(session, watch, request, user=fact.user, at=fact.at, now=now)
    if asks_requester(watch, fact.text):
        start_waiting(request, at=fact.at)
        return "waiting"
    return "next_response" if answered else "ignored"


def first_reply(watch: Watch, request: Request, fact: Posted) -> None:
    """The first response was a thread reply: a question puts the request in waiting."""
    if watch.kind == "requests" and asks_requester(watch, fact.text):
        start_waiting(request, at=fact.at)


def asks_requester(watch: Watch, text: str) -> bool:
    return QUESTION in watch.settings.waiting and text.rstrip().endswith("?")


def start_waiting(request: Request, *, at: datetime) -> None:
    if request.waiting_since is None and request.closed_at is None:
        request.waiting_since = max(at, request.posted_at)


async def reacted(
    session: AsyncSession,
    watch: Watch,
    request: Request,
    fact: Reacted,
    *,
    outcome: str,
    now: datetime,
) -> str:
    """After the desk applied a reaction: waiting, next response and resolution."""
    if watch.kind != "requests":
        return outcome
    emoji = fact.emoji.split("::", 1)[0]
    is_waiting = emoji in watch.settings.waiting
    eligible = watch.is_eligible(fact.user, requester=request.requester)
    if outcome == "closed":
        _stop_waiting(watch, request, at=fact.at)
        if eligible:
            await _answer_next(session, watch, request, user=fact.user or "", at=fact.at, now=now)
        await ladder.cancel(session, request, now=now, reason="closed")
        request.next_asked_at = request.next_due_at = None
        return outcome
    if not fact.added:
        if is_waiting and request.waiting_since is not None and eligible:
            _stop_waiting(watch, request, at=fact.at)
            return "waiting_ended"
        return outcome
    if not eligible or request.closed_at is not None:
        return outcome
    answered = False
    if emoji in watch.settings.ack_emojis or is_waiting:
        answered = await _answer_next(
            session, watch, request, user=fact.user or "", at=fact.at, now=now
        )
    if is_waiting:
        start_waiting(request, at=fact.at)
        return "waiting"
    return "next_response" if answered and outcome == "ignored" else outcome


async def _answer_next(
    session: AsyncSession,
    watch: Watch,
    request: Request,
    *,
    user: str,
    at: datetime,
    now: datetime,
) -> bool:
    """Stop the running next-response clock, if any, and record the measurement."""
    asked = request.next_asked_at
    if asked is None:
        return False
    at = max(at, asked)
    due = request.next_due_at
    # The target when the clock started, read back from its deadline (business time).
    target = round(watch.hours.elapsed(asked, due)) if due is not None else 0
    session.add(
        NextResponse(
            request_id=request.id,
            asked_at=asked,
            answered_at=at,
            responder=user,
            seconds=watch.hours.elapsed(asked, at),
            target_seconds=target,
        )
    )
    await ladder.cancel(session, request, now=now, reason="answered")
    request.next_asked_at = request.next_due_at = None
    return True


def _stop_waiting(watch: Watch, request: Request, *, at: datetime) -> None:
    since = request.waiting_since
    if since is None:
        return
    paused = watch.hours.elapsed(since, max(at, since))
    request.waited_seconds = (request.waited_seconds or 0.0) + paused
    if request.resolve_due_at is not None:
        request.resolve_due_at = watch.hours.add(request.resolve_due_at, paused)
    request.waiting_since = None


async def _record(
    session: AsyncSession, fact: Posted, *, reason: str, request_id: int | None
) -> str:
    """Record the post as set aside; the reason already recorded if it was delivered before
    under another event id (the same message must not count twice)."""
    assert fact.user is not None
    known = await session.scalar(
        select(SetAsidePost.reason).where(
            SetAsidePost.workspace_id == fact.workspace_id,
            SetAsidePost.channel_id == fact.channel_id,
            SetAsidePost.ts == fact.ts,
        )
    )
    if known is not None:
        return "duplicate_message"
    session.add(
        SetAsidePost(
            workspace_id=fact.workspace_id,
            channel_id=fact.channel_id,
            ts=fact.ts,
            posted_at=fact.at,
            user_id=fact.user,
            reason=reason,
            request_id=request_id,
            text=fact.text[:_SNIPPET],
        )
    )
    return reason
