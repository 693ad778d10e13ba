"""Time, injected: production asks the system clock, tests and the demo a fake one.

    clock = FakeClock(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    clock.advance(seconds=300)

Core code never calls ``datetime.now()``; it asks the ``Clock`` it was given. Waiting
goes through the clock too, so a fake clock wakes sleepers when it is advanced and
no test ever sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Return at ``when`` (or never, if None) or as soon as ``wake`` is set."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        timeout = None if when is None else max(0.0, (when - self.now()).total_seconds())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=timeout)


class FakeClock:
    """A clock that moves only when told to; sleepers wake when it passes their time."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)
        self._moved.set()
        self._moved = asyncio.Event()

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> datetime:
        self.set(self._now + timedelta(seconds=seconds, minutes=minutes, hours=hours))
        return self._now

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        while not wake.is_set() and (when is None or self._now < when):
            moved = asyncio.ensure_future(self._moved.wait())
            woken = asyncio.ensure_future(wake.wait())
            try:
                await asyncio.wait({moved, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                moved.cancel()
                woken.cancel()
