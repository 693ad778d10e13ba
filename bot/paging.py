"""Paging the second line: when a request or alert is paged, acknowledged and resolved.

    target = paging_target("pagerduty:payments")      # PagingTarget("pagerduty", "payments")
    await trigger(session, request=request, watch=watch, step="second_line", now=now)

A channel whose ``escalate=`` names a paging target (``pagerduty:<name>`` or
``webhook:<name>``) pages it instead of mentioning someone: alerts channels at the target
itself, requests channels at twice the target, and, with ``offhours=page``, out of
hours too. The page is an outbox row (op ``page``), so it is sent after the transaction
that decided it, retried on 429 and 5xx, and taken over after a crash; its ``dedup_key``
(PagerDuty) or idempotency key (webhooks) makes a resend after a crash land once.
A first response acknowledges the page; closing or withdrawing the request resolves it.
The request's thread says "📟 Paged <name>" once when the page is accepted, or why it
could not be sent. Routing keys and URLs are the operator's (``handlers/paging.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import Watch
from bot.content import Content, Delivered
from bot.outgoing import say
from storage import outbox
from storage.models import OutboxMessage, Request, Workspace

KINDS = ("pagerduty", "webhook")
_TARGET = re.compile(r"^(pagerduty|webhook):([a-z0-9][a-z0-9_-]{0,39})$")
KEY_PREFIX = "page:"


class PagingPort(Protocol):
    """What the outbox deliverer needs from the paging services (``handlers/paging.py``);
    a failure raises ``DeliveryError`` like a chat platform's."""

    async def send(self, *, payload: dict[str, Any]) -> Delivered: ...


@dataclass(frozen=True)
class PagingTarget:
    kind: str  # "pagerduty" | "webhook"
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def paging_target(escalate: str | None) -> PagingTarget | None:
    """The paging target an ``escalate=`` value names, or None for a person or group."""
    match = _TARGET.match((escalate or "").strip().lower())
    return PagingTarget(match.group(1), match.group(2)) if match else None


def page_fraction(kind: str) -> float:
    """When a channel pages, as a fraction of its target: alerts at once (the handbooks'
    5-minute acknowledgement), requests at twice the target like the second line."""
    return 1.0 if kind == "alerts" else 2.0


def page_step(kind: str) -> str:
    """The ladder step that pages (see ``bot.escalation.LADDER``)."""
    return "breach" if kind == "alerts" else "second_line"


def shown(escalate: str) -> str:
    """How the thread names the second line: a mention, or "📟 payments" for a page."""
    target = paging_target(escalate)
    return f"📟 {target.name}" if target else escalate


def offhours_page_at(*, watch: Watch, posted_at: datetime, target: int) -> datetime | None:
    """With ``offhours=page``: when to page a request that arrives out of hours (the page
    step measured on the wall clock), or None when business hours come first."""
    if watch.settings.offhours != "page" or paging_target(watch.settings.escalate) is None:
        return None
    seconds = target * page_fraction(watch.kind)
    wall = posted_at + timedelta(seconds=seconds)
    return wall if wall < watch.hours.add(posted_at, seconds) else None


def dedup_key(request: Request) -> str:
    """One incident per request or alert, the same on every resend and every replica."""
    return f"firstline:{request.workspace_id}:{request.channel_id}:{request.ts}"


def _key(request: Request, action: str) -> str:
    return f"{KEY_PREFIX}{request.id}:{action}"


