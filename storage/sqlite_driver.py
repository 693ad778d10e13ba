"""SQLite for the async engine, run on the event loop's own thread.

    engine = create_async_engine(url, async_creator=inline_connector(path))

SQLAlchemy's ``sqlite+aiosqlite`` dialect talks to aiosqlite, which runs every call
(execute, fetch, cursor close, commit) on a worker thread and hands the result back
through the event loop: about two dozen thread round trips for one watched post, most of
its cost. A local SQLite statement takes microseconds, far less than a round trip, so
this driver offers aiosqlite's interface (what the dialect calls) and runs each call
directly.

The one call that could stall the loop is a wait for another *process's* write lock (a
CLI command writing while ``serve`` runs), so the connection's busy timeout is zero and a
busy statement is retried here with ``asyncio.sleep`` until the usual timeout: the loop
keeps serving while it waits. A statement that failed with SQLITE_BUSY did nothing, so
running it again is safe. Within the process, writers already queue on
``Database``'s write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

_T = TypeVar("_T")
BUSY_TIMEOUT_SECONDS = 30.0
_FIRST_BACKOFF = 0.002
_MAX_BACKOFF = 0.1


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))
    text = str(error).lower()
    return "locked" in text or "busy" in text


async def _patiently(call: Callable[[], _T], *, patience: float) -> _T:
    """Run ``call``; while SQLite says another process holds the lock, wait and retry."""
    deadline = time.monotonic() + patience
    backoff = _FIRST_BACKOFF
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF)


class InlineCursor:
    """aiosqlite's ``Cursor`` interface over a ``sqlite3.Cursor``, without the thread."""

    def __init__(self, cursor: sqlite3.Cursor, *, timeout: float) -> None:
        self._cursor = cursor
        self._timeout = timeout

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if parameters is None:
            await _patiently(lambda: self._cursor.execute(sql), patience=self._timeout)
        else:
            await _patiently(lambda: self._cursor.execute(sql, parameters), patience=self._timeout)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(rows)  # a retry must see every row again
        await _patiently(lambda: self._cursor.executemany(sql, rows), patience=self._timeout)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        self._cursor.setinputsizes(*sizes)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    @property
    def description(self) -> Any:
        return self._cursor.description


class _RunNow:
    """Stands in for aiosqlite's job queue: the dialect sets ``isolation_level`` with
    ``_tx.put_nowait((future, function))``; here the function runs at once."""

    def put_nowait(self, job: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = job
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(error)


class InlineConnection:
    """aiosqlite's ``Connection`` interface over a ``sqlite3.Connection``, without the thread."""

    def __init__(self, conn: sqlite3.Connection, *, timeout: float) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._timeout = timeout
        self._tx = _RunNow()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        # The dialect checks this before commit and rollback, as with aiosqlite.
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._open().isolation_level = value

    @property
    def in_transaction(self) -> bool:
        return self._open().in_transaction

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor(), timeout=self._timeout)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def fetch(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """Run one statement and return its rows (``storage/prepared.py``: no cursor object
        outlives the call)."""
        conn = self._open()
        return await _patiently(
            lambda: conn.execute(sql, parameters).fetchall(), patience=self._timeout
        )

    async def execute_many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        conn = self._open()
        await _patiently(lambda: conn.executemany(sql, rows), patience=self._timeout)

    async def commit(self) -> None:
        conn = self._open()
        await _patiently(conn.commit, patience=self._timeout)

    async def rollback(self) -> None:
        self._open().rollback()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def stop(self) -> None:
        """Close without waiting (the dialect's forced terminate)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)


def inline_connector(
    database: str, *, timeout: float = BUSY_TIMEOUT_SECONDS
) -> Callable[[], Awaitable[InlineConnection]]:
    """The ``async_creator`` for ``create_async_engine``: one inline connection per call."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(
            database,
            timeout=0,  # waits for other processes happen in _patiently, off the loop's back
            isolation_level=None,
            check_same_thread=False,  # the pool may close it from a finaliser
            uri=database.startswith("file:"),
        )
        return InlineConnection(conn, timeout=timeout)

    return connect
