"""Neutral facts: what happened in a channel, whatever platform it happened on.

Handlers turn Slack events and Teams activities into these; the desk only sees facts.
Instants come from the platform's own message timestamps, never from arrival time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

MAX_TEXT = 4000  # stored text is truncated, never rejected (Slack allows 40,000 characters)


def ts_to_datetime(ts: str) -> datetime:
    """Slack's "1517781728.000107" as an aware UTC instant (microsecond exact)."""
    seconds, _, fraction = ts.partition(".")
    micros = int((fraction + "000000")[:6]) if fraction else 0
    return datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=micros)


def truncate(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@dataclass(frozen=True)
class Posted:
    """A message posted in a channel: top-level, or a reply in a thread."""

    workspace_id: str
    channel_id: str
    ts: str
    at: datetime
    user: str | None
    text: str = ""
    thread_ts: str | None = None
    bot_id: str | None = None
    mentions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_human(self) -> bool:
        return bool(self.user) and not self.bot_id

    @property
    def author(self) -> str:
        return self.user or self.bot_id or "unknown"


@dataclass(frozen=True)
class Edited:
    workspace_id: str
    channel_id: str
    ts: str
    text: str


@dataclass(frozen=True)
class Deleted:
    workspace_id: str
    channel_id: str
    ts: str


@dataclass(frozen=True)
class Reacted:
    """An emoji added to (or removed from) a message by a person."""

    workspace_id: str
    channel_id: str
    item_ts: str
    user: str
    emoji: str
    at: datetime
    added: bool = True


@dataclass(frozen=True)
class Pressed:
    """A button a person pressed (a Slack button, a Teams card's Action.Submit).

    ``channel_id`` is where it was pressed: the answer goes there, to ``user`` alone.
    """

    workspace_id: str
    channel_id: str
    user: str
    action_id: str
    value: str


Fact = Posted | Edited | Deleted | Reacted
