"""Escalation lateness: 10,000 ladder timers falling due over 60 s of real time (4), and
20 timers/s falling due among 100,000 pending ones spread over a day (4b).

    .venv/bin/python tests/bench/bench_timers.py [--quick] [--only 4|4b]

3,334 unanswered requests are written with their ladder timers (subject "request:<id>",
steps nudge → breach → second_line, as the desk schedules them) so that the 10,000 due
instants are spread evenly over the next 60 s; the watched channel has a responder, so
nudges DM them and breaches post in the thread. `firstline serve` starts on the real
clock; once every timer has fired, lateness = fired_at − due_at comes from the timers
table (``Timer.late_seconds``, set by the desk).

Baseline: a plain ``loop.call_at`` for the same 10,000 due instants in this process
(in memory, no durability, no work per timer).

4b writes 100,000 timers (33,334 requests): those due in a 60 s window (20/s, 1,200) and
the rest spread evenly over the following 24 hours, so the sweep's claim query runs
against 100,000 pending rows throughout; lateness is read for the window's timers once
they have all fired. ``--quick`` keeps the 100,000 but shortens the window to 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchlib as b
from benchlib import Report, Row
from sqlalchemy import func, select

from storage.engine import Database
from storage.models import OutboxMessage, Timer

TEAM = "TBENCHESC"
WATCHED = "C0ESCALATE"
RESPONDER = "UOPS1"
TARGET = 300
LADDER = ("nudge", "breach", "second_line")
LEAD = 15.0  # seconds from seeding to the first due instant: time for the server to start


async def call_at_baseline(offsets: list[float]) -> list[float]:
    """Lateness of plain asyncio timers at the same relative instants."""
    loop = asyncio.get_running_loop()
    base = loop.time() + 1.0
    late: list[float] = []
    done: asyncio.Future[None] = loop.create_future()

    def fire(when: float) -> None:
        late.append(max(0.0, loop.time() - when))
        if len(late) == len(offsets) and not done.done():
            done.set_result(None)

    for offset in offsets:
        loop.call_at(base + offset, fire, base + offset)
    await done
    return late


async def pending(db: Database, *, until: datetime) -> tuple[int, int]:
    """Timers due by ``until`` not fired yet, and messages not delivered yet."""
    async with db.reading() as session:
        timers = await session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(Timer.fired_at.is_(None), Timer.due_at <= until)
        )
        outbox = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed.is_(False))
        )
    return int(timers or 0), int(outbox or 0)


@dataclass
class Run:
    """What one server run left in the timers and outbox tables."""

    first_due: datetime
    window_ends: datetime
    fired: list[Any]
    sent: list[Any]
    calls: Counter[str]
    timers_left: int
    outbox_left: int
    drained: float
    cpu: float
    others: float
    seconds: float
    rss: float


async def run_ladder(
    args: argparse.Namespace, *, in_window: int, window: float, later: int, name: str
) -> Run:
    """Seed ``in_window`` timers due evenly over ``window`` s (from LEAD s after seeding) and
    ``later`` more spread over the following 24 h, run `firstline serve` until every timer
    of the window has fired (and, without ``later``, every message is delivered)."""
    n_timers = in_window + later
    n_requests = math.ceil(n_timers / len(LADDER))
    day = 24 * 3600.0
    offsets = [i * window / in_window for i in range(in_window)]
    offsets += [window + 1 + i * day / max(later, 1) for i in range(later)]
    with tempfile.TemporaryDirectory(prefix="firstline-bench-") as tmpdir:
        tmp = Path(tmpdir)
        async with (
            b.emulator(TEAM, users=[(RESPONDER, False)], channels=[WATCHED]) as emu,
            b.client_session() as http,
            b.fresh_database(args.database_url, tmp, name) as db_url,
        ):
            await b.cli(
                db_url, "watch", WATCHED, "--workspace", TEAM, "--kind", "requests",
                "--target", "5m",
            )  # fmt: skip
            await b.cli(db_url, "responders", WATCHED, RESPONDER, "--workspace", TEAM)
            seeding = time.monotonic()
            first_due = datetime.now(UTC) + timedelta(seconds=LEAD + later / 10_000)
            dues = [first_due + timedelta(seconds=o) for o in offsets]
            rows, steps = [], {}
            for r in range(n_requests):
                mine = [(LADDER[i % 3], dues[i]) for i in range(3 * r, min(3 * r + 3, n_timers))]
                posted = mine[0][1] - timedelta(seconds=0.6 * TARGET)
                row = b.request_row(
                    workspace_id=TEAM,
                    channel_id=WATCHED,
                    posted_at=posted,
                    requester=f"UASK{r:07d}",
                    target_seconds=TARGET,
                )
                rows.append(row)
                steps[row["ts"]] = mine

            def timers_for(request_id: int, row: dict[str, Any]) -> list[dict[str, Any]]:
                return [
                    {
                        "workspace_id": TEAM,
                        "subject": f"request:{request_id}",
                        "step": step,
                        "due_at": due,
                    }
                    for step, due in steps[row["ts"]]
                ]

            await b.seed(db_url, rows, timers_for)
            lead = (first_due - datetime.now(UTC)).total_seconds()
            b.say(
                f"seeded {n_requests:,} requests / {n_timers:,} timers in "
                f"{time.monotonic() - seeding:.0f} s; first due in {lead:.1f} s"
            )
            common = {"api_url": emu.base_url, "tmp": tmp, "http": http}
            db = Database.connect(db_url)
            window_ends = dues[in_window - 1]
            try:
                async with b.firstline(
                    database_url=db_url, log_level=args.log_level, **common
                ) as fl:
                    margin = (first_due - datetime.now(UTC)).total_seconds()
                    b.say(f"  server ready {margin:.1f} s before the first timer is due")
                    meter = b.CpuMeter(fl)
                    t_run = time.perf_counter()
                    deadline = time.monotonic() + margin + window + 180
                    while time.monotonic() < deadline:
                        timers_left, outbox_left = await pending(db, until=window_ends)
                        if timers_left == 0 and (later or outbox_left == 0):
                            break
                        await asyncio.sleep(1.0)
                    drained = (datetime.now(UTC) - window_ends).total_seconds()
                    timers_left, outbox_left = await pending(db, until=window_ends)
                    cpu, _, others = meter.stop()
                    t_run = time.perf_counter() - t_run
                    rss = fl.rss_mb()
                async with db.reading() as session:
                    fired = (
                        await session.execute(
                            select(
                                Timer.due_at, Timer.fired_at, Timer.late_seconds, Timer.outcome
                            ).where(Timer.due_at <= window_ends, Timer.subject.like("request:%"))
                        )
                    ).all()
                    sent = (
                        await session.execute(
                            select(
                                OutboxMessage.created_at, OutboxMessage.sent_at, OutboxMessage.op
                            ).where(OutboxMessage.sent_at.is_not(None))
                        )
                    ).all()
            finally:
                await db.close()
            calls = Counter(c.method for c in emu.calls)
    return Run(
        first_due=first_due,
        window_ends=window_ends,
        fired=list(fired),
        sent=list(sent),
        calls=calls,
        timers_left=timers_left,
        outbox_left=outbox_left,
        drained=drained,
        cpu=cpu,
        others=others,
        seconds=t_run,
        rss=rss,
    )


def by_slice(run: Run, window: float, slices: int = 6) -> list[list[float]]:
    out: list[list[float]] = [[] for _ in range(slices)]
    for r in run.fired:
        if r.late_seconds is not None:
            offset = (r.due_at - run.first_due).total_seconds()
            out[min(slices - 1, max(0, int(offset / window * slices)))].append(r.late_seconds)
    return out


async def main(args: argparse.Namespace) -> Report:
    report = Report("4. Escalation lateness")
    if args.only in (None, "4"):
        await ten_thousand(args, report)
    if args.only in (None, "4b"):
        await at_scale(args, report)
    return report


async def ten_thousand(args: argparse.Namespace, report: Report) -> None:
    n_timers, window = (2_000, 10.0) if args.quick else (10_000, 60.0)
    b.say(f"4. {n_timers:,} timers due over {window:.0f} s")
    run = await run_ladder(args, in_window=n_timers, window=window, later=0, name="timers")
    fired = run.fired
    late = [float(r.late_seconds) for r in fired if r.late_seconds is not None]
    disagree = max(
        (
            abs(max(0.0, (r.fired_at - r.due_at).total_seconds()) - r.late_seconds)
            for r in fired
            if r.fired_at is not None and r.late_seconds is not None
        ),
        default=0.0,
    )
    outcomes = Counter(r.outcome for r in fired)
    delivery = [(r.sent_at - r.created_at).total_seconds() for r in run.sent]
    offsets = [i * window / n_timers for i in range(n_timers)]
    b.say(f"  baseline: loop.call_at for the same {n_timers:,} instants")
    base = await call_at_baseline(offsets)
    for q, label in ((50, "p50"), (99, "p99"), (100, "max")):
        ours, theirs = b.pct(late, q), b.pct(base, q)
        report.rows.append(
            Row(
                f"4 escalation lateness {label}, {n_timers // 1000}k timers over {window:.0f} s",
                b.ms_text(ours),
                b.ms_text(theirs),
                b.ratio_text(ours, theirs),
                b.goal_text("p99 ≤ 1 s", ours <= 1.0) if q == 99 else "",
            )
        )
    report.rows.append(
        Row(
            "4 escalation message sent after its step fired, p99",
            b.ms_text(b.pct(delivery, 99)),
            "–",
            "–",
            "–",
        )
    )
    report.raw["4"] = {
        "late": {q: b.pct(late, q) for q in (50, 90, 99, 100)},
        "baseline": {q: b.pct(base, q) for q in (50, 90, 99, 100)},
        "delivery": {q: b.pct(delivery, q) for q in (50, 90, 99, 100)},
    }
    report.note(
        f"4: {len(late):,} of {n_timers:,} timers fired ({run.timers_left} still pending at the "
        f"end), outcomes {dict(outcomes)}; fired_at − due_at matches late_seconds within "
        f"{disagree * 1000:.1f} ms; "
        f"lateness p90 {b.ms_text(b.pct(late, 90))}; p99 by sixth of the window (in due "
        f"order) {' / '.join(b.ms_text(b.pct(x, 99)) for x in by_slice(run, window))}. "
        f"Outbox: {len(delivery):,} messages sent "
        f"(Slack calls {dict(run.calls)}), fired→sent p50 {b.ms_text(b.pct(delivery, 50))} p99 "
        f"{b.ms_text(b.pct(delivery, 99))} max {b.ms_text(b.pct(delivery, 100))}; "
        f"{run.outbox_left} undelivered at the end; everything fired and delivered "
        f"{run.drained:.1f} s after the last due instant. Server CPU {run.cpu:.1f} s over the "
        f"{run.seconds:.0f} s run ({run.cpu / run.seconds:.0%} of a core; everything else on "
        f"the machine {run.others / run.seconds:.0%}), "
        f"RSS {run.rss:.0f} MB. Baseline call_at p50 {b.ms_text(b.pct(base, 50))}."
    )


async def at_scale(args: argparse.Namespace, report: Report) -> None:
    total, rate = 100_000, 20.0
    window = 15.0 if args.quick else 60.0
    in_window = int(rate * window)
    b.say(f"4b. {in_window:,} timers due over {window:.0f} s among {total:,} pending")
    run = await run_ladder(
        args, in_window=in_window, window=window, later=total - in_window, name="timers100k"
    )
    late = [float(r.late_seconds) for r in run.fired if r.late_seconds is not None]
    offsets = [i * window / in_window for i in range(in_window)]
    base = await call_at_baseline(offsets)
    for q, label in ((50, "p50"), (99, "p99")):
        ours, theirs = b.pct(late, q), b.pct(base, q)
        report.rows.append(
            Row(
                f"4b escalation lateness {label}, {rate:.0f} timers/s due among "
                f"{total // 1000}k pending",
                b.ms_text(ours),
                b.ms_text(theirs),
                b.ratio_text(ours, theirs),
                b.goal_text("p99 ≤ 0.5 s", ours <= 0.5) if q == 99 else "",
            )
        )
    report.raw["4b"] = {
        "late": {q: b.pct(late, q) for q in (50, 90, 99, 100)},
        "baseline": {q: b.pct(base, q) for q in (50, 90, 99, 100)},
    }
    report.note(
        f"4b: {len(late):,} of the window's {in_window:,} timers fired "
        f"({run.timers_left} of them still pending at the end) while "
        f"{total - in_window:,} more stayed pending; lateness p90 {b.ms_text(b.pct(late, 90))} "
        f"max {b.ms_text(b.pct(late, 100))}; p99 by sixth of the window "
        f"{' / '.join(b.ms_text(b.pct(x, 99)) for x in by_slice(run, window))}; "
        f"{len(run.sent):,} messages sent meanwhile. Server CPU {run.cpu:.1f} s over the "
        f"{run.seconds:.0f} s run ({run.cpu / run.seconds:.0%} of a core; everything else on "
        f"the machine {run.others / run.seconds:.0%}), RSS {run.rss:.0f} MB."
    )


if __name__ == "__main__":
    b.run(main, __doc__ or "", extra=lambda p: p.add_argument("--only", choices=("4", "4b")))
