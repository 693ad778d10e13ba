"""Resident memory of `firstline serve` with 100,000 open requests in the database.

    .venv/bin/python tests/bench/bench_memory.py [--quick]

100,000 unanswered requests (distinct requesters, posted over the last two hours, target
8h so every ladder timer is still pending) are written straight into the database with
SQLAlchemy, as the desk would have written them: request, three escalation timers and the
inbox row of the event that opened it. Then `firstline serve` starts, takes 1,000 more
watched posts and a few `/support status` commands, and its RSS (psutil) is read. The bare
Bolt app takes the same traffic beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchlib as b
from benchlib import Report, Row

TEAM = "TBENCHMEM"
WATCHED = "C0MEMORY"
ADMIN = "UADMIN"
RESPONDER = "UOPS1"
TARGET = 8 * 3600
LADDER = (("nudge", 0.6), ("breach", 1.0), ("second_line", 2.0))
STATUS_COMMANDS = 5


def timers_for(request_id: int, row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "workspace_id": row["workspace_id"],
            "subject": f"request:{request_id}",
            "step": step,
            "due_at": row["posted_at"] + timedelta(seconds=TARGET * fraction),
        }
        for step, fraction in LADDER
    ]


class PeakRss:
    """Samples a server's RSS in the background; ``peak`` is the largest seen."""

    def __init__(self, server: b.ServerProcess) -> None:
        self.server = server
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.server.rss_mb())
            await asyncio.sleep(0.2)

    def __enter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.peak = max(self.peak, self.server.rss_mb())


async def traffic(
    server: b.ServerProcess, http: Any, stamps: b.Stamps, extra: int
) -> tuple[b.Load, list[float], float, float, float]:
    """Posts and status commands; returns the load, command latencies, RSS idle/after/peak."""
    idle = server.rss_mb()
    slack = b.sender(server.base_url, TEAM, http)
    with PeakRss(server) as peak:
        load = await b.closed_loop(
            b.event_sender(slack, lambda i: b.post(WATCHED, b.new_user(), stamps.next())),
            count=extra,
            server=server,
        )
        commands = []
        for _ in range(STATUS_COMMANDS):
            t0 = time.perf_counter()
            await slack.command(command="/support", text="status", user=ADMIN, channel=WATCHED)
            commands.append(time.perf_counter() - t0)
        await asyncio.sleep(1.0)
        after = server.rss_mb()
    return load, commands, idle, after, peak.peak


async def main(args: argparse.Namespace) -> Report:
    n_open, extra = (10_000, 200) if args.quick else (100_000, 1000)
    report = Report(f"3. Resident memory with {n_open:,} open requests")
    stamps = b.Stamps()
    with tempfile.TemporaryDirectory(prefix="firstline-bench-") as tmpdir:
        tmp = Path(tmpdir)
        async with (
            b.emulator(TEAM, users=[(ADMIN, True), (RESPONDER, False)], channels=[WATCHED]) as emu,
            b.client_session() as http,
            b.fresh_database(args.database_url, tmp, "memory") as db_url,
        ):
            await b.cli(
                db_url, "watch", WATCHED, "--workspace", TEAM, "--kind", "requests",
                "--target", "8h",
            )  # fmt: skip
            await b.cli(db_url, "responders", WATCHED, RESPONDER, "--workspace", TEAM)
            now = datetime.now(UTC)
            rows = [
                b.request_row(
                    workspace_id=TEAM,
                    channel_id=WATCHED,
                    posted_at=now - timedelta(hours=2) + timedelta(seconds=7000 * i / n_open),
                    requester=f"UOPEN{i:07d}",
                    target_seconds=TARGET,
                )
                for i in range(n_open)
            ]
            t0 = time.perf_counter()
            await b.seed(db_url, rows, timers_for)
            b.say(
                f"seeded {n_open:,} requests, {3 * n_open:,} timers and {n_open:,} inbox rows "
                f"in {time.perf_counter() - t0:.1f} s"
            )
            with contextlib.suppress(OSError):
                size = (tmp / "memory.db").stat().st_size / 2**20
                b.say(f"database file {size:.0f} MB")
            common = {"api_url": emu.base_url, "tmp": tmp, "http": http}
            results: dict[str, tuple[b.Load, list[float], float, float, float]] = {}
            async with b.firstline(database_url=db_url, log_level=args.log_level, **common) as fl:
                results["firstline"] = await traffic(fl, http, stamps, extra)
            async with b.bare(log_level=args.log_level, **common) as bare:
                results["bare"] = await traffic(bare, http, stamps, extra)
    for name, (load, commands, idle, after, peak) in results.items():
        b.say(
            f"  {name}: RSS idle {idle:.0f} MB, after traffic {after:.0f} MB, peak {peak:.0f} MB; "
            f"{load.describe()}; /support status {', '.join(b.ms_text(c) for c in commands)}"
        )
    fl_load, fl_cmds, fl_idle, fl_after, fl_peak = results["firstline"]
    bare_load, _bare_cmds, bare_idle, bare_after, bare_peak = results["bare"]
    report.rows.append(
        Row(
            f"3 RSS with {n_open // 1000}k open requests, after {extra:,} posts + "
            f"{STATUS_COMMANDS} /support status",
            b.mb_text(fl_after),
            b.mb_text(bare_after),
            b.ratio_text(fl_after, bare_after),
            b.goal_text("≤ 120 MB", fl_after <= 120),
        )
    )
    report.rows.append(
        Row(
            f"3 watched posts/s with {n_open // 1000}k open requests",
            b.rate_text(fl_load.rate),
            b.rate_text(bare_load.rate),
            b.ratio_text(fl_load.rate, bare_load.rate),
            "–",
        )
    )
    report.rows.append(
        Row(
            f"3 /support status with {n_open // 1000}k open, median",
            b.ms_text(b.median(fl_cmds)),
            "–",
            "–",
            "–",
        )
    )
    report.raw["3"] = {
        name: {"idle": r[2], "after": r[3], "peak": r[4], "rate": r[0].rate, "status": r[1]}
        for name, r in results.items()
    }
    report.note(
        f"3: RSS Firstline idle {fl_idle:.0f} MB → {fl_after:.0f} MB after traffic (peak "
        f"{fl_peak:.0f} MB); bare {bare_idle:.0f} → {bare_after:.0f} MB (peak {bare_peak:.0f} MB). "
        f"Posts: Firstline {fl_load.describe()}; bare {bare_load.describe()}. The bare app has "
        "no /support listener, so its commands are answered 404 by Bolt."
    )
    return report


if __name__ == "__main__":
    b.run(main, __doc__ or "")
