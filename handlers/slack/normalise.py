"""Slack message and reaction events as neutral facts (or None: nothing the desk needs).

    fact = normalise_message(event, workspace_id="T123")

Used by the live Bolt listeners and by ``firstline import`` alike, so history and live
traffic follow exactly the same rules. Tolerates Slack's odd shapes: a
``message_changed`` without ``previous_message``, a ``bot_message`` without text.
"""

from __future__ import annotations

import re
from typing import Any

from bot.facts import Deleted, Edited, Fact, Posted, Reacted, ts_to_datetime

POST_SUBTYPES = {None, "file_share", "thread_broadcast"}
BOT_SUBTYPES = {"bot_message"}
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_TS = re.compile(r"^\d{1,12}(\.\d{1,9})?$")


def _text(message: dict[str, Any]) -> str:
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return text
    attachments = message.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if not isinstance(attachment, dict):
            continue
        for key in ("title", "fallback", "pretext", "text"):
            value = attachment.get(key)
            if isinstance(value, str) and value.strip():
                return value
    return ""


def _valid_ts(value: Any) -> str | None:
    return value if isinstance(value, str) and _TS.match(value) else None


def normalise_message(event: dict[str, Any], *, workspace_id: str) -> Fact | None:
    channel = event.get("channel")
    if not isinstance(channel, str) or not channel:
        return None
    raw_subtype = event.get("subtype")
    subtype = raw_subtype if isinstance(raw_subtype, str) else None
    if raw_subtype is not None and subtype is None:
        return None  # a subtype that is not a string is nothing Slack sends
    if subtype == "message_changed":
        message = event.get("message")
        if not isinstance(message, dict) or not _valid_ts(message.get("ts")):
            return None
        return Edited(workspace_id, channel, message["ts"], _text(message))
    if subtype == "message_deleted":
        previous = event.get("previous_message")
        deleted = _valid_ts(event.get("deleted_ts")) or _valid_ts(
            previous.get("ts") if isinstance(previous, dict) else None
        )
        return Deleted(workspace_id, channel, deleted) if deleted else None
    ts = _valid_ts(event.get("ts"))
    if ts is None:
        return None
    thread_ts = _valid_ts(event.get("thread_ts"))
    user = event.get("user") if isinstance(event.get("user"), str) else None
    bot_id = event.get("bot_id") if isinstance(event.get("bot_id"), str) else None
    if subtype in BOT_SUBTYPES or (subtype in POST_SUBTYPES and bot_id):
        bot_id = bot_id or "B-unknown"
    elif subtype not in POST_SUBTYPES or not user:
        return None
    text = _text(event)
    return Posted(
        workspace_id=workspace_id,
        channel_id=channel,
        ts=ts,
        at=ts_to_datetime(ts),
        user=user,
        text=text,
        thread_ts=thread_ts,
        bot_id=bot_id,
        mentions=tuple(dict.fromkeys(_MENTION.findall(text))),
    )


def normalise_reaction(event: dict[str, Any], *, workspace_id: str, added: bool) -> Reacted | None:
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    channel, item_ts = item.get("channel"), _valid_ts(item.get("ts"))
    user, emoji = event.get("user"), event.get("reaction")
    at = _valid_ts(event.get("event_ts"))
    if not (
        isinstance(channel, str) and item_ts and isinstance(user, str) and isinstance(emoji, str)
    ):
        return None
    return Reacted(
        workspace_id=workspace_id,
        channel_id=channel,
        item_ts=item_ts,
        user=user,
        emoji=emoji,
        at=ts_to_datetime(at) if at else ts_to_datetime(item_ts),
        added=added,
    )
