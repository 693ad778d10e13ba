"""SQLite allows one server: a second `firstline serve` on the same file refuses to start."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.errors import ConfigurationError
from storage.server_lock import ServerLock
from tests.harness import SlackWorld

REFUSAL = "Another Firstline server is already using this SQLite database"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/firstline.db"


async def test_a_second_server_in_process_is_refused_until_the_first_stops(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with SlackWorld(database_url=sqlite_url, clock=clock) as first:
        second = SlackWorld(database_url=sqlite_url, clock=clock)
        await second.slack.start()
        try:
            with pytest.raises(ConfigurationError) as refused:
                await second.start_server()
            assert REFUSAL in refused.value.message
            assert f"pid {os.getpid()}" in refused.value.message  # names the holder
            assert "use PostgreSQL" in refused.value.message
            await first.command("watch requests")  # the first one still serves
            await first.stop_server()
            await second.start_server()  # released on exit: now it starts
            await second.stop_server()
        finally:
            await second.slack.stop()


async def test_a_second_firstline_serve_process_exits_with_the_message(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with SlackWorld(database_url=sqlite_url, clock=clock) as first:
        env = {
            **os.environ,
            "DATABASE_URL": sqlite_url,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": "another-signing-secret",
            "SLACK_API_URL": first.slack.base_url,
            "PORT": str(free_port()),
        }
        firstline = Path(sys.executable).with_name("firstline")
        process = await asyncio.create_subprocess_exec(
            str(firstline),
            "serve",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 2, stderr.decode()
        assert REFUSAL in stderr.decode()
        assert "Traceback" not in stderr.decode()


def test_the_lock_is_only_for_sqlite_files(tmp_path: Path) -> None:
    assert ServerLock.for_database("postgresql+asyncpg://u:p@localhost/db") is None
    assert ServerLock.for_database("sqlite+aiosqlite:///:memory:") is None
    lock = ServerLock.for_database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert lock is not None and lock.path == tmp_path / "x.db.serve.lock"
