"""The neutral message model and the port every chat platform implements.

The core writes ``Content``; handlers render it as Block Kit or Adaptive Cards. Text
uses a small markup both renderers understand: ``<@U123>`` mentions a person,
``<!subteam^S123>`` a group, ``<#C123>`` a channel, and ``<ref:C123:1700000000.0001|label>``
links to a message (the renderer turns it into a permalink).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    value: str = ""
    style: str | None = None  # "primary" | "danger"


@dataclass(frozen=True)
class Content:
    text: str
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    context: str | None = None
    # Set by the outbox deliverer, never stored: the platform keeps it with the message
    # (Slack: message metadata) so a resend after a crash can tell it already arrived.
    marker: str | None = None

    def to_payload(self) -> dict[str, Any]:
        payload = asdict(self)
        del payload["marker"]
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Content:
        return cls(
            text=payload.get("text", ""),
            fields=tuple((str(k), str(v)) for k, v in payload.get("fields", ())),
            buttons=tuple(Button(**b) for b in payload.get("buttons", ())),
            context=payload.get("context"),
        )


def message_ref(channel_id: str, ts: str, label: str) -> str:
    return f"<ref:{channel_id}:{ts}|{label}>"


@dataclass(frozen=True)
class Delivered:
    """Where the platform put a message: its channel and its id (Slack ts); for a channel
    it created, the name it was given (``channel_names``: maybe not the first asked)."""

    channel: str
    ts: str
    name: str | None = None


def channel_names(name: str) -> list[str]:
    """The names a new channel is tried under, in order, while Slack says ``name_taken``."""
    return [name, *(f"{name[:76]}-{n}" for n in range(2, 10))]


class DeliveryError(Exception):
    """A send failed. ``retry_after`` honours rate limits; ``permanent`` stops retrying;
    ``uncertain`` means the platform may have carried it out anyway (a timeout, a dropped
    connection, a 5xx), so the retry first looks for the message by its marker."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        uncertain: bool = False,
    ) -> None:
        super().__init__(message)
        self.uncertain = uncertain
        self.retry_after = retry_after
        self.permanent = permanent


class ChatPort(Protocol):
    """What the core needs from a chat platform. Called only by the outbox deliverer."""

    async def post(
        self, *, workspace_id: str, channel: str, content: Content, thread_ts: str | None = None
    ) -> Delivered: ...

    async def update(
        self, *, workspace_id: str, channel: str, ts: str, content: Content
    ) -> Delivered: ...

    async def dm(self, *, workspace_id: str, user: str, content: Content) -> Delivered: ...

    async def ephemeral(
        self, *, workspace_id: str, channel: str, user: str, content: Content
    ) -> Delivered: ...

    async def create_channel(
        self, *, workspace_id: str, name: str, is_private: bool = False
    ) -> Delivered: ...

    async def invite(self, *, workspace_id: str, channel: str, users: list[str]) -> Delivered: ...

    async def pin(self, *, workspace_id: str, channel: str, ts: str) -> Delivered: ...

    async def set_topic(self, *, workspace_id: str, channel: str, topic: str) -> Delivered: ...

    async def set_group_members(
        self, *, workspace_id: str, group: str, users: list[str]
    ) -> Delivered: ...

    async def upload(
        self,
        *,
        workspace_id: str,
        channel: str,
        filename: str,
        content: str | bytes,
        title: str,
        comment: str = "",
    ) -> Delivered: ...

    async def publish_home(
        self, *, workspace_id: str, user: str, sections: list[Content]
    ) -> Delivered: ...


@runtime_checkable
class FindsMarked(Protocol):
    """A platform that can say whether a marked message (``Content.marker``) already exists.

    The deliverer asks before resending a row whose sender died mid-send, so a crash never
    posts a message twice.
    """

    async def find_marked(
        self,
        *,
        workspace_id: str,
        channel: str,
        thread_ts: str | None,
        marker: str,
        since: float,
    ) -> Delivered | None:
        """The message carrying ``marker`` that this bot posted (or edited) at or after
        ``since`` (epoch seconds), if any: another app's message, or an earlier install's,
        is never taken for ours."""
        ...


@runtime_checkable
class FindsChannels(Protocol):
    """A platform that can look channels up by name.

    Before creating a channel again after an unknown outcome (the sender died, or the
    answer was lost), the deliverer looks for the one the first attempt may have made.
    """

    async def find_channels(self, *, workspace_id: str, names: list[str]) -> dict[str, str]:
        """Of ``names``, those that exist: name → channel id."""
        ...


@runtime_checkable
class FindsUploads(Protocol):
    """A platform that can say whether a file was already shared in a channel."""

    async def find_upload(
        self, *, workspace_id: str, channel: str, filename: str, title: str, since: float
    ) -> Delivered | None:
        """The file named ``filename`` titled ``title`` the bot shared in ``channel`` at
        or after ``since`` (epoch seconds), if any."""
        ...


@dataclass
class Reply:
    """An answer to a command, shown only to the person who typed it (ephemeral)."""

    content: Content
    public: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


_ID = re.compile(r"[0-9]{1,15}")


def button_id(value: str) -> int | None:
    """The row id a button carries, or None: ASCII digits only (``"²".isdigit()`` is true,
    and a 30-digit number overflows PostgreSQL's bigint), so forged values fail cleanly."""
    return int(value) if _ID.fullmatch(value) else None
