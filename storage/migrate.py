"""Apply the Alembic migrations, once, even when several processes start together.

On PostgreSQL the upgrade runs under ``pg_advisory_lock`` so concurrent replicas
queue. On SQLite an exclusive ``flock`` on a file beside the database does the same: the
write transaction alone is not enough, because a process that read the version before
another finished upgrading would replay the same DDL ("table … already exists").
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from storage.engine import MIGRATION_LOCK_ID, Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the single head)."""
    config = alembic_config()

    def _run(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, revision)

    async with _sqlite_migration_lock(db), db.engine.connect() as conn:
        if db.engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            await conn.commit()
        try:
            await conn.run_sync(_run)
            await conn.commit()
        finally:
            if db.engine.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                await conn.commit()


@contextlib.asynccontextmanager
async def _sqlite_migration_lock(db: Database) -> AsyncIterator[None]:
    """Hold ``<database>-migrate.lock`` exclusively while upgrading a SQLite file."""
    path = db.engine.url.database if db.is_sqlite else None
    if not path or path == ":memory:":
        yield
        return
    fd = os.open(f"{path}-migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # Waiting for another process's upgrade must not block the event loop.
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
