"""Saying something: one outbox row written in the caller's transaction.

    say(session, workspace_id="T1", destination="C1", op="post", at=now, content=Content("hi"))

Every service writes what it says through here, so the payload shape is the same for all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from storage import outbox


def say(
    session: AsyncSession,
    *,
    workspace_id: str,
    destination: str,
    op: str,
    at: datetime,
    content: Content | None = None,
    payload: dict[str, Any] | None = None,
    key: str | None = None,
    ref_key: str | None = None,
    thread_ts: str | None = None,
) -> None:
    """Queue ``op`` (post, update, dm, ephemeral, topic, …) for ``destination``."""
    outbox.enqueue(
        session,
        workspace_id=workspace_id,
        destination=destination,
        op=op,
        payload={**(content.to_payload() if content else {}), **(payload or {})},
        at=at,
        thread_ts=thread_ts,
        key=key,
        ref_key=ref_key,
    )
