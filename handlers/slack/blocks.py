"""Neutral ``Content`` rendered as Slack mrkdwn and Block Kit."""

from __future__ import annotations

import re
from typing import Any

from bot.content import Content

SECTION_LIMIT = 3000
MAX_SECTIONS = 20
_REF = re.compile(r"<ref:([A-Z0-9]+):(\d+\.\d+)\|([^>]*)>")


def permalink(base_url: str, channel: str, ts: str) -> str:
    base = base_url if base_url.endswith("/") else base_url + "/"
    return f"{base}archives/{channel}/p{ts.replace('.', '')}"


def render_text(text: str, *, base_url: str) -> str:
    """Message references become permalinks; everything else is already mrkdwn."""
    return _REF.sub(lambda m: f"<{permalink(base_url, m.group(1), m.group(2))}|{m.group(3)}>", text)


def render_blocks(content: Content, *, base_url: str) -> list[dict[str, Any]]:
    text = render_text(content.text, base_url=base_url)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in _sections(text)
    ]
    if content.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{render_text(value, base_url=base_url)}"}
                    for name, value in content.fields[:10]
                ],
            }
        )
    if content.context:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": content.context}]}
        )
    if content.buttons:
        elements = []
        for button in content.buttons[:25]:
            element: dict[str, Any] = {
                "type": "button",
                "text": {"type": "plain_text", "text": button.label[:75]},
                "action_id": button.action_id,
                "value": button.value[:2000],
            }
            if button.style:
                element["style"] = button.style
            elements.append(element)
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def _sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Long text (a weekly report) as several sections, split between lines, so no link
    is cut in half by Slack's 3,000-character limit per section."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one line longer than a section: cut it, as before
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    chunks.append(current)
    return chunks[:MAX_SECTIONS]


def render(content: Content, *, base_url: str) -> dict[str, Any]:
    """``text`` (notification fallback) and ``blocks`` for chat.postMessage / chat.update."""
    text = render_text(content.text, base_url=base_url)
    if content.context:
        text = f"{text}\n{content.context}"
    return {"text": text[:3900], "blocks": render_blocks(content, base_url=base_url)}
