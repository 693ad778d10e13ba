"""Runs the timer sweeper, the outbox deliverer and the channel refresher side by side.

    runner = Runner(core=core, deliverer=deliverer)
    await runner.settle()          # tests and the demo: do everything that is due, now

Each loop sleeps until its next due instant (asked from the database), or until the
core says something changed; the sleep is capped so other replicas' work is noticed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from bot.changes import Changes
from bot.core import Core
from schedules.deliverer import Deliverer

log = logging.getLogger(__name__)

IDLE_CAP = timedelta(seconds=5)
REFRESH_EVERY = timedelta(seconds=10)
ERROR_PAUSE = timedelta(seconds=2)
PRUNE_EVERY = timedelta(hours=1)
STOP_WAIT = timedelta(seconds=10)
INBOX_KEEP = timedelta(days=7)  # Slack retries within minutes; a week is generous


class Runner:
    def __init__(self, *, core: Core, deliverer: Deliverer) -> None:
        self._sweep = core.timers
        self._desk = core.desk
        self._channels = core.channels
        self._incidents = core.incidents
        self._reports = core.reports
        self._clock = core.clock
        self._deliverer = deliverer
        self._timers_wake = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._refresh_wake = asyncio.Event()
        self._planned: dict[str, datetime] = {}
        self._channels_stale = False
        self._tasks: list[asyncio.Task[None]] = []
        core.changes.subscribe(self.poke)
        deliverer.on_finished = self._outbox_wake.set

    def poke(self, changes: Changes | None = None) -> None:
        """Timers or outbox rows were written: they may be due sooner than planned."""
        # A new timer only matters when it is due before the sweeper's planned wake-up.
        planned = self._planned.get("timers")
        if changes is None or (
            changes.timers_due is not None and (planned is None or changes.timers_due < planned)
        ):
            self._timers_wake.set()
        if changes is None or changes.outbox:
            self._outbox_wake.set()
        if changes is not None and changes.channels:
            self._channels_stale = True
            self._refresh_wake.set()

    async def settle(self, *, rounds: int = 100) -> None:
        """Fire every due timer and deliver every ready message (no waiting for retries)."""
        for _ in range(rounds):
            fired = await self._sweep.fire_due()
            if self._channels_stale:
                self._channels_stale = False
                await self._channels.refresh()
            sent = await self._deliverer.deliver_once()
            if not fired and not sent:
                return

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop("timers", self._timers_once, self._timers_wake)),
            asyncio.create_task(self._loop("outbox", self._outbox_once, self._outbox_wake)),
            asyncio.create_task(self._refresh_loop()),
        ]

    async def stop(self, *, drain: bool = True) -> None:
        """Stop the loops; with ``drain``, first deliver what is ready (graceful shutdown)."""
        self._stopping.set()
        self._refresh_wake.set()
        self.poke()
        if drain and self._tasks:
            # Let a sweep or a delivery in progress finish: cancelled mid-send, a message
            # would wait for its lease to run out before another replica checks on it.
            await asyncio.wait(self._tasks, timeout=STOP_WAIT.total_seconds())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._deliverer.wait_in_flight(within=STOP_WAIT.total_seconds() if drain else 0.01)
        if drain:
            try:
                await asyncio.wait_for(self._drain_outbox(), timeout=20)
            except Exception:
                log.warning("outbox not fully drained at shutdown; it resumes on next start")

    async def _drain_outbox(self) -> None:
        while await self._deliverer.deliver_once():
            pass

    async def _timers_once(self) -> datetime | None:
        while await self._sweep.fire_due():
            self._outbox_wake.set()
        return await self._sweep.next_due()

    async def _outbox_once(self) -> datetime | None:
        # Start what is ready and come back when a send ends or a row becomes ready:
        # sends in flight never hold up the next ones.
        while await self._deliverer.dispatch():
            pass
        return await self._deliverer.next_attempt()

    async def _loop(self, name: str, once: object, wake: asyncio.Event) -> None:
        assert callable(once)
        while not self._stopping.is_set():
            wake.clear()
            try:
                due = await once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s loop failed; retrying shortly", name)
                due = self._clock.now() + ERROR_PAUSE
            cap = self._clock.now() + IDLE_CAP
            until = cap if due is None else min(max(due, self._clock.now()), cap)
            self._planned[name] = until
            await self._clock.sleep_until(until, wake)
            self._planned.pop(name, None)

    async def _refresh_loop(self) -> None:
        last_prune = None
        while not self._stopping.is_set():
            self._refresh_wake.clear()
            await self._clock.sleep_until(self._clock.now() + REFRESH_EVERY, self._refresh_wake)
            if self._stopping.is_set():
                return
            try:
                await self._channels.refresh()
                await self._incidents.refresh()
                await self._reports.ensure_schedules()  # channels watched from elsewhere
                now = self._clock.now()
                if last_prune is None or now - last_prune >= PRUNE_EVERY:
                    await self._desk.forget_old_events(before=now - INBOX_KEEP)
                    last_prune = now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not refresh watched channels; keeping the last view")
