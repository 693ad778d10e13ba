"""The timer sweep's claim query plan with 100,000 pending timers (and 100,000 fired ones).

    .venv/bin/python tests/bench/explain_timers.py [--database-url postgresql+asyncpg://…]

Writes the timers into a fresh database (migrated like production), ANALYZEs it and prints
the plan of ``storage.timers.claim_due``'s statement twice: with 20 timers due (the sweep
keeping up) and with 50,000 due (a backlog after an outage). SQLite prints EXPLAIN QUERY
PLAN; PostgreSQL EXPLAIN ANALYZE (so its execution time is a measurement too).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchlib as b
from sqlalchemy import insert

from storage.engine import Database
from storage.migrate import upgrade
from storage.models import Timer
from storage.timers import claim_statement

PENDING, FIRED = 100_000, 100_000


async def explain(url: str, *, due: int) -> list[str]:
    db = Database.connect(url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        rows = [
            {
                "workspace_id": "TPLAN",
                "subject": f"request:{i}",
                "step": "nudge",
                "due_at": now - timedelta(seconds=(due - i) * 0.05)
                if i < due
                else now + timedelta(seconds=i),
                "fired_at": None,
            }
            for i in range(PENDING)
        ]
        rows += [
            {
                "workspace_id": "TPLAN",
                "subject": f"request:{i}",
                "step": "breach",
                "due_at": now - timedelta(hours=1, seconds=i),
                "fired_at": now - timedelta(hours=1),
            }
            for i in range(FIRED)
        ]
        async with db.transaction() as session:
            for start in range(0, len(rows), 10_000):
                await session.execute(insert(Timer), rows[start : start + 10_000])
        async with db.transaction() as session:
            await session.execute(claim_statement(limit=200).params(now=now))  # warm
            conn = await session.connection()
            await conn.exec_driver_sql("ANALYZE" if db.is_sqlite else "ANALYZE timers")
        async with db.transaction() as session:
            conn = await session.connection()
            sql = str(
                claim_statement(limit=200)
                .params(now=now)
                .compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            )
            prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, TIMING OFF) "
            result = await conn.exec_driver_sql(prefix + sql)
            return [str(row[-1] if db.is_sqlite else row[0]) for row in result]
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="firstline-explain-") as tmpdir:
        for due in (20, 50_000):
            async with b.fresh_database(args.database_url, Path(tmpdir), f"plan{due}") as url:
                b.say(f"\n{due:,} of {PENDING:,} pending timers due ({FIRED:,} fired beside):")
                for line in await explain(url, due=due):
                    b.say(f"    {line}")


if __name__ == "__main__":
    for note in b.machine_notes():
        b.say(f"# {note}")
    asyncio.run(main(b.parser(__doc__ or "").parse_args()))
