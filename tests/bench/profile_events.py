"""Where a watched post's server CPU goes: py-spy on `firstline serve` under signed load.

    .venv/bin/pip install py-spy      # a development tool, not a dependency of Firstline
    .venv/bin/python tests/bench/profile_events.py [--seconds 15] [--unwatched]
        [--database-url postgresql+asyncpg://…] [--out profile.txt]

Starts `firstline serve` (as bench_events.py does), sends 300 warm-up events, then keeps
16 senders posting to a watched channel (each post opens a request) or, with
``--unwatched``, to a channel nobody watches, while ``py-spy record --format raw`` samples
the server. Prints the server CPU per event of the sampled window and the functions that
hold most samples: "self" (the frame running) and "inclusive" (anywhere on the stack),
grouped by module so SQLAlchemy's ORM, its Core, the driver, Bolt and aiohttp stand apart.
The collapsed stacks are kept in ``--out`` for flame graphs (e.g. speedscope.app).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import benchlib as b

TEAM = "TBENCHPRF"
WATCHED = "C0WATCHED"
UNWATCHED = "C0CHATTER"

# Module prefixes whose share of the samples the summary prints (first match wins).
AREAS = (
    ("sqlalchemy/orm/", "SQLAlchemy ORM (session, unit of work, loading)"),
    ("sqlalchemy/ext/asyncio", "SQLAlchemy asyncio layer (greenlet bridge)"),
    ("sqlalchemy/", "SQLAlchemy Core (compile, execute, results)"),
    ("storage/sqlite_driver", "inline SQLite driver"),
    ("asyncpg/", "asyncpg"),
    ("slack_bolt/", "Slack Bolt"),
    ("slack_sdk/", "slack_sdk"),
    ("aiohttp/", "aiohttp"),
    ("bot/", "Firstline core (bot/)"),
    ("storage/", "Firstline storage/"),
    ("handlers/", "Firstline handlers/"),
    ("asyncio/", "asyncio event loop"),
    ("logging/", "logging"),
)


def frames_of(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rstrip().rpartition(" ")
    return stack.split(";"), int(count)


def area(frame: str) -> str:
    path = frame.partition("(")[2]
    for prefix, name in AREAS:
        if prefix in path:
            return name
    return "other (stdlib, sqlite3 C calls, idle)"


# Frames every sample of the loop's thread passes through: they say nothing about cost.
LOOP_FRAMES = (
    "<module>",
    "run (asyncio/runners.py",
    "main (handlers/cli.py",
    "_serve (handlers/cli.py",
    "Runner.run",
    "BaseEventLoop.run_until_complete",
    "BaseEventLoop.run_forever",
    "BaseEventLoop._run_once",
    "Handle._run",
)


def summarise(raw: Path, *, top: int, cpu_per_event: float | None = None) -> list[str]:
    """Shares of py-spy's samples; with ``cpu_per_event`` (seconds), each share in ms per
    event too. Code run inside SQLAlchemy's greenlets shows as stacks of their own (py-spy
    does not join them to the coroutine that awaits), so inclusive shares of the desk's
    coroutines leave out the statements they run; the self-time areas are exact."""
    selfs: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = frames_of(line)
        total += count
        selfs[frames[-1] or "(native code, no Python frame)"] += count
        areas[area(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return ["no samples"]

    def share(n: int) -> str:
        ms = f"  {n / total * cpu_per_event * 1000:5.3f} ms/event" if cpu_per_event else ""
        return f"  {n / total:6.1%}{ms}"

    out = [f"{total} samples (the server's busy time; idle threads are left out)", ""]
    out.append("share of samples by where the running frame is (self time):")
    out += [f"{share(n)}  {name}" for name, n in areas.most_common()]
    out.append("")
    out.append(f"top {top} functions by self time:")
    out += [f"{share(n)}  {frame}" for frame, n in selfs.most_common(top)]
    out.append("")
    out.append(f"top {top} functions by inclusive time (on the stack):")
    picked = [(f, n) for f, n in inclusive.most_common() if not f.startswith(LOOP_FRAMES)]
    out += [f"{share(n)}  {frame}" for frame, n in picked[:top]]
    return out


async def main(args: argparse.Namespace) -> None:
    spy = args.py_spy
    stamps = b.Stamps()
    channel = UNWATCHED if args.unwatched else WATCHED

    def make(i: int) -> dict[str, object]:
        user = f"UCHAT{i % 50:04d}" if args.unwatched else b.new_user()
        return b.post(channel, user, stamps.next())

    with tempfile.TemporaryDirectory(prefix="firstline-profile-") as tmpdir:
        tmp = Path(tmpdir)
        raw = args.out or tmp / "profile.txt"
        async with (
            b.emulator(TEAM, channels=[WATCHED, UNWATCHED]) as emu,
            b.client_session() as http,
            b.fresh_database(args.database_url, tmp, "profile") as db_url,
        ):
            await b.cli(
                db_url, "watch", WATCHED, "--workspace", TEAM, "--kind", "requests",
                "--target", "5m",
            )  # fmt: skip
            async with b.firstline(
                database_url=db_url, api_url=emu.base_url, tmp=tmp, http=http,
                log_level=args.log_level,
            ) as server:  # fmt: skip
                slack = b.sender(server.base_url, TEAM, http)
                send = b.event_sender(slack, make)
                await b.closed_loop(send, count=300)
                assert server.proc is not None
                spy_proc = await asyncio.create_subprocess_exec(
                    spy, "record", "--pid", str(server.proc.pid), "--format", "raw",
                    "--rate", "250", "--duration", str(int(args.seconds)), "--nonblocking",
                    "--output", str(raw),
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                await asyncio.sleep(1.0)  # py-spy attaches before the measured load starts
                load = await b.closed_loop(send, duration=args.seconds - 2, server=server)
                _, err = await spy_proc.communicate()
                if spy_proc.returncode != 0 or not raw.exists():
                    raise SystemExit(f"py-spy failed: {err.decode(errors='replace')}")
        what = "unwatched-channel events" if args.unwatched else "watched posts"
        b.say(f"# {what} under py-spy: {load.describe()}")
        b.say("# (py-spy's sampling adds a little CPU of its own to the figure above)")
        for line in summarise(raw, top=args.top, cpu_per_event=load.cpu_per_event):
            b.say(line)


if __name__ == "__main__":
    p = b.parser(__doc__ or "")
    p.add_argument("--seconds", type=float, default=15.0, help="how long to sample")
    p.add_argument("--unwatched", action="store_true", help="profile unwatched-channel events")
    p.add_argument("--top", type=int, default=25, help="how many functions to list")
    p.add_argument("--out", type=Path, help="keep py-spy's collapsed stacks here")
    options = p.parse_args()
    options.py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(options.py_spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    asyncio.run(main(options))
