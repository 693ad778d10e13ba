"""Apply the Alembic migrations, once, even when several processes start together.

On PostgreSQL the upgrade runs under ``pg_advisory_lock`` so concurrent replicas
queue; on SQLite the write transaction serialises them.
"""

from __future__ import annotations

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

    async with db.engine.connect() as conn:
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
