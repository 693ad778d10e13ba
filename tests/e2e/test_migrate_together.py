"""Several processes migrating one database at once (replicas starting together) all succeed.

PostgreSQL: the upgrade runs under an advisory lock, so the others wait and then find the
schema at its head. SQLite: the writers queue for the database's write lock.
"""

from __future__ import annotations

import asyncio
import os
import sys

from sqlalchemy import text

from storage.engine import Database
from storage.migrate import alembic_config

PROCESSES = 3


async def test_three_processes_migrating_at_once_all_succeed(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    runs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "handlers.cli",
            "migrate",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    results = await asyncio.gather(*(run.communicate() for run in runs))
    for run, (_, err) in zip(runs, results, strict=True):
        assert run.returncode == 0, err.decode()
        assert b"Traceback" not in err

    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    db = Database.connect(database_url)
    async with db.reading() as session:
        versions = (await session.scalars(text("SELECT version_num FROM alembic_version"))).all()
    await db.close()
    assert versions == [head]
