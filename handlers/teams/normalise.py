"""Teams activities as neutral facts, commands and button presses.

    seen = normalise(activity_json, bot_name="Firstline")
    if isinstance(seen.what, Posted): await core.route(seen.what, event_key=seen.key)

Mapping: a top-level channel post opens a request; a post in its reply chain
(conversation id "19:…;messageid=<root>") is a thread reply; ``mention`` entities are
mentions; the activity's own timestamp is the post time; ``messageUpdate`` /
``messageDelete`` map like Slack's edits and deletions; ``messageReaction`` maps like a
Slack reaction (Teams ids such as ``1f440_eyes`` become Slack's names, ``eyes``). A
message that starts with the bot's mention is a command, never a request. Works on the
activity's JSON, so it is testable without the SDK.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.facts import Deleted, Edited, Posted, Reacted
from handlers.teams.directory import Conversation, Person, neutral_id

_AT = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>|</div>", re.IGNORECASE)
_MESSAGE_ID = re.compile(r";messageid=(\d+)$")
# Teams reaction ids ("1f440_eyes", "like", "2705_whiteheavycheckmark-tone2") → Slack names.
REACTIONS = {
    "1f440_eyes": "eyes",
    "2705_whiteheavycheckmark": "white_check_mark",
    "2714_heavycheckmark": "heavy_check_mark",
    "like": "+1",
    "heart": "heart",
    "1f525_fire": "fire",
    "1f3ab_ticket": "ticket",
}
_REACTION_ID = re.compile(r"^(?:[0-9a-f]{4,5}_)?([a-z0-9]+)(?:-tone\d)?$")


@dataclass(frozen=True)
class Seen:
    """What one activity means. ``what`` is a fact, a ``CommandText``, a ``Press`` or None."""

    workspace_id: str
    key: str | None
    what: Posted | Edited | Deleted | Reacted | CommandText | Press | None
    conversation: Conversation | None = None
    people: tuple[Person, ...] = field(default_factory=tuple)
    tenant_id: str = ""
    team_name: str = ""


@dataclass(frozen=True)
class CommandText:
    """``@Firstline support …``: the verb group (support, rota, incident) and its text."""

    workspace_id: str
    channel_id: str
    user: str
    group: str
    text: str
    personal: bool


@dataclass(frozen=True)
class Press:
    """An Adaptive Card ``Action.Submit``: the same action id and value a Slack button has."""

    workspace_id: str
    channel_id: str
    user: str
    action_id: str
    value: str
    invoke: bool


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def plain_text(text: str) -> str:
    """Teams HTML as plain text: line breaks kept, tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", text))).strip()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def normalise(
    activity: dict[str, Any],
    *,
    commands: tuple[str, ...],
    thread_channel: Callable[[str], str | None] | None = None,
) -> Seen:
    """One activity (as Teams sends it, JSON) → what it means for Firstline.

    ``thread_channel`` names reply chains Firstline uses as channels (an incident's
    thread): posts there are top-level posts of that neutral channel.
    """
    channel_data = _dict(activity.get("channelData"))
    conversation = _dict(activity.get("conversation"))
    tenant = _str(_dict(channel_data.get("tenant")).get("id")) or _str(conversation.get("tenantId"))
    if not tenant:
        return Seen(workspace_id="", key=None, what=None)  # not from Teams: nothing to do
    workspace_id = neutral_id("T", tenant)
    bot = _dict(activity.get("recipient"))
    bot_id = _str(bot.get("id"))
    sender = _dict(activity.get("from"))
    sender_teams_id = _str(sender.get("id"))
    people: list[Person] = []
    user = ""
    other_bot = ""  # another app or a webhook (Bugsnag and friends posting alerts)
    if sender_teams_id.startswith("28:") and sender_teams_id != bot_id:
        other_bot = neutral_id("B", sender_teams_id)
    elif sender_teams_id and sender_teams_id != bot_id:
        user = neutral_id("W", sender_teams_id)
        people.append(
            Person(
                workspace_id,
                user,
                sender_teams_id,
                _str(sender.get("name")),
                _str(sender.get("aadObjectId")) or None,
            )
        )
    conversation_id = _str(conversation.get("id"))
    channel_teams_id = _str(_dict(channel_data.get("channel")).get("id"))
    base_id = conversation_id.split(";", 1)[0]
    root = _MESSAGE_ID.search(conversation_id)
    personal = _str(conversation.get("conversationType")) == "personal" or (
        not channel_teams_id and not conversation.get("isGroup")
    )
    team = _dict(channel_data.get("team"))
    service_url = _str(activity.get("serviceUrl"))
    if personal:
        ref = Conversation(
            workspace_id=workspace_id,
            channel_id=neutral_id("D", sender_teams_id) if user else neutral_id("D", base_id),
            kind="personal",
            conversation_id=conversation_id,
            tenant_id=tenant,
            service_url=service_url,
            bot_id=bot_id,
        )
    else:
        ref = Conversation(
            workspace_id=workspace_id,
            channel_id=neutral_id("C", channel_teams_id or base_id),
            kind="channel",
            conversation_id=channel_teams_id or base_id,
            tenant_id=tenant,
            service_url=service_url,
            team_id=_str(team.get("id")) or None,
            name=_str(_dict(channel_data.get("channel")).get("name")),
            bot_id=bot_id,
        )
    as_channel = thread_channel(conversation_id) if thread_channel and root else None
    if as_channel is not None:
        ref = Conversation(
            workspace_id=workspace_id,
            channel_id=as_channel,
            kind="thread",
            conversation_id=conversation_id,
            tenant_id=tenant,
            service_url=service_url,
            team_id=_str(team.get("id")) or None,
            bot_id=bot_id,
        )
    base = Seen(
        workspace_id=workspace_id,
        key=None,
        what=None,
        conversation=ref if service_url else None,
        people=tuple(people),
        tenant_id=tenant,
        team_name=_str(team.get("name")),
    )
    kind = _str(activity.get("type"))
    activity_id = _str(activity.get("id"))
    key = f"teams:{kind}:{base_id}:{activity_id}" if activity_id else None
    if kind == "invoke":
        return _press(base, activity, user=user, key=key, channel=ref.channel_id)
    if kind == "messageDelete" or (
        kind == "messageUpdate" and _str(channel_data.get("eventType")) == "softDeleteMessage"
    ):
        if personal or not activity_id:
            return base
        return _replace(base, key=key, what=Deleted(workspace_id, ref.channel_id, activity_id))
    if kind == "messageReaction":
        return _reaction(base, activity, user=user, key=key, channel=ref.channel_id)
    if kind == "messageUpdate":
        if personal or not activity_id:
            return base
        text = _text(activity, workspace_id=workspace_id, bot_id=bot_id, people=people)[1]
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return _replace(
            base,
            people=tuple(people),
            key=f"{key}:{digest}",
            what=Edited(workspace_id, ref.channel_id, activity_id, text),
        )
    if kind != "message":
        return base
    if activity.get("value") is not None and isinstance(activity.get("value"), dict):
        return _press(base, activity, user=user, key=key, channel=ref.channel_id)
    if not sender_teams_id and _str(activity.get("textFormat")) and not personal:
        other_bot = "B-webhook"  # incoming webhooks post with no sender
    if not user and not other_bot:
        return base  # the bot's own message (Teams does not send them, but be sure)
    addressed, text = _text(activity, workspace_id=workspace_id, bot_id=bot_id, people=people)
    base = _replace(base, people=tuple(people))
    if (addressed or personal) and user:
        group, _, rest = text.strip().partition(" ")
        if group.lower() in commands:
            return _replace(
                base,
                key=key,
                what=CommandText(
                    workspace_id, ref.channel_id, user, group.lower(), rest.strip(), personal
                ),
            )
        return _replace(
            base,
            key=key,
            what=CommandText(workspace_id, ref.channel_id, user, "", text.strip(), personal),
        )
    at = parse_time(activity.get("timestamp")) or parse_time(activity.get("localTimestamp"))
    if at is None or not activity_id:
        return base
    thread = root.group(1) if root and as_channel is None else None
    if thread is None and as_channel is None and not personal:
        thread = _str(activity.get("replyToId")) or None  # a client that left the suffix off
    if thread == activity_id:
        thread = None
    return _replace(
        base,
        key=key,
        what=Posted(
            workspace_id=workspace_id,
            channel_id=ref.channel_id,
            ts=activity_id,
            at=at,
            user=user or None,
            text=text or _card_text(activity),
            thread_ts=thread,
            bot_id=other_bot or None,
            mentions=tuple(
                dict.fromkeys(p.user_id for p in people if p.user_id != user and p.user_id)
            ),
        ),
    )


