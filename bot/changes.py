"""Who needs to hear that a transaction wrote timers or outgoing messages.

Repositories flag the session (``storage.timers.WRITTEN``, ``storage.outbox.WRITTEN``);
after the commit, the service that owned the transaction calls ``ChangeFeed.committed``
and the background loops wake only when there is something for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox, timers

CHANNELS_CHANGED = "firstline.channels_changed"  # session.info flag: watch config changed


@dataclass(frozen=True)
class Changes:
    timers_due: datetime | None = None  # the earliest timer written
    outbox: bool = False
    channels: bool = False

    @property
    def timers(self) -> bool:
        return self.timers_due is not None


class ChangeFeed:
    def __init__(self) -> None:
        self._listeners: list[Callable[[Changes], None]] = []

    def subscribe(self, listener: Callable[[Changes], None]) -> None:
        self._listeners.append(listener)

    def committed(self, session: AsyncSession) -> None:
        changes = Changes(
            timers_due=session.info.pop(timers.WRITTEN, None),
            outbox=bool(session.info.pop(outbox.WRITTEN, False)),
            channels=bool(session.info.pop(CHANNELS_CHANGED, False)),
        )
        if changes.timers or changes.outbox or changes.channels:
            for listener in self._listeners:
                listener(changes)
