"""The database engine: SQLite (embedded, one writer) or PostgreSQL (many replicas).

    db = Database.connect("sqlite+aiosqlite:///firstline.db")
    async with db.transaction() as session: ...

SQLite runs in WAL mode on the event loop's thread (``storage/sqlite_driver.py``), and
every writing transaction starts with ``BEGIN IMMEDIATE`` so two writers queue instead of
failing halfway through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_driver import inline_connector

_READ_ONLY: ContextVar[bool] = ContextVar("firstline_read_only", default=False)
DEFAULT_URL = "sqlite+aiosqlite:///firstline.db"
MIGRATION_LOCK_ID = 0x46697273  # "Firs": the advisory lock id for migrations


class Database:
    """One engine and its session factory, opened and closed by the application."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.is_sqlite = engine.dialect.name == "sqlite"
        # SQLite allows one writer; writers of this process queue here, not in SQLite.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @classmethod
    def connect(cls, url: str = DEFAULT_URL, **engine_args: Any) -> Database:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # The driver runs SQLite on the loop's thread (see storage/sqlite_driver.py).
            engine_args.setdefault("async_creator", inline_connector(parsed.database or ":memory:"))
            engine = create_async_engine(url, **engine_args)
            _configure_sqlite(engine)
        else:
            engine_args.setdefault("pool_size", 10)
            engine_args.setdefault("max_overflow", 10)
            engine_args.setdefault("pool_pre_ping", True)
            engine = create_async_engine(url, **engine_args)
        return cls(engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error."""
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
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # No waiting inside SQLite: it would stall the event loop; the driver retries instead.
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers queue for the lock up front; readers take a snapshot and never wait.
        conn.exec_driver_sql("BEGIN" if _READ_ONLY.get() else "BEGIN IMMEDIATE")
