"""Watched channels: their configuration, and an in-memory view for the event hot path.

Events for channels nobody watches are dropped by ``Channels.lookup`` without touching
the database, and the view is never stale when it answers: every change of a channel's
settings, by any process, is told to every other one in its own transaction
(``storage.settings_feed``):

- PostgreSQL: a NOTIFY on commit; a replica's listener marks that channel untrusted at
  once and reloads it. While the listener is down (or reconnecting) nothing in the view
  is trusted and every lookup reads the database; on (re)connect everything is reloaded.
- SQLite (one server, but CLI processes may change settings): the file's settings counter
  (``PRAGMA user_version``) is read before the view is used, and a changed counter
  reloads the view first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channel_settings import DEFAULT_WAITING, WatchSettings
from bot.clock import Clock
from bot.errors import UsageError
from bot.hours import BusinessHours
from storage.engine import Database
from storage.models import WatchedChannel
from storage.settings_feed import SettingsListener, SqliteVersion

log = logging.getLogger(__name__)
ChannelKey = tuple[str, str]


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
        self._view: dict[ChannelKey, Watch] = {}
        self._channel_ids: frozenset[str] | None = None  # the view's channels; None: stale
        # Coherence (see the module docstring). Without a feed (SQLite in memory: one
        # process) the view is always trusted.
        self._trusted = True
        self._untrusted: set[ChannelKey] = set()  # heard changed, not reloaded yet
        self._heard: dict[ChannelKey, int] = {}  # how many changes heard, per channel
        self._heard_all = 0  # full reloads asked for (listener (re)connected)
        self._listener: SettingsListener | None = None
        self._sqlite: SqliteVersion | None = None
        self._version: int | None = None
        self._reloads: set[asyncio.Task[None]] = set()
        self._changed_hooks: list[Callable[[ChannelKey | None], None]] = []

    def get(self, workspace_id: str, channel_id: str) -> Watch | None:
        """The view's answer, as last loaded (views and lists that may lag a few seconds, such
        as Home; events, commands and reports use ``lookup``)."""
        return self._view.get((workspace_id, channel_id))

    def all(self) -> list[Watch]:
        return list(self._view.values())

    def on_changed(self, hook: Callable[[ChannelKey | None], None]) -> None:
        """Call ``hook(key)`` when a channel's settings changed elsewhere (None: maybe any)."""
        self._changed_hooks.append(hook)

    async def start(self) -> None:
        """Load the view and start hearing other processes' changes."""
        engine = self._db.engine
        if engine.dialect.name == "postgresql" and self._listener is None:
            self._trusted = False  # until the listener is up and the view reloaded
            self._listener = SettingsListener(
                url=engine.url,
                changed=self._changed,
                up=self._listener_up,
                down=self._listener_down,
            )
            self._listener.start()
            await self._listener.wait_connected(within=5.0)
        elif engine.dialect.name == "sqlite" and self._sqlite is None:
            path = engine.url.database or ":memory:"
            if path != ":memory:":
                self._sqlite = SqliteVersion(path)
        await self.refresh()

    async def stop(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        for task in list(self._reloads):
            task.cancel()
        await asyncio.gather(*self._reloads, return_exceptions=True)
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def lookup(self, workspace_id: str, channel_id: str) -> Watch | None:
        """The channel's settings as committed now: from memory when the view is known to
        be current, else from the database (never a stale answer)."""
        key = (workspace_id, channel_id)
        if self._sqlite is not None:
            if self._sqlite.read() != self._version:
                await self.refresh()
                self._tell(None)
            return self._view.get(key)
        if self._trusted and key not in self._untrusted:
            return self._view.get(key)
        return await self._reload(key)

    def surely_unwatched(self, channel_id: str) -> bool:
        """True only when the view is known to be current and no workspace watches
        ``channel_id`` (Slack's channel ids are unique across workspaces, so no workspace id
        is needed). False means "ask ``lookup``", not "watched": this lets the server drop
        chatter before any per-event work, never a watched channel's message."""
        if self._sqlite is not None:
            if self._sqlite.read() != self._version:
                return False
        elif not self._trusted or any(key[1] == channel_id for key in self._untrusted):
            return False
        ids = self._channel_ids
        if ids is None:
            ids = self._channel_ids = frozenset(channel for _, channel in self._view)
        return channel_id not in ids

    async def refresh(self) -> None:
        """Reload the whole view; channels heard changed meanwhile stay untrusted."""
        heard_before = dict(self._heard)
        all_before = self._heard_all
        async with self._db.reading() as session:
            version = await _sqlite_version(session) if self._sqlite is not None else None
            rows = (
                await session.scalars(select(WatchedChannel).where(WatchedChannel.active.is_(True)))
            ).all()
        view = {(r.workspace_id, r.channel_id): Watch.from_row(r) for r in rows}
        if self._heard_all != all_before:
            return  # a newer full reload is under way
        for key, count in self._heard.items():
            if heard_before.get(key) != count:
                self._untrusted.add(key)  # changed while we read: its row may be older
                if key in self._view:
                    view[key] = self._view[key]
                else:
                    view.pop(key, None)
        self._view = view
        self._channel_ids = None
        self._version = version

    async def _reload(self, key: ChannelKey) -> Watch | None:
        # Counted as heard, like a change from elsewhere: a full refresh that read the table
        # before this process's own write committed must not put the old rows back.
        heard = self._heard[key] = self._heard.get(key, 0) + 1
        trusted = self._trusted
        async with self._db.reading() as session:
            watch = await self.load(session, *key)
        if self._heard.get(key, 0) == heard:
            if watch is None:
                self._view.pop(key, None)
            else:
                self._view[key] = watch
            self._channel_ids = None
            if trusted and self._trusted:
                self._untrusted.discard(key)
        return watch

    # -- the PostgreSQL listener's callbacks ---------------------------------------------

    def _changed(self, workspace_id: str, channel_id: str) -> None:
        key = (workspace_id, channel_id)
        # Untrusted before anything else happens: the next event reads the database.
        self._heard[key] = self._heard.get(key, 0) + 1
        self._untrusted.add(key)
        task = asyncio.get_running_loop().create_task(self._reload_quietly(key))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)
        self._tell(key)

    async def _reload_quietly(self, key: ChannelKey) -> None:
        try:
            await self._reload(key)
        except Exception:
            log.warning("could not reload channel %s/%s; the next event reads it", *key)

    async def _listener_up(self) -> None:
        self._heard_all += 1
        generation = self._heard_all
        self._untrusted.clear()
        await self.refresh()
        if self._heard_all == generation:  # not lost again while reloading
            self._trusted = True
        self._tell(None)

    def _listener_down(self) -> None:
        if self._trusted:
            log.warning("settings listener down: channel settings are read from the database")
        self._trusted = False
        self._heard_all += 1
        self._tell(None)

    def _tell(self, key: ChannelKey | None) -> None:
        for hook in self._changed_hooks:
            hook(key)

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
            written = Watch.from_row(row)
        # Read back rather than trust ``written``: a change committed just after ours wins.
        return await self._reload((workspace_id, channel_id)) or written

    async def unwatch(self, *, workspace_id: str, channel_id: str) -> bool:
        async with self._db.transaction() as session:
            row = await _row(session, workspace_id, channel_id)
            if row is None or not row.active:
                return False
            row.active = False
            row.updated_at = self._clock.now()
        await self._reload((workspace_id, channel_id))
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
            written = Watch.from_row(row)
        return await self._reload((workspace_id, channel_id)) or written


async def _sqlite_version(session: AsyncSession) -> int:
    return int((await session.execute(text("PRAGMA user_version"))).scalar() or 0)


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