async def trigger(
    session: AsyncSession, *, request: Request, watch: Watch, step: str, now: datetime
) -> bool:
    """Page the channel's target about ``request`` once; False when it has none or it was
    paged already (another step, or an out-of-hours page)."""
    target = paging_target(watch.settings.escalate)
    if target is None:
        return False
    if await outbox.referenced(session, _key(request, "trigger")) is not None:
        return False
    # Wall-clock time: out of hours no business time passes, yet someone is being woken.
    waited = max((now - request.posted_at).total_seconds(), 0.0)
    link = await _link(session, request)
    what = "alert" if request.kind == "alerts" else "request"
    minutes = int(waited // 60)
    summary = f"No first response to a {what} in #{request.channel_id} after {minutes} min"
    payload = _payload(request, target=target, action="trigger", now=now) | {
        "summary": f"{summary}: {_snippet(request.text)}",
        "link": link,
        "step": step,
        "severity": "critical" if request.kind == "alerts" else "error",
        "waited_seconds": round(waited),
        "target_seconds": request.target_seconds,
        "request": {
            "kind": request.kind,
            "channel_id": request.channel_id,
            "ts": request.ts,
            "requester": request.requester,
            "text": request.text,
            "posted_at": request.posted_at.isoformat(),
        },
    }
    _enqueue(session, request, action="trigger", payload=payload, now=now)
    return True


async def settle(session: AsyncSession, *, request: Request, now: datetime, reason: str) -> None:
    """Someone answered (acknowledge) or the request closed or went away (resolve)."""
    triggered = await outbox.referenced(session, _key(request, "trigger"))
    if triggered is None:
        return  # never paged
    action = "acknowledge" if reason == "answered" else "resolve"
    if await outbox.referenced(session, _key(request, action)) is not None:
        return
    target = paging_target(str(triggered.payload.get("target")))
    if target is None:
        return
    payload = _payload(request, target=target, action=action, now=now) | {"reason": reason}
    _enqueue(session, request, action=action, payload=payload, now=now)


def _payload(
    request: Request, *, target: PagingTarget, action: str, now: datetime
) -> dict[str, Any]:
    return {
        "target": str(target),
        "action": action,
        "dedup_key": dedup_key(request),
        # The same on every attempt of this row, different for each action.
        "idempotency_key": f"{dedup_key(request)}:{action}",
        "request_id": request.id,
        "channel_id": request.channel_id,
        "thread_ts": request.ts,
        "at": now.isoformat(),
    }


def _enqueue(
    session: AsyncSession,
    request: Request,
    *,
    action: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    # One destination per target: its pages go out in order (trigger before resolve).
    outbox.enqueue(
        session,
        workspace_id=request.workspace_id,
        destination=str(payload["target"]),
        op="page",
        payload=payload,
        at=now,
        key=_key(request, action),
    )


async def _link(session: AsyncSession, request: Request) -> str:
    """The request's address for the person paged (Slack: the permalink's usual form)."""
    workspace = await session.get(Workspace, request.workspace_id)
    if workspace is None or not workspace.url or workspace.platform != "slack":
        return ""
    base = workspace.url.rstrip("/")
    return f"{base}/archives/{request.channel_id}/p{request.ts.replace('.', '')}"


def _snippet(text: str, limit: int = 120) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- what the thread says -----------------------------------------------------------------


async def delivered(session: AsyncSession, row: OutboxMessage) -> None:
    """The paging service accepted a trigger: say so in the request's thread, once."""
    if row.payload.get("action") != "trigger":
        return
    target = paging_target(str(row.payload.get("target")))
    name = target.name if target else str(row.payload.get("target"))
    _tell(session, row, key_suffix="said", text=f"📟 Paged {name}.")


async def attempt_failed(session: AsyncSession, row: OutboxMessage) -> None:
    """A page could not be sent: say why once, when Firstline gives up on it."""
    if not row.failed or row.payload.get("action") != "trigger":
        return
    target = paging_target(str(row.payload.get("target")))
    name = target.name if target else str(row.payload.get("target"))
    reason = (row.last_error or "no answer").removeprefix("uncertain: ")[:300]
    _tell(session, row, key_suffix="said", text=f"📟 Could not page {name}: {reason}")


def _tell(session: AsyncSession, row: OutboxMessage, *, key_suffix: str, text: str) -> None:
    say(
        session,
        workspace_id=row.workspace_id,
        destination=str(row.payload["channel_id"]),
        op="post",
        at=row.sent_at or row.next_attempt_at,
        thread_ts=str(row.payload["thread_ts"]),
        key=f"{row.key}:{key_suffix}",
        content=Content(text=text),
    )
