"""Who asks, where, and how commands are typed there: what every command service is given.

The front door (``bot.frontdoor``) builds one per command or press after it has decided the
person may go ahead; services read it, never the platform's own payloads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CommandContext:
    workspace_id: str
    channel_id: str
    user: str
    is_admin: bool
    # How commands are typed where this came from: "/" on Slack, "@Firstline " on Teams.
    prefix: str = "/"


async def _not_admin() -> bool:
    return False


async def _nothing_to_join(channel_id: str) -> None:
    return None


@dataclass(frozen=True)
class Asker:
    """What the platform knows about the person asking, beyond their id.

    ``is_admin`` is asked only when a rule allows admins and nobody else matched: on Slack
    it costs a users.info call. ``join`` runs after a watch was allowed and before it is
    stored: Slack sends events only for channels the bot is in, so it joins there (or raises
    a ``UsageError`` saying the bot must be invited, and nothing is stored).
    """

    platform: str = "slack"  # "slack" | "teams" | "cli"
    prefix: str = "/"
    is_admin: Callable[[], Awaitable[bool]] = field(default=_not_admin)
    join: Callable[[str], Awaitable[None]] = field(default=_nothing_to_join)
