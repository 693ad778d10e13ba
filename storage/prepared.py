"""Statements on every watched post, compiled once per database and run on the driver.

    _FIND = Prepared(select(requests.c.id).where(requests.c.ts == bindparam("ts")))
    rows = await _FIND.rows(session, {"ts": "1700000000.000100"})

The statement stays a SQLAlchemy Core construct built from the table definitions, and
SQLAlchemy compiles it (once per dialect); what a prepared statement skips is SQLAlchemy's
per-execution work: the cache key, the execution context, result metadata and the
greenlet hop into the sync engine, which on a watched post cost more than the SQL itself
(`tests/bench/README.md` has the profile). Parameters go through each type's own bind
processor and results through its result processor, so values are what
``Connection.execute`` would give (UTC-aware datetimes, booleans).

It runs in the session's current transaction, on the same driver connection: SQLite's
transaction began (``BEGIN IMMEDIATE``, ``storage/engine.py``) when the session took its
connection; SQLAlchemy's asyncpg adapter begins lazily, on its first statement, so a
prepared statement that comes first begins it the same way.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from storage.engine import connection_of
from storage.sqlite_driver import InlineConnection

_DRIVER = "firstline.prepared_driver"  # session.info: (transaction, driver) of this transaction

Processor = Callable[[Any], Any] | None
_T = TypeVar("_T")


class _Driver(Protocol):
    dialect: Dialect
    integrity_errors: tuple[type[BaseException], ...]  # the driver's constraint violations
    errors: tuple[type[BaseException], ...]  # everything else the driver raises

    async def fetch(self, sql: str, args: Sequence[Any]) -> Sequence[Sequence[Any]]: ...

    async def execute_many(self, sql: str, rows: list[Sequence[Any]]) -> None: ...

    async def column_types(self, sql: str) -> Sequence[Any] | None:
        """The type codes of the result columns, as a cursor's description has them."""


class _Sqlite:
    integrity_errors: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, conn: InlineConnection, dialect: Dialect) -> None:
        self._conn = conn
        self.dialect = dialect

    async def fetch(self, sql: str, args: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return await self._conn.fetch(sql, args)

    async def execute_many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        await self._conn.execute_many(sql, rows)

    async def column_types(self, sql: str) -> Sequence[Any] | None:
        return None  # SQLite's cursor description has no types either


class _Asyncpg:
    def __init__(self, conn: Any, dialect: Dialect) -> None:
        import asyncpg  # only installed for PostgreSQL

        self._conn = conn
        self.dialect = dialect
        self.integrity_errors: tuple[type[BaseException], ...] = (
            asyncpg.exceptions.IntegrityConstraintViolationError,
        )
        self.errors: tuple[type[BaseException], ...] = (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        )

    async def fetch(self, sql: str, args: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return cast(Sequence[Sequence[Any]], await self._conn.fetch(sql, *args))

    async def execute_many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def column_types(self, sql: str) -> Sequence[Any] | None:
        # What SQLAlchemy's asyncpg cursor puts in its description: the type OIDs (its
        # numeric result processors need them). asyncpg caches the prepared statement.
        statement = await self._conn.prepare(sql)
        return [attribute.type.oid for attribute in statement.get_attributes()]


async def _driver_of(session: AsyncSession) -> _Driver:
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_DRIVER)
    if cached is not None and cached[0] is transaction:
        return cast(_Driver, cached[1])
    conn = await connection_of(session)
    raw = await conn.get_raw_connection()
    driver: _Driver
    if isinstance(raw.driver_connection, InlineConnection):
        driver = _Sqlite(raw.driver_connection, conn.dialect)
    elif conn.dialect.driver == "asyncpg":
        adapter: Any = raw.dbapi_connection
        # The asyncpg adapter opens its transaction on its first statement; if this is the
        # first, open it here (private to SQLAlchemy, hence the check that it still exists:
        # tests/e2e/test_prepared.py proves a rollback takes these statements with it).
        if not hasattr(adapter, "_transaction") or not hasattr(adapter, "_start_transaction"):
            raise RuntimeError("SQLAlchemy's asyncpg adapter changed: review storage/prepared.py")
        if adapter._transaction is None:
            await adapter._start_transaction()
        driver = _Asyncpg(raw.driver_connection, conn.dialect)
    else:
        raise RuntimeError(f"no prepared statements for the {conn.dialect.name} driver")
    session.info[_DRIVER] = (transaction, driver)
    return driver


@dataclass(frozen=True)
class _Form:
    """One statement compiled for one database."""

    sql: str
    names: tuple[str, ...]  # parameter names in positional order
    binds: tuple[Processor, ...]
    fixed: Mapping[str, Any]  # values the statement carries itself (LIMIT 1)
    row: Any  # a namedtuple class of the result columns, or None
    results: tuple[Processor, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        if self.fixed:
            params = {**self.fixed, **params}
        return [
            value if bind is None or value is None else bind(value)
            for value, bind in zip((params[name] for name in self.names), self.binds, strict=True)
        ]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        results = self.results
        if not any(results):
            return [self.row._make(record) for record in raw]
        return [
            self.row._make(
                value if result is None or value is None else result(value)
                for value, result in zip(record, results, strict=True)
            )
            for record in raw
        ]


async def _compile(
    statement: ClauseElement, driver: _Driver, *, columns: Sequence[str] | None
) -> _Form:
    dialect = driver.dialect
    # ``column_keys`` names an INSERT's columns, as executing it with those keys would.
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=columns))
    names = tuple(compiled.positiontup or ())
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    fixed = {
        name: compiled.binds[name].effective_value
        for name in names
        if not compiled.binds[name].required
    }
    returned: Sequence[Any] = ()
    if isinstance(statement, Select):
        returned = list(statement.selected_columns)
    elif isinstance(statement, UpdateBase):
        returned = list(statement.exported_columns)  # its RETURNING columns, if any
    sql = str(compiled)
    row = namedtuple("Row", [column.key for column in returned]) if returned else None
    codes = (await driver.column_types(sql)) if returned else None
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(
            dialect, codes[i] if codes is not None else None
        )
        for i, column in enumerate(returned)
    )
    return _Form(sql=sql, names=names, binds=binds, fixed=fixed, row=row, results=results)


