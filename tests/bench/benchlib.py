"""Shared pieces of the benchmarks: servers in subprocesses, signed load, figures, the table.

Every benchmark runs each server in its own process (``firstline serve``, or the bare Bolt
app in ``bare_app.py``) against one in-process Slack Web API emulator, and drives it from
this process with ``SlackSender`` (signed exactly as Slack signs) over one shared aiohttp
session. Scripts print figures; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import psutil
from sqlalchemy.engine import make_url

from handlers.slack.simulator import SlackSender

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "clojurians-2018-02" / "logs"
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
CONCURRENCY = 16

Send = Callable[[int], Awaitable[int]]


# -- command line and output ------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a ~30 s smoke run with small numbers")
    p.add_argument(
        "--database-url",
        default=os.environ.get("FIRSTLINE_BENCH_DATABASE_URL"),
        help="run Firstline on this PostgreSQL server (postgresql+asyncpg://…); a fresh "
        "database is created and dropped per server. Default: a temporary SQLite file.",
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        help="LOG_LEVEL for both servers (INFO, the production default, keeps access logs)",
    )
    p.add_argument("--json", type=Path, help="also write the rows and notes here (run_all)")
    return p


@dataclass
class Row:
    """One line of the README table: measure | Firstline | baseline | ratio | goal."""

    measure: str
    firstline: str
    baseline: str
    ratio: str
    goal: str


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        print(f"  · {text}", flush=True)
        self.notes.append(text)

    def emit(self, path: Path | None) -> None:
        print(f"\n## {self.title}\n")
        print(table(self.rows))
        if self.notes:
            print()
            for line in self.notes:
                print(f"- {line}")
        if path is not None:
            path.write_text(json.dumps(asdict(self), indent=2, default=str))


def table(rows: Sequence[Row]) -> str:
    header = ("measure", "Firstline", "baseline", "ratio", "goal")
    lines = [header, ("---", "--:", "--:", "--:", "---")]
    lines += [(r.measure, r.firstline, r.baseline, r.ratio, r.goal) for r in rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def say(text: str) -> None:
    print(text, flush=True)


def machine_notes() -> list[str]:
    mem = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    # Nothing of ours runs yet: whatever keeps the CPUs busy now is someone else's.
    busy = psutil.cpu_percent(interval=2.0) / 100 * (os.cpu_count() or 1)
    return [
        f"date {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {measured_commit()}",
        f"{os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, load average at start {load}, "
        f"other work on the machine at start {busy:.0%} of a core",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}",
    ]


def measured_commit() -> str:
    """The commit whose code the servers run (PYTHONPATH's snapshot, else this checkout)."""
    import bot

    code = Path(bot.__file__).resolve().parents[1]
    if code != REPO:
        return f"code from {code} (not this checkout: name its commit beside the figures)"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "handlers", "storage", "schedules",
             "migrations", "tests/bench"],
            cwd=REPO, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown (no git)"
    return f"commit {head}" + (
        " plus uncommitted changes (figures are not that commit's)" if dirty else ""
    )


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


# -- figures ----------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=float))) if len(values) else float("nan")


def rate_text(value: float) -> str:
    return f"{value:,.0f} ev/s"