def _text(
    activity: dict[str, Any], *, workspace_id: str, bot_id: str, people: list[Person]
) -> tuple[bool, str]:
    """(starts with the bot's mention, the text with mentions as ``<@W…>``)."""
    text = _str(activity.get("text"))
    addressed = False
    names: dict[str, str] = {}
    entities = activity.get("entities")
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        mentioned = _dict(entity.get("mentioned"))
        teams_id, name = _str(mentioned.get("id")), _str(mentioned.get("name"))
        shown = _str(entity.get("text")) or f"<at>{name}</at>"
        if teams_id and teams_id == bot_id:
            if plain_text(text).startswith(plain_text(shown)) or text.lstrip().startswith(shown):
                addressed = True
                names[shown] = ""  # "@Firstline support …": the command starts after it
            else:
                names[shown] = plain_text(shown)  # "is Firstline down?" keeps the name
            continue
        if not teams_id:
            continue
        user = neutral_id("W", teams_id)
        people.append(Person(workspace_id, user, teams_id, plain_text(name or shown)))
        names[shown] = f"<@{user}>"
    # Mentions become placeholders first, so dropping HTML tags cannot eat "<@W…>".
    slots: list[str] = []
    for shown, replacement in names.items():
        slots.append(replacement)
        text = text.replace(shown, f"\x00{len(slots) - 1}\x00")
    # Any <at> left over (an entity Teams did not list) is just the name.
    text = _AT.sub(lambda m: m.group(1), text)
    text = plain_text(text) if "<" in text or "&" in text else text.strip()
    text = re.sub("\x00(\\d+)\x00", lambda m: slots[int(m.group(1))], text)
    return addressed, text.strip()


