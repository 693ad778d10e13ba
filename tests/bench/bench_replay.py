"""Nine days of real Slack traffic (Clojurians, February 2018) through the endpoint.

    .venv/bin/python tests/bench/bench_replay.py [--quick]

All 11,281 message events, each wrapped in a signed ``event_callback`` envelope, sent in
file order by 16 concurrent senders: to Firstline watching #beginners (C053AK3F9,
target 5m, responders anyone), then to the bare Bolt app. Events/s for each.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path
from typing import Any

import benchlib as b
from benchlib import Report, Row
from sqlalchemy import func, select

from storage.engine import Database
from storage.models import Request

TEAM = "T03RZGPFR"
BEGINNERS = "C053AK3F9"
QUICK_EVENTS = 2000


async def count_requests(url: str) -> int:
    db = Database.connect(url)
    try:
        async with db.reading() as session:
            return int(
                await session.scalar(
                    select(func.count()).select_from(Request).where(Request.channel_id == BEGINNERS)
                )
                or 0
            )
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> Report:
    report = Report("2. Clojurians replay (11,281 real events, #beginners watched)")
    if not b.DATASET.is_dir():
        report.note(f"skipped: {b.DATASET} is not there")
        return report
    events = b.load_clojurians()
    if args.quick:
        events = events[:QUICK_EVENTS]
    n_rounds = 1 if args.quick else 3
    b.say(f"replaying {len(events):,} events from {b.DATASET}, {n_rounds} round(s) per server")
    loads: dict[str, list[b.Load]] = {"firstline": [], "bare": []}
    opened: list[int] = []
    with tempfile.TemporaryDirectory(prefix="firstline-bench-") as tmpdir:
        tmp = Path(tmpdir)
        async with b.emulator(TEAM, channels=[BEGINNERS]) as emu, b.client_session() as http:
            common = {"api_url": emu.base_url, "tmp": tmp, "http": http}
            stamps = b.Stamps()

            def warm(i: int) -> dict[str, Any]:
                return b.post("C0WARMUP", "UWARM", stamps.next(), "warm-up")

            def replayed(i: int) -> dict[str, Any]:
                return events[i]

            async def one(name: str, r: int) -> None:
                async with contextlib.AsyncExitStack() as stack:
                    if name == "firstline":
                        db_url = await stack.enter_async_context(
                            b.fresh_database(args.database_url, tmp, f"replay{r}")
                        )
                        await b.cli(
                            db_url, "watch", BEGINNERS, "--workspace", TEAM, "--kind",
                            "requests", "--target", "5m", "--responders", "anyone",
                        )  # fmt: skip
                        server = await stack.enter_async_context(
                            b.firstline(
                                database_url=db_url,
                                log_level=args.log_level,
                                name=f"firstline-{r + 1}",
                                **common,
                            )
                        )
                    else:
                        server = await stack.enter_async_context(
                            b.bare(log_level=args.log_level, name=f"bare-{r + 1}", **common)
                        )
                    slack = b.sender(server.base_url, TEAM, http)
                    await b.closed_loop(b.event_sender(slack, warm), count=100)
                    load = await b.closed_loop(
                        b.event_sender(slack, replayed), count=len(events), server=server
                    )
                    loads[name].append(load)
                    b.say(f"  round {r + 1} {name}: {load.describe()}")
                    if name == "firstline":
                        await server.stop()
                        opened.append(await count_requests(db_url))

            for r in range(n_rounds):
                for name in ("firstline", "bare") if r % 2 == 0 else ("bare", "firstline"):
                    await one(name, r)
    ours = b.median([x.rate for x in loads["firstline"]])
    theirs = b.median([x.rate for x in loads["bare"]])
    report.rows.append(
        Row(
            f"2 Clojurians replay, {len(events):,} events",
            b.rate_text(ours),
            b.rate_text(theirs),
            b.ratio_text(ours, theirs),
            "–",
        )
    )
    cpu = {name: b.median([x.server_cpu / x.sent for x in runs]) for name, runs in loads.items()}
    report.rows.append(
        Row(
            "2 server CPU per replayed event",
            b.ms_text(cpu["firstline"]),
            b.ms_text(cpu["bare"]),
            b.ratio_text(cpu["firstline"], cpu["bare"]),
            "–",
        )
    )
    report.raw["2"] = {
        "firstline": [x.rate for x in loads["firstline"]],
        "bare": [x.rate for x in loads["bare"]],
        "events": len(events),
    }
    report.note(
        f"2: {n_rounds} round(s) per server, alternating which goes first, Firstline on a "
        "fresh database each round; the table quotes the median round. Per round: "
        + "; ".join(
            f"{name} "
            + "/".join(f"{x.rate:,.0f}" for x in runs)
            + " ev/s, latency p50 "
            + "/".join(b.ms_text(b.pct(x.latencies, 50)) for x in runs)
            + " p99 "
            + "/".join(b.ms_text(b.pct(x.latencies, 99)) for x in runs)
            for name, runs in loads.items()
        )
        + f". Firstline opened {'/'.join(str(n) for n in opened)} requests in #beginners. "
        "Events are dispatched in file order to 16 concurrent senders, so neighbours may "
        "arrive slightly out of order (as with Slack); this measures throughput, not the "
        "figures (tests/replay checks those, sequentially)."
    )
    errors = sum(x.errors for runs in loads.values() for x in runs)
    if errors:
        report.note(f"2: non-200 answers: {errors}")
    return report


if __name__ == "__main__":
    b.run(main, __doc__ or "")