def ms_text(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def mb_text(megabytes: float) -> str:
    return f"{megabytes:.0f} MB"


def ratio_text(ours: float, theirs: float) -> str:
    if not theirs or theirs != theirs or ours != ours:
        return "–"
    value = ours / theirs
    return f"{value:.2f}×" if value < 100 else f"{value:,.0f}×"


def goal_text(goal: str, met: bool | None) -> str:
    if met is None:
        return goal
    return f"{goal} ({'met' if met else 'missed'})"


# -- processes --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def firstline_argv(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "firstline"
    return (
        [str(script), *args] if script.exists() else [sys.executable, "-m", "handlers.cli", *args]
    )


def server_env(
    *, database_url: str | None, api_url: str, port: int, log_level: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIRSTLINE_"))}
    env.update(
        PORT=str(port),
        HOST="127.0.0.1",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
        LOG_LEVEL=log_level,
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


class ServerProcess:
    """A server in its own process, its output in a log file, stopped like an operator would."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.port = int(env["PORT"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
            )
        self.ps = psutil.Process(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def wait_ready(self, http: aiohttp.ClientSession, within: float = 90.0) -> float:
        """Poll /healthz until it answers 200; returns the seconds it took."""
        assert self.proc is not None
        started = time.monotonic()
        while time.monotonic() - started < within:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    f"{self.base_url}/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as r:
                    # On a shared machine another server may have taken the port meanwhile.
                    if r.status == 200 and self.listening():
                        return time.monotonic() - started
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} not healthy after {within:.0f} s:\n{self.log_tail()}")

    def listening(self) -> bool:
        """This process (not some other server) listens on ``port``."""
        assert self.ps is not None
        with contextlib.suppress(psutil.Error):
            return any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == self.port
                for c in self.ps.net_connections("tcp")
            )
        return False

    def rss_mb(self) -> float:
        assert self.ps is not None
        return float(self.ps.memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        assert self.ps is not None
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    async def stop(self, grace: float = 40.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            await asyncio.to_thread(self.proc.wait, grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)


@contextlib.asynccontextmanager
async def serving(
    name: str, argv: list[str], env: dict[str, str], log: Path, http: aiohttp.ClientSession
) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(name, argv, env, log)
    try:
        server.start()
        took = await server.wait_ready(http)
        pid = server.proc.pid if server.proc else None
        say(f"  {name} ready on :{server.port} after {took:.1f} s (pid {pid})")
        yield server
    finally:
        await server.stop()


def firstline(
    *,
    database_url: str,
    api_url: str,
    tmp: Path,
    http: aiohttp.ClientSession,
    log_level: str,
    name: str = "firstline",
) -> contextlib.AbstractAsyncContextManager[ServerProcess]:
    env = server_env(
        database_url=database_url, api_url=api_url, port=free_port(), log_level=log_level
    )
    return serving(name, firstline_argv("serve"), env, tmp / f"{name}.log", http)


def bare(
    *, api_url: str, tmp: Path, http: aiohttp.ClientSession, log_level: str, name: str = "bare"
) -> contextlib.AbstractAsyncContextManager[ServerProcess]:
    env = server_env(database_url=None, api_url=api_url, port=free_port(), log_level=log_level)
    argv = [sys.executable, str(HERE / "bare_app.py")]
    return serving(name, argv, env, tmp / f"{name}.log", http)


def _no_sqlite_file_yet(database_url: str) -> bool:
    return database_url.startswith("sqlite") and not os.path.exists(
        database_url.split(":///", 1)[1]
    )


async def cli(database_url: str, *args: str) -> str:
    """Run the `firstline` CLI against a database, as an operator would (``migrate`` first
    when the SQLite file does not exist yet: other commands never create one)."""
    if args[:1] != ("migrate",) and _no_sqlite_file_yet(database_url):
        await cli(database_url, "migrate")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIRSTLINE_"))}
    env.update(DATABASE_URL=database_url, LOG_LEVEL="WARNING")
    proc = await asyncio.create_subprocess_exec(
        *firstline_argv(*args),
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"firstline {' '.join(args)} failed ({proc.returncode}):\n{text}")
    return text.strip()


# -- databases and the Slack emulator -----------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_database(base_url: str | None, tmp: Path, name: str) -> AsyncIterator[str]:
    """A new empty database: a SQLite file in ``tmp``, or a new PostgreSQL database."""
    if not base_url or make_url(base_url).get_backend_name() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / name}.db"
        return
    import asyncpg

    base = make_url(base_url)
    dbname = f"bench_{name}_{uuid.uuid4().hex[:8]}"

    async def admin() -> Any:
        return await asyncpg.connect(
            user=base.username,
            password=base.password,
            host=base.host,
            port=base.port,
            database=base.database,
        )

    conn = await admin()
    try:
        await conn.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        await conn.close()
    try:
        yield base.set(database=dbname).render_as_string(hide_password=False)
    finally:
        conn = await admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def emulator(
    team_id: str, *, users: Sequence[tuple[str, bool]] = (), channels: Sequence[str] = ()
) -> AsyncIterator[Any]:
    """The in-process Slack Web API emulator (auth.test, users.info, chat.* …)."""
    from handlers.slack.emulator import SlackEmulator

    emu = SlackEmulator(team_id=team_id)
    await emu.start()
    try:
        for user, is_admin in users:
            emu.add_user(user, name=user.lower(), is_admin=is_admin)
        for channel in channels:
            emu.add_channel(channel, name=channel.lower())
        yield emu
    finally:
        await emu.stop()


@contextlib.asynccontextmanager
async def client_session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 4)
    async with aiohttp.ClientSession(connector=connector) as http:
        yield http


def sender(base_url: str, team_id: str, http: aiohttp.ClientSession) -> SlackSender:
    return SlackSender(base_url=base_url, signing_secret=SECRET, team_id=team_id, session=http)


# -- events -----------------------------------------------------------------------------


class Stamps:
    """Unique, increasing message timestamps near the wall clock ("1764000000.000123")."""

    def __init__(self) -> None:
        self._last = 0.0

    def next(self) -> str:
        now = max(time.time(), self._last + 1e-6)
        self._last = now
        return f"{now:.6f}"


_users = itertools.count(1)


def new_user() -> str:
    """A user id never used before in this process: each post opens its own request."""
    return f"UB{next(_users):09d}"


def post(channel: str, user: str, ts: str, text: str = "Deploy to staging fails") -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": f"{text} ({user})",
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
    }


# -- load -------------------------------------------------------------------------------


@dataclass
class Load:
    """What a load run saw from the client's side, and who used the CPU meanwhile."""

    sent: int
    elapsed: float
    latencies: list[float]
    statuses: Counter[int]
    server_cpu: float = float("nan")
    client_cpu: float = float("nan")
    other_cpu: float = float("nan")

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else float("nan")

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def cpu_per_event(self) -> float:
        return self.server_cpu / self.sent if self.sent else float("nan")

    def describe(self) -> str:
        cpu = (
            f", server CPU {self.cpu_per_event * 1000:.2f} ms/event"
            f" ({self.server_cpu / self.elapsed:.0%} of a core), client "
            f"{self.client_cpu / self.elapsed:.0%}, everything else on the machine "
            f"{self.other_cpu / self.elapsed:.0%}"
            if self.sent and self.server_cpu == self.server_cpu
            else ""
        )
        bad = f", {self.errors} non-200 ({dict(self.statuses)})" if self.errors else ""
        return (
            f"{self.sent} events in {self.elapsed:.1f} s = {rate_text(self.rate)}, "
            f"latency p50 {ms_text(pct(self.latencies, 50))} p99 "
            f"{ms_text(pct(self.latencies, 99))}{cpu}{bad}"
        )


class CpuMeter:
    """CPU used by the server, by this process (load generator and emulator), and by others.

    "Others" is the rest of the machine: on a shared box it says when a figure was taken
    while neighbours were busy (with 2 cores, 100% of a core elsewhere halves what is left).
    """

    def __init__(self, server: ServerProcess | None) -> None:
        self.server = server
        self._me = psutil.Process()
        self._s0 = server.cpu_seconds() if server else float("nan")
        self._c0 = self._client()
        self._b0 = busy_seconds()

    def _client(self) -> float:
        t = self._me.cpu_times()
        return float(t.user + t.system)

    def stop(self) -> tuple[float, float, float]:
        server = self.server.cpu_seconds() - self._s0 if self.server else float("nan")
        client = self._client() - self._c0
        busy = busy_seconds() - self._b0
        others = max(0.0, busy - client - (server if server == server else 0.0))
        return server, client, others


async def closed_loop(
    send: Send,
    *,
    concurrency: int = CONCURRENCY,
    duration: float | None = None,
    count: int | None = None,
    server: ServerProcess | None = None,
) -> Load:
    """``concurrency`` workers send back to back until ``duration`` passed or ``count`` sent."""
    assert duration is not None or count is not None
    numbers = itertools.count()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    stop_at = started + duration if duration is not None else float("inf")
    meter = CpuMeter(server)

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            i = next(numbers)
            if count is not None and i >= count:
                return
            t0 = time.perf_counter()
            status = await send(i)
            latencies.append(time.perf_counter() - t0)
            statuses[status] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return Load(len(latencies), elapsed, latencies, statuses, *meter.stop())


async def paced(
    send: Send, *, rate: float, duration: float, server: ServerProcess | None = None
) -> Load:
    """Open loop: one request every 1/rate s whatever the answers do (no coordinated omission).

    Latency is measured from the moment each request is handed to the client to its answer.
    """
    loop = asyncio.get_running_loop()
    total = int(rate * duration)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int) -> None:
        t0 = time.perf_counter()
        status = await send(i)
        latencies.append(time.perf_counter() - t0)
        statuses[status] += 1

    meter = CpuMeter(server)
    start = loop.time() + 0.05
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    return Load(len(latencies), elapsed, latencies, statuses, *meter.stop())


def event_sender(slack: SlackSender, make: Callable[[int], dict[str, Any]]) -> Send:
    async def send(i: int) -> int:
        return int((await slack.event(make(i))).status)

    return send


def load_clojurians() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in sorted(DATASET.glob("*.txt")):
        events.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return events


def run(
    main: Callable[[argparse.Namespace], Coroutine[Any, Any, Report]],
    description: str,
    *,
    extra: Callable[[argparse.ArgumentParser], object] | None = None,
) -> None:
    """Parse the common options (plus a script's own, added by ``extra``), run, print."""
    p = parser(description)
    if extra is not None:
        extra(p)
    args = p.parse_args()
    for line in machine_notes():
        say(f"# {line}")
    report = asyncio.run(main(args))
    report.emit(args.json)


# -- seeding the database as the desk would have -----------------------------------------


def request_row(
    *,
    workspace_id: str,
    channel_id: str,
    posted_at: datetime,
    requester: str,
    target_seconds: int,
    text: str = "Our nightly export did not arrive, can someone look?",
) -> dict[str, Any]:
    """A requests-channel request as ``Desk._open`` creates it: unanswered, hours=always."""
    return {
        "workspace_id": workspace_id,
        "channel_id": channel_id,
        "kind": "requests",
        "ts": f"{posted_at.timestamp():.6f}",
        "posted_at": posted_at,
        "requester": requester,
        "text": text,
        "fingerprint": None,
        "occurrences": 1,
        "last_occurrence_at": posted_at,
        "target_seconds": target_seconds,
        "deadline_at": posted_at + timedelta(seconds=target_seconds),
        "deleted": False,
        "imported": False,
    }


async def seed(
    database_url: str,
    requests: Sequence[dict[str, Any]],
    timers_for: Callable[[int, dict[str, Any]], list[dict[str, Any]]],
    *,
    batch: int = 5000,
) -> None:
    """Insert requests, their timers and the inbox rows of the events that opened them."""
    from sqlalchemy import insert

    from storage.engine import Database
    from storage.models import InboxEntry, Request, Timer

    db = Database.connect(database_url)
    try:
        for start in range(0, len(requests), batch):
            chunk = list(requests[start : start + batch])
            async with db.transaction() as session:
                ids = (
                    await session.scalars(
                        insert(Request).returning(Request.id, sort_by_parameter_order=True), chunk
                    )
                ).all()
                timer_rows = [
                    t for rid, row in zip(ids, chunk, strict=True) for t in timers_for(rid, row)
                ]
                if timer_rows:
                    await session.execute(insert(Timer), timer_rows)
                await session.execute(
                    insert(InboxEntry),
                    [
                        {"key": f"slack:EvSEED{rid:010d}", "received_at": row["posted_at"]}
                        for rid, row in zip(ids, chunk, strict=True)
                    ],
                )
    finally:
        await db.close()
