"""The database engine: SQLite (embedded, one writer) or PostgreSQL (many replicas).

    db = Database.connect("sqlite+aiosqlite:///firstline.db")
    async with db.transaction() as session: ...

SQLite runs in WAL mode on the event loop's thread (``storage/sqlite_driver.py``), and
every writing transaction starts with ``BEGIN IMMEDIATE`` so two writers queue instead of
failing halfway through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_driver import inline_connector

log = logging.getLogger(__name__)
_READ_ONLY: ContextVar[bool] = ContextVar("firstline_read_only", default=False)
_CONNECTION = "firstline.connection"  # session.info: (root transaction, its connection)
DEFAULT_URL = "sqlite+aiosqlite:///firstline.db"
MIGRATION_LOCK_ID = 0x46697273  # "Firs": the advisory lock id for migrations


class Database:
    """One engine and its session factory, opened and closed by the application."""

    def __init__(self, engine: AsyncEngine, *, sqlite_path: str | None = None) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite allows one writer; writers of this process queue here, not in SQLite.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._checkpointer = (
            _Checkpointer(sqlite_path) if sqlite_path and sqlite_path != ":memory:" else None
        )

    @classmethod
    def connect(
        cls,
        url: str = DEFAULT_URL,
        *,
        background_checkpoints: bool = False,
        create: bool = True,
        **engine_args: Any,
    ) -> Database:
        """Open ``url``. With ``background_checkpoints`` (long-running servers on SQLite), the
        WAL is copied back into the database file by a worker thread about once a second,
        instead of by whichever transaction happens to commit the thousandth page: that copy
        ends in an fsync, and on the event loop's thread it would stall every request.

        A SQLite file is created when missing if ``create`` (serve, migrate), never its
        folder: a mistyped path must not become a fresh, empty database. Without ``create``
        (commands that read figures) a missing file is an error naming the path."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database or ":memory:"
            if path != ":memory:":
                _check_sqlite_location(Path(path), create=create)
            # The driver runs SQLite on the loop's thread (see storage/sqlite_driver.py).
            engine_args.setdefault("async_creator", inline_connector(path))
            engine = create_async_engine(url, **engine_args)
            _configure_sqlite(engine, autocheckpoint=not background_checkpoints)
            return cls(engine, sqlite_path=path if background_checkpoints else None)
        engine_args.setdefault("pool_size", 10)
        engine_args.setdefault("max_overflow", 10)
        engine_args.setdefault("pool_pre_ping", True)
        return cls(create_async_engine(url, **engine_args))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
        if self._checkpointer is not None:
            self._checkpointer.start()
        if self._write_lock is not None:
            async with self._write_lock, self.sessions() as session, session.begin():
                yield session
        else:
            async with self.sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only; never writes, never takes the SQLite writer lock."""
        token = _READ_ONLY.set(True)
        try:
            async with self.sessions() as session:
                yield session
        finally:
            _READ_ONLY.reset(token)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.stop()
        await self.engine.dispose()


class DatabaseLocationError(Exception):
    """The SQLite file or its folder does not exist; the message says which and what to do."""

    def __init__(self, message: str, *, path: Path, folder_missing: bool) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.folder_missing = folder_missing


def _check_sqlite_location(path: Path, *, create: bool) -> None:
    where = path.resolve()
    if not where.parent.is_dir():
        raise DatabaseLocationError(
            f"The folder of the SQLite database {where} does not exist. Create it "
            f"(mkdir -p {where.parent}) or fix DATABASE_URL.",
            path=where,
            folder_missing=True,
        )
    if not create and not where.exists():
        raise DatabaseLocationError(
            f"No database at {where}: DATABASE_URL (default sqlite+aiosqlite:///firstline.db) "
            "is relative to the current folder. Run this where `firstline serve` runs, set "
            "DATABASE_URL=sqlite+aiosqlite:////path/to/firstline.db (four slashes: absolute), "
            "or create it with `firstline migrate`.",
            path=where,
            folder_missing=False,
        )


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The connection of ``session``'s current transaction, for Core statements.

    Hot paths (every watched post) execute Core statements here rather than through
    ``Session.execute``: the ORM's per-statement work (compile state, bind lookup) cost more
    than the statements. ``AsyncSession.connection()`` itself walks that machinery on every
    call, so the answer is kept for the rest of the transaction.
    """
    cached = session.info.get(_CONNECTION)
    if cached is not None and cached[0] is session.sync_session.get_transaction():
        return cast(AsyncConnection, cached[1])
    conn = await session.connection()
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), conn)
    return conn


class _Checkpointer:
    """Checkpoints a SQLite WAL from its own thread (PASSIVE: never blocks a writer)."""

    def __init__(self, path: str, *, every_seconds: float = 1.0) -> None:
        self._path = path
        self.every_seconds = every_seconds
        self._task: asyncio.Task[None] | None = None
        self._conn: sqlite3.Connection | None = None
        # One thread, so closing waits for a checkpoint still running when we stop.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)

    async def run_once(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, frames in the WAL, frames copied back)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_seconds)  # housekeeping, not business time
            try:
                await self.run_once()
            except sqlite3.Error as error:
                log.warning("SQLite checkpoint failed (will retry): %s", error)

    def _checkpoint(self) -> tuple[int, int, int]:
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, timeout=5)
        busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _configure_sqlite(engine: AsyncEngine, *, autocheckpoint: bool = True) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # No waiting inside SQLite: it would stall the event loop; the driver retries instead.
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers queue for the lock up front; readers take a snapshot and never wait.
        conn.exec_driver_sql("BEGIN" if _READ_ONLY.get() else "BEGIN IMMEDIATE")
