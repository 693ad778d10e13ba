"""Channel settings changes, told to every process the moment they commit.

A transaction that changes a watched channel's or a channel's FAQ settings (through the
ORM, whoever does it: a command, a rota step, the CLI) also, in the same transaction:

- on PostgreSQL, issues ``pg_notify('firstline_settings', '["<workspace>", "<channel>"]')``,
  delivered to every listening replica when (and only if) the transaction commits;
- on SQLite, increments the file's ``PRAGMA user_version``, a counter in the database
  header that a reader checks in microseconds, so a ``serve`` process sees a change made
  by a CLI process on the next event.

``SettingsListener`` is the PostgreSQL side of a replica: one dedicated asyncpg connection
that LISTENs, and says when it is up (time to reload everything: changes made while it was
down were not heard) and when it is down (the cache must not be trusted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, UOWTransaction

from storage.models import FaqSettings, SuggestionSettings, WatchedChannel

log = logging.getLogger(__name__)

CHANNEL = "firstline_settings"
_SETTINGS_ROWS = (WatchedChannel, FaqSettings, SuggestionSettings)
_RECONNECT_PAUSE = 1.0


def changed_channels(session: Session) -> set[tuple[str, str]]:
    """The channels whose settings this flush writes."""
    keys: set[tuple[str, str]] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _SETTINGS_ROWS) and obj.workspace_id and obj.channel_id:
            keys.add((obj.workspace_id, obj.channel_id))
    return keys


@event.listens_for(Session, "after_flush")
def _tell_others(session: Session, _flush: UOWTransaction) -> None:
    keys = changed_channels(session)
    if not keys:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        for workspace_id, channel_id in sorted(keys):
            connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": json.dumps([workspace_id, channel_id])},
            )
    elif connection.dialect.name == "sqlite":
        version = int(connection.exec_driver_sql("PRAGMA user_version").scalar() or 0)
        # PRAGMA takes no bound parameters; the value is an int we computed.
        connection.exec_driver_sql(f"PRAGMA user_version = {(version + 1) % 2**31}")


class SqliteVersion:
    """The settings counter of a SQLite file, read on a connection of its own (no pool,
    no ORM: this is on every event's path)."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)

    def read(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


class SettingsListener:
    """LISTEN for settings changes on a dedicated PostgreSQL connection, reconnecting."""

    def __init__(
        self,
        *,
        url: URL,
        changed: Callable[[str, str], None],
        up: Callable[[], Awaitable[None]],
        down: Callable[[], None],
    ) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._changed = changed
        self._up = up
        self._down = down
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def wait_connected(self, *, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), within)
        return self._connected.is_set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        import asyncpg

        while True:
            conn: Any = None
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._heard)
                # LISTEN first, then reload: a change committed in between is heard, and
                # one committed before is in the reload.
                await self._up()
                self._connected.set()
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), 5.0)
                    if not lost.is_set() and conn.is_closed():
                        break
                    if not lost.is_set():
                        # A half-open TCP connection hears nothing and never closes:
                        # a round trip proves the connection is still there.
                        await conn.fetchval("SELECT 1", timeout=5)
            except asyncio.CancelledError:
                self._connected.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=1)
                raise
            except Exception as error:
                log.warning("settings listener lost its connection (%s); reconnecting", error)
            self._lost()
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.terminate()
            await asyncio.sleep(_RECONNECT_PAUSE)

    def _lost(self) -> None:
        self._connected.clear()
        self._down()

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            workspace_id, channel_id = json.loads(payload)
        except (ValueError, TypeError):
            log.warning("settings listener: unreadable notification %r", payload)
            return
        self._changed(str(workspace_id), str(channel_id))
