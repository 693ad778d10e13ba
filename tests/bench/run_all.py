"""Run every benchmark, each in its own process, and print one markdown table.

    .venv/bin/python tests/bench/run_all.py [--quick] [--database-url postgresql+asyncpg://…]
    .venv/bin/python tests/bench/run_all.py --only events,timers

The table (measure | Firstline | baseline | ratio | goal) is what tests/bench/README.md
quotes; each script's own output (per-round figures, CPU per event…) streams above it.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: small numbers, ~30 s each")
    p.add_argument("--database-url", help="run Firstline on PostgreSQL (postgresql+asyncpg://…)")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--only", help=f"comma-separated subset of {', '.join(SCRIPTS)}")
    args = p.parse_args()
    chosen = args.only.split(",") if args.only else list(SCRIPTS)
    unknown = set(chosen) - set(SCRIPTS)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    notes = b.machine_notes()
    rows: list[b.Row] = []
    details: list[str] = []
    failed: list[str] = []
    started = time.monotonic()
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
    print(f"- total {time.monotonic() - started:.0f} s\n")
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
