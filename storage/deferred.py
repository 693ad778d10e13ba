"""Rows that wait in the session and are written together, in one statement.

    NEW_STEPS = DeferredRows(timers_table, columns=[...])
    NEW_STEPS.add(session, {...})          # no database work yet
    await NEW_STEPS.write(session)         # one statement for every row added

A group of watched posts makes three ladder steps for each new request; written one
statement per request, the round trips add up on PostgreSQL. The rows wait in
``session.info`` instead. They are written when their owner
says (``write``), and otherwise before anything the session flushes (an ORM row may refer
to them) and before it commits, so none is lost; a rollback drops them with the rest.
Code that reads the table in the same transaction must ``write`` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from storage.prepared import Prepared

_ALL: list[DeferredRows] = []  # in creation order: a table referred to comes first


class DeferredRows:
    def __init__(self, table: Table, *, columns: Sequence[str]) -> None:
        self._key = f"firstline.deferred.{table.name}"
        self._table = table
        self._prepared = Prepared(insert(table), columns=columns)
        _ALL.append(self)

    def add(self, session: AsyncSession | Session, row: Mapping[str, Any]) -> None:
        session.info.setdefault(self._key, []).append(row)

    def waiting(self, session: AsyncSession | Session) -> bool:
        return bool(session.info.get(self._key))

    async def write(self, session: AsyncSession) -> None:
        """Write the rows added in this transaction, in one statement."""
        rows = session.info.pop(self._key, None)
        if rows:
            await self._prepared.run_many(session, rows)

    def _write_now(self, session: Session) -> None:
        # SQLAlchemy's sync context (inside its greenlet): Core on the session's connection.
        rows = session.info.pop(self._key, None)
        if rows:
            session.connection().execute(insert(self._table), rows)

    def _drop(self, session: Session) -> None:
        session.info.pop(self._key, None)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for rows in _ALL:
        rows._write_now(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    for rows in _ALL:
        rows._write_now(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for rows in _ALL:
        rows._drop(session)