async def _as_sqlalchemy(driver: _Driver, sql: str, call: Awaitable[_T]) -> _T:
    """Run ``call``, raising the driver's errors as SQLAlchemy raises them from
    ``Connection.execute`` (callers catch ``IntegrityError`` for raced duplicates)."""
    try:
        return await call
    except driver.integrity_errors as error:
        raise exc.IntegrityError(sql, None, cast(Exception, error)) from error
    except driver.errors as error:
        raise exc.DBAPIError(sql, None, cast(Exception, error)) from error


class Prepared:
    """A Core statement run on the driver of the session's transaction (see the module)."""

    def __init__(
        self,
        statement: ClauseElement | Mapping[str, ClauseElement],
        *,
        columns: Sequence[str] | None = None,
    ) -> None:
        """``statement``, or one per dialect name where their SQL differs (an upsert);
        ``columns``: the columns an INSERT sets, each a parameter of the same name."""
        self._statements = statement
        self._columns = list(columns) if columns is not None else None
        self._forms: dict[str, _Form] = {}

    async def _form(self, driver: _Driver) -> _Form:
        name = driver.dialect.name
        form = self._forms.get(name)
        if form is None:
            statement = self._statements
            if isinstance(statement, Mapping):
                statement = statement[name]
            form = self._forms[name] = await _compile(statement, driver, columns=self._columns)
        return form

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        """Every result row, as named tuples of the selected (or returned) columns."""
        driver = await _driver_of(session)
        form = await self._form(driver)
        return form.rows(
            await _as_sqlalchemy(driver, form.sql, driver.fetch(form.sql, form.args(params)))
        )

    async def scalar(self, session: AsyncSession, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        rows = await self.rows(session, params)
        return rows[0][0] if rows else None

    async def run(self, session: AsyncSession, params: Mapping[str, Any]) -> None:
        driver = await _driver_of(session)
        form = await self._form(driver)
        await _as_sqlalchemy(driver, form.sql, driver.fetch(form.sql, form.args(params)))

    async def run_many(self, session: AsyncSession, rows: Iterable[Mapping[str, Any]]) -> None:
        driver = await _driver_of(session)
        form = await self._form(driver)
        await _as_sqlalchemy(
            driver, form.sql, driver.execute_many(form.sql, [form.args(params) for params in rows])
        )
