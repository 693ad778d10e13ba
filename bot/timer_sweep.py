"""Fires due timers, whoever scheduled them, exactly once.

    sweep.register("request", desk.fire_timer)   # subjects "request:42"
    fired = await sweep.fire_due()

Due rows are claimed inside one transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
so replicas share the work); each timer's effects and its ``fired_at`` commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.changes import ChangeFeed
from bot.clock import Clock
from bot.metrics import Metrics
from storage import timers
from storage.engine import Database
from storage.models import Timer

log = logging.getLogger(__name__)
DEFERRED = "deferred"  # a handler's outcome: not fired yet, due again at the new due_at

TimerHandler = Callable[[AsyncSession, Timer, datetime], Awaitable[str]]


class TimerSweep:
    def __init__(
        self, *, db: Database, clock: Clock, metrics: Metrics, changes: ChangeFeed
    ) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics
        self._changes = changes
        self._handlers: dict[str, TimerHandler] = {}

    def register(self, kind: str, handler: TimerHandler) -> None:
        """``handler`` fires timers whose subject is "<kind>:…" and returns their outcome."""
        self._handlers[kind] = handler

    async def fire_due(self, *, limit: int = 200) -> int:
        now = self._clock.now()
        async with self._db.transaction() as session:
            due = await timers.claim_due(session, now=now, limit=limit)
            for timer in due:
                handler = self._handlers.get(timer.subject.partition(":")[0])
                if handler is None:
                    log.error("no handler for timer %s (%s)", timer.id, timer.subject)
                    outcome = "no_handler"
                else:
                    outcome = await handler(session, timer, now)
                if outcome == DEFERRED:
                    continue  # the handler moved ``due_at`` on: it fires then, once
                timer.fired_at = now
                timer.outcome = outcome
                timer.late_seconds = max(0.0, (now - timer.due_at).total_seconds())
                self._metrics.timer_lateness.observe(timer.late_seconds)
        self._changes.committed(session)
        return len(due)

    async def next_due(self) -> datetime | None:
        async with self._db.reading() as session:
            return await timers.next_due(session)
