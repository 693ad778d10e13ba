"""Shared fixtures: every database-backed test runs on SQLite and, when a server is
reachable (FIRSTLINE_TEST_PG_URL, set by scripts/test), on PostgreSQL too."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url

from bot.clock import FakeClock

PG_URL = os.environ.get("FIRSTLINE_TEST_PG_URL")
DATABASES = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]

# Monday 23 November 2026, 14:00 UTC: a working afternoon.
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


_PG_MISSING = (
    "PostgreSQL: NOT TESTED. FIRSTLINE_TEST_PG_URL is not set, so every database test ran on "
    "SQLite only. Run ./scripts/test (it starts a throwaway PostgreSQL), or set "
    "FIRSTLINE_TEST_PG_URL=postgresql+asyncpg://user:password@host/db"
)


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        return f"databases: SQLite and PostgreSQL ({make_url(PG_URL).render_as_string()})"
    return _PG_MISSING


def pytest_terminal_summary(
    terminalreporter: object, exitstatus: int, config: pytest.Config
) -> None:
    # Said again at the end, where people look: half of the database tests did not run.
    if not PG_URL and not config.getoption("collectonly"):
        terminalreporter.write_line(_PG_MISSING, yellow=True, bold=True)  # type: ignore[attr-defined]


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/firstline.db"
        return
    import asyncpg

    assert PG_URL is not None
    base = make_url(PG_URL)
    name = f"t_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(
            user=base.username,
            password=base.password,
            host=base.host,
            port=base.port,
            database=base.database,
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[object]:
    from tests.harness import SlackWorld

    async with SlackWorld(database_url=database_url, clock=clock) as w:
        yield w
