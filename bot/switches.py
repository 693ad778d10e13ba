"""Which channels have a per-channel feature on, and at which threshold, cached briefly.

    faq_on = ChannelSwitches(clock=clock, table=FaqSettings)
    threshold = await faq_on.threshold(session, "T1", "C1")   # None when off there

The FAQ and answers from history run on every new request; most channels have neither,
so the list of channels with one on is read at most every ``TTL`` instead of once per
request, and afresh as soon as another process's change is heard (``forget``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock

TTL = timedelta(seconds=10)


class ChannelSwitches:
    def __init__(self, *, clock: Clock, table: Any) -> None:
        self._clock = clock
        self._table = table  # a model with workspace_id, channel_id, enabled and threshold
        self._enabled: dict[tuple[str, str], float] = {}
        self._loaded_at: datetime | None = None

    async def threshold(
        self, session: AsyncSession, workspace_id: str, channel_id: str
    ) -> float | None:
        """The channel's threshold when the feature is on there, else None."""
        now = self._clock.now()
        if self._loaded_at is None or not now - TTL < self._loaded_at <= now:
            t = self._table
            rows = await session.execute(
                select(t.workspace_id, t.channel_id, t.threshold).where(t.enabled.is_(True))
            )
            self._enabled = {(ws, ch): threshold for ws, ch, threshold in rows}
            self._loaded_at = now
        return self._enabled.get((workspace_id, channel_id))

    def forget(self) -> None:
        """Another process changed a switch: read the list afresh on next use."""
        self._loaded_at = None

    def switched(self, workspace_id: str, channel_id: str, threshold: float | None) -> None:
        """This replica changed the setting: take it at once (None: off)."""
        if threshold is None:
            self._enabled.pop((workspace_id, channel_id), None)
        else:
            self._enabled[(workspace_id, channel_id)] = threshold
