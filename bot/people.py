"""People's and channels' display names, for text read outside chat.

    directory = Directory(people=chat_people, channel=chat_channel)   # set up by the server
    names = await directory.people("T1", ["U1", "U2"])                 # {"U1": "anna"}

Slack and Teams show a mention (``<@U1>``) as the person's name; a Markdown report, a
postmortem file, a chart or a calendar feed shows it as an id. Those ask the directory,
which asks the platform (its users.info and conversations.info caches). An empty
directory (the CLI without a bot token, tests of the core) knows no names, and every
caller then falls back to the id: a name is a nicety, never a reason to fail.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

PeopleLookup = Callable[[str, list[str]], Awaitable[dict[str, str]]]
ChannelLookup = Callable[[str, str], Awaitable[str | None]]


class Directory:
    def __init__(
        self, *, people: PeopleLookup | None = None, channel: ChannelLookup | None = None
    ) -> None:
        self._people = people
        self._channel = channel

    async def people(self, workspace_id: str, users: Iterable[str]) -> dict[str, str]:
        """Names of those ``users`` the platform knows (ids it can't name are left out)."""
        wanted = sorted({u for u in users if u})
        if self._people is None or not wanted:
            return {}
        try:
            found = await self._people(workspace_id, wanted)
        except Exception:
            log.warning("could not look up names in %s", workspace_id, exc_info=True)
            return {}
        return {user: name for user, name in found.items() if name and name != user}

    async def channel(self, workspace_id: str, channel_id: str) -> str:
        """``#name`` of the channel when the platform knows it, else its id."""
        name = None
        if self._channel is not None:
            try:
                name = await self._channel(workspace_id, channel_id)
            except Exception:
                log.warning("could not look up channel %s", channel_id, exc_info=True)
        return f"#{name}" if name else channel_id
