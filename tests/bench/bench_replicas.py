"""Replicas on PostgreSQL: 1, 2 and 3 `firstline serve` processes beside a bare Bolt app.

    .venv/bin/python tests/bench/bench_replicas.py --database-url postgresql+asyncpg://… [--quick]

5a. Watched-channel posts (each opens a request: inbox row, request, three ladder timers,
    committed before the 200), closed loop at concurrency 16 spread round-robin over N
    replicas on one fresh database, N = 1, 2, 3; the bare Bolt app (one process) in the
    same rounds. Events/s and ack latency p50/p99; the median of alternating rounds.
5b. How many workspaces one replica sustains at Slack's ceiling of 30,000 events per
    workspace per hour (8.33 ev/s each): open loop (paced) at W × 8.33 ev/s for a step,
    W ramped up, until the criterion fails: **p99 ack latency over 1 s, or any answer
    that is not 200** (Slack retries after 3 s, so 1 s leaves a margin). Every event is a
    post that opens a request in a channel with a 10 s target, so during the ramp the
    ladder (DMs at 6 s, thread message at 10 s, edit and second-line DM at 20 s) runs too:
    the pessimistic workload (real traffic is mostly chatter in unwatched channels).
5c. Escalation lateness p99 under that load: one more step at the largest sustained W;
    afterwards, how late each ladder timer due in that step fired (``fired_at - due_at``,
    recorded by the sweeper) and how late its message reached Slack (emulator receipt time
    minus the timer's due time).

Prints figures and asserts nothing. Needs PostgreSQL (replicas share one database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import benchlib as b
from benchlib import Load, Report, Row

TEAM = "TBENCHREP"
CHANNELS = [f"C0REP{i:02d}" for i in range(8)]
RESPONDERS = ("UREPA", "UREPB")
LEAD = "UREPLEAD"
PER_WORKSPACE = 30_000 / 3600  # Slack's ceiling: events per workspace per second
P99_LIMIT = 1.0
WARMUP = 200


async def watch_all(url: str, target: str) -> None:
    for channel in CHANNELS:
        await b.cli(
            url, "watch", channel, "--workspace", TEAM, "--kind", "requests", "--target", target,
            "--escalate", LEAD,
        )  # fmt: skip
        await b.cli(url, "responders", channel, *RESPONDERS, "--workspace", TEAM)


def maker(stamps: b.Stamps) -> Any:
    return lambda i: b.post(CHANNELS[i % len(CHANNELS)], b.new_user(), stamps.next())


def spread(servers: list[b.ServerProcess], http: aiohttp.ClientSession, make: Any) -> b.Send:
    """Round-robin over the replicas, as a load balancer would."""
    senders = [b.sender(s.base_url, TEAM, http) for s in servers]

    async def send(i: int) -> int:
        return int((await senders[i % len(senders)].event(make(i))).status)

    return send


@contextlib.asynccontextmanager
async def replicas(
    n: int, *, url: str, common: dict[str, Any], log_level: str
) -> AsyncIterator[list[b.ServerProcess]]:
    async with contextlib.AsyncExitStack() as stack:
        servers = [
            await stack.enter_async_context(
                b.firstline(database_url=url, log_level=log_level, name=f"replica{n}-{k}", **common)
            )
            for k in range(n)
        ]
        yield servers


def server_cpu(servers: list[b.ServerProcess]) -> float:
    return sum(s.cpu_seconds() for s in servers)


async def throughput(
    args: argparse.Namespace, tmp: Path, emu: Any, http: aiohttp.ClientSession, report: Report
) -> None:
    n_rounds, seconds = (1, 4.0) if args.quick else (3, 8.0)
    stamps = b.Stamps()
    common = {"api_url": emu.base_url, "tmp": tmp, "http": http}
    results: dict[str, list[Load]] = {}
    cpu: dict[str, list[float]] = {}
    async with b.bare(log_level=args.log_level, **common) as bare:
        bare_send = b.event_sender(b.sender(bare.base_url, TEAM, http), maker(stamps))
        await b.closed_loop(bare_send, count=WARMUP)
        for n in (1, 2, 3):
            async with b.fresh_database(args.database_url, tmp, f"rep{n}") as url:
                await watch_all(url, "5m")
                async with replicas(n, url=url, common=common, log_level=args.log_level) as fleet:
                    send = spread(fleet, http, maker(stamps))
                    await b.closed_loop(send, count=WARMUP)
                    for r in range(n_rounds):
                        pair = [("bare", bare_send, [bare]), (f"{n}", send, fleet)]
                        for name, fn, servers in pair if r % 2 == 0 else reversed(pair):
                            before = server_cpu(servers)
                            load = await b.closed_loop(fn, duration=seconds)
                            used = server_cpu(servers) - before
                            key = f"bare@{n}" if name == "bare" else name
                            results.setdefault(key, []).append(load)
                            cpu.setdefault(key, []).append(used / max(load.sent, 1))
                            b.say(
                                f"  5a {n} replica(s) round {r + 1} {key}: {load.describe()}, "
                                f"server CPU {used / max(load.sent, 1) * 1000:.2f} ms/event"
                            )
    bare_loads = [x for key, loads in results.items() if key.startswith("bare") for x in loads]
    bare_rate = b.median([x.rate for x in bare_loads])
    bare_cpu = b.median([c for key, v in cpu.items() if key.startswith("bare") for c in v])
    for n in (1, 2, 3):
        loads = results[str(n)]
        pair_bare = results[f"bare@{n}"]
        rate = b.median([x.rate for x in loads])
        same_run_bare = b.median([x.rate for x in pair_bare])
        report.rows.append(
            Row(
                f"5a watched posts/s, {n} replica(s) on PostgreSQL",
                b.rate_text(rate),
                b.rate_text(same_run_bare),
                b.ratio_text(rate, same_run_bare),
                "–",
            )
        )
        for q in (50, 99):
            ours = b.median([b.pct(x.latencies, q) for x in loads])
            theirs = b.median([b.pct(x.latencies, q) for x in pair_bare])
            report.rows.append(
                Row(
                    f"5a ack latency p{q}, {n} replica(s), closed loop ×16",
                    b.ms_text(ours),
                    b.ms_text(theirs),
                    b.ratio_text(ours, theirs),
                    "–",
                )
            )
        report.raw[f"5a_{n}"] = {
            "rates": [x.rate for x in loads],
            "bare_rates": [x.rate for x in pair_bare],
            "cpu_ms_per_event": [c * 1000 for c in cpu[str(n)]],
        }
    report.note(
        f"5a: {n_rounds} round(s) of {seconds:.0f} s per configuration after {WARMUP} warm-up "
        f"events, alternating which server goes first; bare Bolt median over all rounds "
        f"{b.rate_text(bare_rate)}. Server CPU per post (all replicas together): "
        + "; ".join(f"{n} replica(s) {b.median(cpu[str(n)]) * 1000:.2f} ms" for n in (1, 2, 3))
        + f"; bare {bare_cpu * 1000:.2f} ms. The machine has 2 cores shared with "
        "PostgreSQL, the load generator and the emulator: more replicas cannot add CPU here, "
        "they show that the work is shared without conflicts, not how it scales on more cores."
    )


async def ramp(
    args: argparse.Namespace, tmp: Path, emu: Any, http: aiohttp.ClientSession, report: Report
) -> None:
    step_seconds = 5.0 if args.quick else 12.0
    steps = [1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80]
    stamps = b.Stamps()
    common = {"api_url": emu.base_url, "tmp": tmp, "http": http}
    sustained = on_time = 0
    seen: list[str] = []
    async with b.fresh_database(args.database_url, tmp, "ramp") as url:
        await watch_all(url, "10s")
        async with b.firstline(
            database_url=url, log_level=args.log_level, name="ramp", **common
        ) as server:
            send = spread([server], http, maker(stamps))
            await b.closed_loop(send, count=WARMUP // 4)
            ladder_ok = True
            for w in steps:
                start = datetime.now(UTC)
                load = await b.paced(
                    send, rate=w * PER_WORKSPACE, duration=step_seconds, server=server
                )
                lag = await ladder_lag(url, since=start, until=datetime.now(UTC))
                p99, lag99 = b.pct(load.latencies, 99), b.pct(lag, 99) if lag else 0.0
                ok = p99 <= P99_LIMIT and load.errors == 0
                ladder_ok = ladder_ok and lag99 <= P99_LIMIT
                seen.append(
                    f"W={w}: ack p99 {b.ms_text(p99)}{'' if ok else ' ✗'}, "
                    f"ladder p99 {b.ms_text(lag99)}{'' if ladder_ok else ' ✗'}"
                )
                b.say(
                    f"  5b {w} workspace(s) = {w * PER_WORKSPACE:.1f} ev/s: {load.describe()}; "
                    f"timers due in the step late by p99 {b.ms_text(lag99)} ({len(lag)} timers)"
                )
                if not ok:
                    break
                sustained = w
                on_time = w if ladder_ok else on_time
    report.rows.append(
        Row(
            "5b workspaces one replica sustains, 8.33 ev/s each (p99 ack ≤ 1 s, no errors)",
            f"{sustained} ({sustained * PER_WORKSPACE:.0f} ev/s)",
            "–",
            "–",
            "–",
        )
    )
    report.rows.append(
        Row(
            "5b … and with the escalation ladder on time (timer lateness p99 ≤ 1 s)",
            f"{on_time} ({on_time * PER_WORKSPACE:.0f} ev/s)",
            "–",
            "–",
            "–",
        )
    )
    report.note(
        f"5b: steps of {step_seconds:.0f} s, paced, one database for the whole ramp; every "
        "event opens a request whose 10 s ladder runs during the ramp (3 timers, 5 messages "
        "each). Ladder lateness per step: timers due during the step, fired or not when it "
        "ended (not yet fired counts as late by now − due). " + ", ".join(seen)
    )
    report.raw["5b"] = {"sustained": sustained, "on_time": on_time, "steps": seen}
    if sustained:
        await lateness(args, tmp, emu, http, report, workspaces=sustained, stamps=stamps)


async def lateness(
    args: argparse.Namespace,
    tmp: Path,
    emu: Any,
    http: aiohttp.ClientSession,
    report: Report,
    *,
    workspaces: int,
    stamps: b.Stamps,
) -> None:
    """5c: a fresh database and replica, one step at ``workspaces``, then its ladders."""
    seconds = 10.0 if args.quick else 30.0
    common = {"api_url": emu.base_url, "tmp": tmp, "http": http}
    async with b.fresh_database(args.database_url, tmp, "lateness") as url:
        await watch_all(url, "10s")
        async with b.firstline(
            database_url=url, log_level=args.log_level, name="lateness", **common
        ) as server:
            send = spread([server], http, maker(stamps))
            await b.closed_loop(send, count=WARMUP // 4)
            await asyncio.sleep(25)  # the warm-up's ladders finish
            start = datetime.now(UTC)
            calls_before = len(emu.calls)
            load = await b.paced(
                send, rate=workspaces * PER_WORKSPACE, duration=seconds, server=server
            )
            end = datetime.now(UTC)
            b.say(f"  5c {workspaces} workspace(s): {load.describe()}")
            await asyncio.sleep(25)  # the last posts' second line is due 20 s after them
            lag = await ladder_lag(url, since=start, until=end)
            calls = len(emu.calls) - calls_before
    p99 = b.pct(lag, 99) if lag else float("nan")
    report.rows.append(
        Row(
            f"5c escalation lateness p99 at {workspaces} workspaces ({seconds:.0f} s step)",
            b.ms_text(p99),
            "–",
            "–",
            b.goal_text("≤ 1 s", p99 <= 1.0),
        )
    )
    report.note(
        f"5c: fresh database and replica; {len(lag)} ladder timers due during a "
        f"{seconds:.0f} s step at {workspaces * PER_WORKSPACE:.0f} ev/s, measured 25 s after "
        f"it: late by p50 {b.ms_text(b.pct(lag, 50))}, p99 {b.ms_text(p99)}, max "
        f"{b.ms_text(max(lag))} (not yet fired counts as late by now − due); ack latency "
        f"meanwhile p99 {b.ms_text(b.pct(load.latencies, 99))}; {calls} Slack calls by then. "
        "Lateness is the sweeper's own record (fired_at − due_at); each message then goes "
        "through the outbox."
    )


async def ladder_lag(url: str, *, since: datetime, until: datetime) -> list[float]:
    """How late each timer due in [since, until) fired; not fired yet: late by now − due."""
    from sqlalchemy import select

    from storage.engine import Database
    from storage.models import Timer

    now = datetime.now(UTC)
    db = Database.connect(url)
    try:
        async with db.reading() as session:
            rows = await session.execute(
                select(Timer.due_at, Timer.late_seconds, Timer.fired_at).where(
                    Timer.due_at >= since, Timer.due_at < until
                )
            )
            return [
                float(late)
                if fired is not None and late is not None
                else max(0.0, (now - due).total_seconds())
                for due, late, fired in rows
            ]
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> Report:
    report = Report("5. Replicas on PostgreSQL")
    if not args.database_url or not args.database_url.startswith("postgresql"):
        report.note("5: needs --database-url postgresql+asyncpg://… (replicas share one database)")
        return report
    users = [(u, False) for u in (*RESPONDERS, LEAD)]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="firstline-bench-") as tmpdir:
        tmp = Path(tmpdir)
        async with (
            b.emulator(TEAM, users=users, channels=CHANNELS) as emu,
            b.client_session() as http,
        ):
            await throughput(args, tmp, emu, http, report)
            await ramp(args, tmp, emu, http, report)
    report.note(f"5: took {time.monotonic() - t0:.0f} s")
    return report


if __name__ == "__main__":
    b.run(main, __doc__ or "")
