"""The inline SQLite driver: waits for another process's write lock without stalling the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import Database
from storage.sqlite_driver import inline_connector


async def _make_table(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))


@pytest.mark.asyncio
async def test_a_writer_waits_for_another_process_lock_while_the_loop_keeps_running(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.db"
    db = Database.connect(f"sqlite+aiosqlite:///{path}")
    await _make_table(db)
    other = sqlite3.connect(path, isolation_level=None)  # stands in for a CLI command
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('from the other process')")

    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def write() -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('from serve')"))

    beat = asyncio.create_task(heartbeat())
    writer = asyncio.create_task(write())
    await asyncio.sleep(0.15)
    assert not writer.done(), "the writer must wait for the other process's lock"
    assert ticks >= 5, "the event loop kept running while the writer waited"
    other.execute("COMMIT")
    await asyncio.wait_for(writer, timeout=5)
    beat.cancel()

    async with db.reading() as session:
        bodies = (await session.scalars(text("SELECT body FROM notes ORDER BY id"))).all()
    assert bodies == ["from the other process", "from serve"]
    other.close()
    await db.close()


@pytest.mark.asyncio
async def test_a_lock_held_past_the_patience_raises_a_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "stuck.db"
    seed = sqlite3.connect(path, isolation_level=None)
    seed.execute("PRAGMA journal_mode=WAL")
    seed.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    seed.execute("BEGIN IMMEDIATE")
    conn = await inline_connector(str(path), timeout=0.05)()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await conn.execute("BEGIN IMMEDIATE")
    seed.execute("ROLLBACK")
    await conn.execute("BEGIN IMMEDIATE")  # free again: it goes through
    await conn.execute("INSERT INTO notes DEFAULT VALUES")
    await conn.commit()
    cursor = await conn.execute("SELECT count(*) FROM notes")
    assert await cursor.fetchone() == (1,)
    await conn.close()
    seed.close()


@pytest.mark.asyncio
async def test_a_server_database_checkpoints_in_the_background_not_on_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "server.db"
    db = Database.connect(f"sqlite+aiosqlite:///{path}", background_checkpoints=True)
    await _make_table(db)
    async with db.reading() as session:
        # No transaction copies the WAL back itself: that ends in an fsync on the loop.
        assert (await session.scalar(text("PRAGMA wal_autocheckpoint"))) == 0
    for _ in range(50):
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": "x" * 500})
    checkpointer = db._checkpointer
    assert checkpointer is not None
    busy, frames, copied = await checkpointer.run_once()
    assert busy == 0 and frames >= 50 and copied == frames
    await db.close()  # stops the thread; the file is whole
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM notes").fetchone() == (50,)
    check.close()


@pytest.mark.asyncio
async def test_shell_commands_keep_sqlite_automatic_checkpoints(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    async with db.reading() as session:
        assert (await session.scalar(text("PRAGMA wal_autocheckpoint"))) == 1000
    await db.close()