def _card_text(activity: dict[str, Any]) -> str:
    """Alerts often come as cards: their title or first text stands for the message."""
    attachments = activity.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        content = _dict(_dict(attachment).get("content"))
        for key in ("title", "summary", "text"):
            if isinstance(content.get(key), str) and content[key].strip():
                return plain_text(content[key])
        body = content.get("body")
        for block in body if isinstance(body, list) else []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                return plain_text(block["text"])
    return ""


def _press(
    base: Seen, activity: dict[str, Any], *, user: str, key: str | None, channel: str
) -> Seen:
    value = _dict(activity.get("value"))
    invoke = activity.get("type") == "invoke"
    data = _dict(_dict(value.get("action")).get("data")) if invoke else value
    action_id, action_value = _str(data.get("action_id")), _str(data.get("value"))
    if not action_id or not user:
        return _replace(base, key=key)
    return _replace(
        base,
        key=key,
        what=Press(base.workspace_id, channel, user, action_id, action_value, invoke),
    )


def reaction_name(teams_id: str) -> str:
    """A Teams reaction id as the Slack emoji name the desk knows (``eyes``, ``+1``)."""
    plain = teams_id.split("-tone", 1)[0]
    if plain in REACTIONS:
        return REACTIONS[plain]
    match = _REACTION_ID.match(plain)
    return match.group(1) if match else plain


def _reaction(
    base: Seen, activity: dict[str, Any], *, user: str, key: str | None, channel: str
) -> Seen:
    """A person's reaction on a message (Teams sends them for the bot's own messages, and,
    with agent reactions, wherever it lets the bot see them)."""
    item = _str(activity.get("replyToId"))
    at = parse_time(activity.get("timestamp"))
    added = [r for r in activity.get("reactionsAdded") or [] if isinstance(r, dict)]
    removed = [r for r in activity.get("reactionsRemoved") or [] if isinstance(r, dict)]
    reaction, is_added = (
        (added[0], True) if added else (removed[0], False) if removed else ({}, True)
    )
    emoji = _str(reaction.get("type"))
    if not user or not item or at is None or not emoji:
        return _replace(base, key=key)
    return _replace(
        base,
        key=f"{key}:{emoji}:{'+' if is_added else '-'}" if key else None,
        what=Reacted(
            workspace_id=base.workspace_id,
            channel_id=channel,
            item_ts=item,
            user=user,
            emoji=reaction_name(emoji),
            at=at,
            added=is_added,
        ),
    )


def _replace(base: Seen, **changes: Any) -> Seen:
    return Seen(
        workspace_id=base.workspace_id,
        key=changes.get("key", base.key),
        what=changes.get("what", base.what),
        conversation=changes.get("conversation", base.conversation),
        people=changes.get("people", base.people),
        tenant_id=base.tenant_id,
        team_name=base.team_name,
    )
