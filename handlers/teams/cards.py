"""Neutral ``Content`` rendered for Teams: Adaptive Cards where there are buttons or fields,
plain markdown messages otherwise, with ``<@W…>`` as real Teams mentions.

    activity = render(content, names=directory_names)

Buttons become ``Action.Submit`` carrying the same ``action_id`` and ``value`` as the
Slack button, so a press comes back as the same action (see ``normalise.Press``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.content import Content
from handlers.teams.messages import teams_wording

CARD = "application/vnd.microsoft.card.adaptive"
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)>")
_REF = re.compile(r"<ref:([A-Z0-9]+):([^|>]+)\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]*))?>")
_BOLD = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")


@dataclass(frozen=True)
class Mentionable:
    teams_id: str
    name: str


@dataclass(frozen=True)
class Names:
    """How renderers find people, channels and message links (from the Directory)."""

    person: Callable[[str], Mentionable | None]
    channel: Callable[[str], str | None]
    message_link: Callable[[str, str], str | None]


def render_text(text: str, *, names: Names) -> tuple[str, list[dict[str, Any]]]:
    """Slack-style markup as Teams markdown, and the mention entities it needs."""
    entities: dict[str, dict[str, Any]] = {}
    text = teams_wording(text)

    def user(match: re.Match[str]) -> str:
        found = names.person(match.group(1))
        if found is None:
            return f"@{match.group(2) or 'someone'}"
        name = found.name or "someone"  # the Bot Connector refuses a mention without a name
        shown = f"<at>{name}</at>"
        entities.setdefault(
            found.teams_id,
            {"type": "mention", "text": shown, "mentioned": {"id": found.teams_id, "name": name}},
        )
        return shown

    def channel(match: re.Match[str]) -> str:
        name = names.channel(match.group(1)) or match.group(2)
        return f"#{name}" if name else "the channel"

    def ref(match: re.Match[str]) -> str:
        link = names.message_link(match.group(1), match.group(2))
        return f"[{match.group(3)}]({link})" if link else match.group(3)

    out = _REF.sub(ref, text)
    out = _USER.sub(user, out)
    out = _CHANNEL.sub(channel, out)
    out = _GROUP.sub(lambda m: f"@{(m.group(2) or 'the group').lstrip('@')}", out)
    out = _SPECIAL.sub(lambda m: f"@{m.group(1)}", out)
    out = _LINK.sub(lambda m: f"[{m.group(2)}]({m.group(1)})" if m.group(2) else m.group(1), out)
    out = _BOLD.sub(r"**\1**", out)
    return out, list(entities.values())


def render(content: Content, *, names: Names) -> dict[str, Any]:
    """The activity to send: a card if there is anything to press or list, else a message."""
    text, entities = render_text(content.text, names=names)
    if not content.buttons and not content.fields:
        body = text
        if content.context:
            context, more = render_text(content.context, names=names)
            entities.extend(e for e in more if e not in entities)
            body = f"{text}\n\n_{context}_"
        return {"type": "message", "textFormat": "markdown", "text": body, "entities": entities}
    blocks: list[dict[str, Any]] = [{"type": "TextBlock", "text": text, "wrap": True}]
    if content.fields:
        facts = []
        for name, value in content.fields[:20]:
            shown, more = render_text(value, names=names)
            entities.extend(e for e in more if e not in entities)
            facts.append({"title": name, "value": shown})
        blocks.append({"type": "FactSet", "facts": facts})
    if content.context:
        context, more = render_text(content.context, names=names)
        entities.extend(e for e in more if e not in entities)
        blocks.append(
            {"type": "TextBlock", "text": context, "wrap": True, "size": "Small", "isSubtle": True}
        )
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": blocks,
        "msteams": {"width": "Full", "entities": entities},
    }
    if content.buttons:
        card["actions"] = [
            {
                "type": "Action.Submit",
                "title": button.label[:75],
                "data": {"action_id": button.action_id, "value": button.value},
                **(
                    {"style": "positive" if button.style == "primary" else "destructive"}
                    if button.style
                    else {}
                ),
            }
            for button in content.buttons[:6]
        ]
    return {
        "type": "message",
        "summary": _summary(text),
        "attachments": [{"contentType": CARD, "content": card}],
    }


def message_link(
    *, conversation_id: str, message_id: str, tenant_id: str, team_id: str | None
) -> str:
    """A deep link to a channel message (the Teams equivalent of a Slack permalink)."""
    query = f"tenantId={quote(tenant_id)}&parentMessageId={quote(message_id)}"
    if team_id:
        query += f"&groupId={quote(team_id)}"
    return (
        f"https://teams.microsoft.com/l/message/{quote(conversation_id, safe='')}/"
        f"{quote(message_id)}?{query}"
    )


def _summary(text: str) -> str:
    plain = re.sub(r"</?at>|\*\*|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", text)
    return plain.split("\n", 1)[0][:200]
