"""Run every benchmark, each in its own process, and print one markdown table.

    .venv/bin/python tests/bench/run_all.py [--quick] [--database-url postgresql+asyncpg://…]
    .venv/bin/python tests/bench/run_all.py --only events,timers

``--quick`` runs only the events benchmark (three short rounds per server, under a minute)
unless ``--only`` names others: the check to run before quoting a figure. The header names
the commit measured, Python and SQLite versions, the load average, and the CPU the rest of
the machine used before and during the run.

The table (measure | Firstline | baseline | ratio | goal) is what tests/bench/README.md
quotes; each script's own output (per-round figures, CPU per event…) streams above it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib as b

SCRIPTS = {
    "events": "bench_events.py",
    "replay": "bench_replay.py",
    "memory": "bench_memory.py",
    "timers": "bench_timers.py",
    "replicas": "bench_replicas.py",  # PostgreSQL only: says so and prints no rows on SQLite
}


def _children_and_self() -> float:
    """CPU seconds of this process and every benchmark process it has waited for (their
    servers included: each script waits for its own)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: small numbers, ~30 s each")
    p.add_argument("--database-url", help="run Firstline on PostgreSQL (postgresql+asyncpg://…)")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--only", help=f"comma-separated subset of {', '.join(SCRIPTS)}")
    args = p.parse_args()
    default = ["events"] if args.quick else list(SCRIPTS)
    chosen = args.only.split(",") if args.only else default
    unknown = set(chosen) - set(SCRIPTS)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    notes = b.machine_notes()
    rows: list[b.Row] = []
    details: list[str] = []
    failed: list[str] = []
    started = time.monotonic()
    busy0, ours0 = b.busy_seconds(), _children_and_self()
    with tempfile.TemporaryDirectory(prefix="firstline-bench-all-") as tmp:
        for name in chosen:
            out = Path(tmp) / f"{name}.json"
            argv = [sys.executable, str(b.HERE / SCRIPTS[name]), "--json", str(out)]
            argv += ["--log-level", args.log_level]
            if args.quick:
                argv.append("--quick")
            if args.database_url:
                argv += ["--database-url", args.database_url]
            b.say(f"\n=== {SCRIPTS[name]} ===")
            t0 = time.monotonic()
            code = subprocess.call(argv, cwd=b.REPO)
            b.say(f"=== {SCRIPTS[name]}: exit {code} after {time.monotonic() - t0:.0f} s ===")
            if code != 0 or not out.exists():
                failed.append(name)
                continue
            data = json.loads(out.read_text())
            rows += [b.Row(**row) for row in data["rows"]]
            details += data["notes"]
    database = "PostgreSQL" if args.database_url else "SQLite (temporary file)"
    mode = "quick smoke run" if args.quick else "full run"
    print(f"\n## Firstline benchmarks ({mode}, Firstline on {database})\n")
    for line in notes:
        print(f"- {line}")
    took = time.monotonic() - started
    others = max(0.0, b.busy_seconds() - busy0 - (_children_and_self() - ours0))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"- total {took:.0f} s; during the run the rest of the machine (not the benchmarks, "
        f"their servers or this process) used {others / took:.0%} of a core on average; "
        f"load average at the end {load}\n"
    )
    print(b.table(rows))
    if details:
        print("\nDetails:\n")
        for line in details:
            print(f"- {line}")
    if failed:
        print(f"\nFAILED to produce figures: {', '.join(failed)} (see output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
