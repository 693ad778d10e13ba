"""Prepared statements (storage/prepared.py) behave like SQLAlchemy's own execution: same
values in and out, inside the session's transaction, rolled back with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from storage.engine import Database
from storage.migrate import upgrade
from storage.models import Request, Timer
from storage.prepared import Prepared

_REQUESTS = cast(Table, Request.__table__)
_TIMERS = cast(Table, Timer.__table__)
_INSERT = Prepared(
    insert(_REQUESTS).returning(_REQUESTS.c.id, _REQUESTS.c.posted_at),
    columns=[c.key for c in _REQUESTS.columns if c.key != "id"],
)
_LATEST = Prepared(
    select(_REQUESTS.c.id, _REQUESTS.c.posted_at, _REQUESTS.c.deleted, _REQUESTS.c.waited_seconds)
    .where(_REQUESTS.c.channel_id == bindparam("channel_id"))
    .order_by(_REQUESTS.c.posted_at.desc())
    .limit(1)
)
_TIMER_ROWS = Prepared(insert(_TIMERS), columns=["workspace_id", "subject", "step", "due_at"])
AT = datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=UTC)


def opening(ts: str, at: datetime) -> dict[str, object]:
    return {
        "workspace_id": "T1",
        "channel_id": "C1",
        "kind": "requests",
        "ts": ts,
        "posted_at": at,
        "requester": "U1",
        "text": "Exports are stuck",
        "fingerprint": None,
        "occurrences": 1,
        "last_occurrence_at": at,
        "target_seconds": 300,
        "deadline_at": at + timedelta(minutes=5),
        "first_response_at": None,
        "first_responder": None,
        "first_response_via": None,
        "first_response_seconds": None,
        "closed_at": None,
        "closed_by": None,
        "close_seconds": None,
        "deleted": False,
        "imported": False,
        "escalation_key": None,
        "next_asked_at": None,
        "next_due_at": None,
        "waiting_since": None,
        "waited_seconds": 1.5,
        "resolve_target_seconds": None,
        "resolve_due_at": None,
    }


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.connect(database_url)
    await upgrade(database)
    try:
        yield database
    finally:
        await database.close()


async def test_values_round_trip_as_sqlalchemy_gives_them(db: Database) -> None:
    async with db.transaction() as session:
        [(request_id, returned_at)] = await _INSERT.rows(session, opening("1.000100", AT))
        await _INSERT.rows(session, opening("2.000100", AT - timedelta(hours=1)))
        # The session's own queries see the rows in the same transaction.
        assert await session.scalar(select(func.count()).select_from(Request)) == 2
    assert returned_at == AT
    async with db.transaction() as session:
        latest = await _LATEST.rows(session, {"channel_id": "C1"})  # LIMIT 1 is its own value
        orm = await session.get(Request, request_id)
    assert len(latest) == 1
    row = latest[0]
    assert (row.id, row.posted_at, row.deleted, row.waited_seconds) == (request_id, AT, False, 1.5)
    assert row.posted_at.tzinfo is not None  # aware UTC, like the ORM's
    assert orm is not None and orm.posted_at == row.posted_at


async def test_a_rollback_takes_prepared_statements_with_it(db: Database) -> None:
    # First in its transaction (the asyncpg adapter begins lazily: prepared begins it).
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with db.transaction() as session:
            await _TIMER_ROWS.run_many(
                session,
                [
                    {"workspace_id": "T1", "subject": "request:1", "step": s, "due_at": AT}
                    for s in ("nudge", "escalate")
                ],
            )
            await _INSERT.rows(session, opening("3.000100", AT))
            raise RuntimeError("changed my mind")
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Timer)) == 0
        assert await session.scalar(select(func.count()).select_from(Request)) == 0


async def test_a_missing_parameter_is_an_error_not_a_null(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(KeyError):
            await _LATEST.rows(session, {})


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(db: Database) -> None:
    # The desk catches IntegrityError for two deliveries of one message that raced.
    async with db.transaction() as session:
        await _INSERT.rows(session, opening("4.000100", AT))
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await _INSERT.rows(session, opening("4.000100", AT))
    async with db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 1
