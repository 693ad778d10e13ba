"""Watched channels: their configuration, and an in-memory view for the event hot path.

Events for channels nobody watches are dropped by ``Channels.get`` without touching
the database; the view is reloaded on every change made here and refreshed
periodically so other replicas' changes arrive within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_settings import DEFAULT_WAITING, WatchSettings
from bot.clock import Clock
from bot.errors import UsageError
from bot.hours import BusinessHours
from storage.engine import Database
from storage.models import WatchedChannel


@dataclass(frozen=True)
class Watch:
    """A snapshot of one watched channel's configuration."""

    workspace_id: str
    channel_id: str
    settings: WatchSettings
    hours: BusinessHours

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def responders(self) -> tuple[str, ...]:
        return self.settings.responders

    def is_eligible(self, user: str | None, *, requester: str) -> bool:
        """May ``user`` give the first response to a request by ``requester``?"""
        if not user:
            return False
        if self.settings.responders_mode == "team":
            return user in self.settings.responders
        return user != requester

    @classmethod
    def from_row(cls, row: WatchedChannel) -> Watch:
        settings = WatchSettings(
            kind=row.kind,
            target_seconds=row.target_seconds,
            responders_mode=row.responders_mode,
            hours=row.hours,
            tz=row.tz,
            holidays=row.holidays,
            escalate=row.escalate,
            ack_emojis=tuple(row.ack_emojis or ()),
            done_emojis=tuple(row.done_emojis or ()),
            responders=tuple(row.responders or ()),
            noise=row.noise,
            noise_added=tuple(row.noise_added or ()),
            noise_removed=tuple(row.noise_removed or ()),
            burst_seconds=row.burst_seconds,
            next_target_seconds=row.next_target_seconds,
            resolve_target_seconds=row.resolve_target_seconds,
            waiting=DEFAULT_WAITING if row.waiting is None else tuple(row.waiting),
            offhours=row.offhours or "wait",
        )
        return cls(row.workspace_id, row.channel_id, settings, settings.business_hours())


class Channels:
    def __init__(self, *, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._view: dict[tuple[str, str], Watch] = {}

    def get(self, workspace_id: str, channel_id: str) -> Watch | None:
        return self._view.get((workspace_id, channel_id))

    def all(self) -> list[Watch]:
        return list(self._view.values())

    async def refresh(self) -> None:
        async with self._db.reading() as session:
            rows = (
                await session.scalars(select(WatchedChannel).where(WatchedChannel.active.is_(True)))
            ).all()
        self._view = {(r.workspace_id, r.channel_id): Watch.from_row(r) for r in rows}

    async def load(self, session: AsyncSession, workspace_id: str, channel_id: str) -> Watch | None:
        row = await _row(session, workspace_id, channel_id)
        return Watch.from_row(row) if row is not None and row.active else None

    async def watch(
        self, *, workspace_id: str, channel_id: str, kind: str, options: dict[str, str], actor: str
    ) -> Watch:
        """Start (or reconfigure) watching; options not given keep their current values."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            row = await _row(session, workspace_id, channel_id)
            if row is not None and row.active and row.kind == kind.strip().lower():
                settings = Watch.from_row(row).settings.with_changes(**options)
            else:
                settings = WatchSettings.build(kind=kind, **options)
                if row is not None:
                    settings = _keep_responders(settings, row)
            if row is None:
                row = WatchedChannel(
                    workspace_id=workspace_id,
                    channel_id=channel_id,
                    created_by=actor,
                    created_at=now,
                    responders=[],
                )
                session.add(row)
            _store(row, settings)
            row.active = True
            row.updated_at = now
        await self.refresh()
        watch = self.get(workspace_id, channel_id)
        assert watch is not None
        return watch

    async def unwatch(self, *, workspace_id: str, channel_id: str) -> bool:
        async with self._db.transaction() as session:
            row = await _row(session, workspace_id, channel_id)
            if row is None or not row.active:
                return False
            row.active = False
            row.updated_at = self._clock.now()
        await self.refresh()
        return True

    async def set_responders(
        self, *, workspace_id: str, channel_id: str, users: list[str]
    ) -> Watch:
        async with self._db.transaction() as session:
            row = await _row(session, workspace_id, channel_id)
            if row is None or not row.active:
                raise UsageError(
                    "This channel is not watched yet. Start with /support watch requests "
                    "(or alerts), then set responders."
                )
            row.responders = list(dict.fromkeys(users))
            row.updated_at = self._clock.now()
        await self.refresh()
        watch = self.get(workspace_id, channel_id)
        assert watch is not None
        return watch


async def _row(session: AsyncSession, workspace_id: str, channel_id: str) -> WatchedChannel | None:
    return await session.scalar(
        select(WatchedChannel).where(
            WatchedChannel.workspace_id == workspace_id, WatchedChannel.channel_id == channel_id
        )
    )


def _keep_responders(settings: WatchSettings, row: WatchedChannel) -> WatchSettings:
    from dataclasses import replace

    return replace(settings, responders=tuple(row.responders or ()))


def _store(row: WatchedChannel, settings: WatchSettings) -> None:
    row.kind = settings.kind
    row.target_seconds = settings.target_seconds
    row.responders_mode = settings.responders_mode
    row.hours = settings.hours
    row.tz = settings.tz
    row.holidays = settings.holidays
    row.escalate = settings.escalate
    row.ack_emojis = list(settings.ack_emojis)
    row.done_emojis = list(settings.done_emojis)
    row.noise = settings.noise
    row.noise_added = list(settings.noise_added)
    row.noise_removed = list(settings.noise_removed)
    row.burst_seconds = settings.burst_seconds
    row.next_target_seconds = settings.next_target_seconds
    row.resolve_target_seconds = settings.resolve_target_seconds
    row.waiting = list(settings.waiting)
    row.offhours = settings.offhours
