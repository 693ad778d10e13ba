"""Replicas that agree at once, and an outbox that no stuck send holds up (issue 13/14).

    .venv/bin/python tests/bench/bench_coherence_outbox.py [--quick] \
        --database-url postgresql+asyncpg://…

A. Configuration change → first use on another replica (PostgreSQL; two `firstline
   serve` processes). `/support responders <@Ux>` answered by replica A at t0; at once a
   request on replica B and Ux's reply in its thread on B; t1 = the reply's 200 (processed
   before the ack). Prints t1 - t0 p50/p99 beside the same two events with no change before
   them (the baseline), and how many replies were recorded as the first response (all).
B. Outbox, in process, real clock, a fake chat with 20 ms per call: one thread's send is
   held (the chat never answers it); 200 messages to other threads of the same channel and
   to 20 other channels are queued. Delay from queueing to sent, p50/p99, beside the same
   run with nothing held, and beside the lease; then the held row's takeover by a second
   deliverer after the first one "dies" (cancelled, nothing recorded).
D. The unwatched-channel lookup on the event path (``Channels.lookup`` of a channel
   nobody watches), per call, beside a plain dict lookup: on SQLite it reads the file's
   settings counter (PRAGMA user_version); on PostgreSQL it only reads memory.
C. Outbox drain: 1,000 escalations (thread messages) over 100 channels at the production
   pace (one post a second per channel), 20 ms per call: drain time beside the ideal
   (9 s: ten messages a channel, one a second), per-channel interval p50/min, and 429s from
   a fake Slack that refuses a second post to a channel within 1 s (Retry-After: 1). Then
   the same with one hot channel holding 30 more: when the other channels finish.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import benchlib as b
from sqlalchemy import func, select

from bot.clock import SystemClock
from bot.content import Content, Delivered, DeliveryError
from bot.metrics import Metrics
from schedules.deliverer import Deliverer
from storage import outbox
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import Request

TEAM = "TBENCHCOH"
CHANNEL = "C0COH"
CALL_SECONDS = 0.02


def row(measure: str, ours: str, baseline: str, note: str) -> b.Row:
    return b.Row(measure, ours, baseline, "", note)


# -- A: configuration change to first use ------------------------------------------------


async def replica(
    name: str, url: str, api_url: str, tmp: Path, http: aiohttp.ClientSession
) -> b.ServerProcess:
    for attempt in range(3):  # a port taken meanwhile by someone else: another one
        port = b.free_port()
        env = b.server_env(database_url=url, api_url=api_url, port=port, log_level="WARNING")
        server = b.ServerProcess(name, b.firstline_argv("serve"), env, tmp / f"{name}.log")
        server.start()
        try:
            await server.wait_ready(http)
            return server
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def config_to_use(url: str, trials: int) -> list[b.Row]:
    users = [("UADMIN", True)] + [(f"UX{i:03d}", False) for i in range(trials)]
    changed: list[float] = []
    unchanged: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            b.fresh_database(url, Path(tmp), "coherence") as db_url,
            b.emulator(TEAM, users=users, channels=[CHANNEL]) as slack,
            b.client_session() as http,
        ):
            first = await replica("replica-a", db_url, slack.base_url, Path(tmp), http)
            servers = [first]
            try:
                servers.append(await replica("replica-b", db_url, slack.base_url, Path(tmp), http))
                a, other = (b.sender(s.base_url, TEAM, http) for s in servers)
                stamps = b.Stamps()

                async def command(text: str) -> None:
                    reply = await a.command(
                        command="/support", text=text, user="UADMIN", channel=CHANNEL
                    )
                    assert reply.status == 200

                async def ask_and_answer(who: str) -> None:
                    ts = stamps.next()
                    for event in (
                        b.post(CHANNEL, b.new_user(), ts),
                        {**b.post(CHANNEL, who, stamps.next()), "thread_ts": ts},
                    ):
                        reply = await other.event(event, event_id=f"Ev{stamps.next()}")
                        assert reply.status == 200

                await command("watch requests target=1h responders=team")
                for i in range(trials):
                    who = f"UX{i:03d}"
                    await command(f"responders <@{who}>")
                    started = time.perf_counter()
                    await ask_and_answer(who)
                    changed.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    await ask_and_answer(who)
                    unchanged.append(time.perf_counter() - started)
            finally:
                for server in servers:
                    await server.stop()
            db = Database.connect(db_url)
            try:
                async with db.reading() as session:
                    answered = await session.scalar(
                        select(func.count())
                        .select_from(Request)
                        .where(Request.first_responder.is_not(None))
                    )
            finally:
                await db.close()
    b.say(f"  A: {answered} of {2 * trials} replies recorded as the first response")
    return [
        row(
            "A. responders changed on A → request + reply on B (p50 / p99)",
            f"{b.ms_text(b.median(changed))} / {b.ms_text(b.pct(changed, 99))}",
            f"{b.ms_text(b.median(unchanged))} / {b.ms_text(b.pct(unchanged, 99))}",
            f"{answered}/{2 * trials} first responses recorded",
        )
    ]


# -- B and C: the outbox in process ------------------------------------------------------


class FakeChat:
    """20 ms per call; one thread's post is never answered (held); a second post to a
    channel within a second is refused with 429 Retry-After: 1, as Slack may."""

    def __init__(self, *, held_thread: str | None = None, limit: bool = False) -> None:
        self.held_thread = held_thread
        self.limit = limit
        self.sent: dict[int, float] = {}  # outbox id → when sent
        self.by_channel: dict[str, list[float]] = defaultdict(list)
        self.refused = 0

    async def post(
        self, *, workspace_id: str, channel: str, content: Content, thread_ts: str | None
    ) -> Delivered:
        if self.held_thread is not None and thread_ts == self.held_thread:
            await asyncio.Event().wait()  # Slack holds the answer: never comes back
        await asyncio.sleep(CALL_SECONDS)
        now = time.perf_counter()
        last = self.by_channel[channel][-1] if self.by_channel[channel] else None
        if self.limit and last is not None and now - last < 1.0:
            self.refused += 1
            raise DeliveryError("ratelimited", retry_after=1)
        self.by_channel[channel].append(now)
        marker = content.marker or ""
        self.sent[int(marker.split(":")[1])] = now
        return Delivered(channel, f"{now:.6f}")


@contextlib.asynccontextmanager
async def outbox_db(url: str | None, name: str) -> AsyncIterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        async with b.fresh_database(url, Path(tmp), name) as db_url:
            db = Database.connect(db_url)
            await upgrade(db)
            try:
                yield db
            finally:
                await db.close()


async def queue(db: Database, messages: list[tuple[str, str]]) -> dict[int, float]:
    """Thread posts (channel, thread ts); returns outbox id → when queued."""
    queued: dict[int, float] = {}
    async with db.transaction() as session:
        rows = [
            outbox.enqueue(
                session,
                workspace_id=TEAM,
                destination=channel,
                op="post",
                payload=Content(text="🚨 escalation").to_payload(),
                at=datetime.now(UTC),
                thread_ts=thread,
            )
            for channel, thread in messages
        ]
        await session.flush()
        now = time.perf_counter()
        queued = {row.id: now for row in rows}
    return queued


def deliverer(db: Database, chat: FakeChat, *, lease: float, pace: float) -> Deliverer:
    return Deliverer(
        db=db,
        clock=SystemClock(),
        chats={"slack": chat},  # type: ignore[dict-item]
        metrics=Metrics(),
        lease=timedelta(seconds=lease),
        pace=timedelta(seconds=pace),
    )


async def run_until(d: Deliverer, done: Any, *, within: float) -> None:
    """The runner's outbox loop, in short: start what is ready, sleep until the next."""
    wake = asyncio.Event()
    d.on_finished = wake.set
    deadline = time.perf_counter() + within
    while not done() and time.perf_counter() < deadline:
        wake.clear()
        while await d.dispatch():
            pass
        due = await d.next_attempt()
        pause = 0.2 if due is None else (due - datetime.now(UTC)).total_seconds()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), max(0.0, min(pause, 0.2)))


async def held_round(
    url: str | None, *, lease: float, others: int, held: str | None
) -> tuple[list[float], float | None]:
    """Delays of ``others`` messages queued while ``held`` thread's send hangs; and how
    long until a second deliverer took the held one over after the first died."""
    async with outbox_db(url, "held") as db:
        chat = FakeChat(held_thread=held)
        d = deliverer(db, chat, lease=lease, pace=0)
        await queue(db, [(CHANNEL, "9999.0")])
        first = asyncio.create_task(run_until(d, lambda: False, within=1.0))
        await asyncio.sleep(0.3)  # the held one is in flight
        messages = [
            (CHANNEL if i % 2 else f"C0OTHER{i % 20:02d}", f"{1000 + i}.0") for i in range(others)
        ]
        queued = await queue(db, messages)
        await run_until(d, lambda: all(i in chat.sent for i in queued), within=30)
        delays = [chat.sent[i] - queued[i] for i in queued if i in chat.sent]
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        if held is None:
            return delays, None
        # The first deliverer dies holding the row: a second one takes it over.
        died = time.perf_counter()
        await d.wait_in_flight(within=0)
        survivor_chat = FakeChat()
        survivor = deliverer(db, survivor_chat, lease=lease, pace=0)
        await run_until(survivor, lambda: bool(survivor_chat.sent), within=lease + 10)
        return delays, time.perf_counter() - died


async def held_send(url: str | None, lease: float, others: int) -> list[b.Row]:
    held_delays, took_over = await held_round(url, lease=lease, others=others, held="9999.0")
    free_delays, _ = await held_round(url, lease=lease, others=others, held=None)
    return [
        row(
            f"B. delay of {others} other threads' messages while one send is held (p50 / p99)",
            f"{b.ms_text(b.median(held_delays))} / {b.ms_text(b.pct(held_delays, 99))}",
            f"{b.ms_text(b.median(free_delays))} / {b.ms_text(b.pct(free_delays, 99))}",
            f"lease {lease:.0f} s; sent {len(held_delays)}/{others}",
        ),
        row(
            "B. held send taken over after its sender died",
            f"{took_over or 0:.1f} s",
            f"lease {lease:.0f} s",
            "only the held thread waited",
        ),
    ]


async def drain(url: str | None, *, channels: int, per_channel: int, hot: int) -> list[b.Row]:
    messages = [
        (f"C0DRAIN{c:03d}", f"{2000 + c * 1000 + n}.0")
        for c in range(channels)
        for n in range(per_channel if c else per_channel + hot)
    ]
    async with outbox_db(url, "drain") as db:
        chat = FakeChat(limit=True)
        d = deliverer(db, chat, lease=15, pace=1.0)
        queued = await queue(db, messages)
        started = time.perf_counter()
        await run_until(d, lambda: len(chat.sent) >= len(queued), within=120 + hot * 2)
        took = time.perf_counter() - started
    intervals = [
        later - earlier
        for times in chat.by_channel.values()
        for earlier, later in itertools.pairwise(times)
    ]
    finished = {ch: times[-1] - started for ch, times in chat.by_channel.items() if times}
    cold = [t for ch, t in finished.items() if ch != "C0DRAIN000"]
    ideal = per_channel - 1.0
    label = f"{len(messages):,} over {channels} channels" + (f", one hot (+{hot})" if hot else "")
    rows = [
        row(
            f"C. drain of {label}",
            f"{took:.1f} s",
            f"ideal {ideal:.0f} s" + (f" (hot: {ideal + hot:.0f} s)" if hot else ""),
            f"sent {len(chat.sent)}/{len(messages)}, 429s {chat.refused}",
        ),
        row(
            "C. per-channel interval p50 / min",
            f"{b.median(intervals):.2f} s / {min(intervals):.2f} s",
            "1.00 s (Slack's pace)",
            "",
        ),
    ]
    if hot:
        rows.append(
            row(
                "C. other channels finished (p50 / max)",
                f"{b.median(cold):.1f} s / {max(cold):.1f} s",
                f"ideal {ideal:.0f} s",
                f"hot channel finished at {finished.get('C0DRAIN000', 0):.1f} s",
            )
        )
    return rows


async def lookup_cost(url: str | None) -> list[b.Row]:
    from bot.channels import Channels

    calls = 20_000
    async with outbox_db(url, "lookup") as db:
        channels = Channels(db=db, clock=SystemClock())
        await channels.start()
        try:
            plain: dict[tuple[str, str], object] = {}
            started = time.perf_counter()
            for i in range(calls):
                plain.get((TEAM, f"C{i % 50}"))
            baseline = (time.perf_counter() - started) / calls
            started = time.perf_counter()
            for i in range(calls):
                await channels.lookup(TEAM, f"C{i % 50}")
            ours = (time.perf_counter() - started) / calls
        finally:
            await channels.stop()
    where = "PostgreSQL" if url else "SQLite"
    return [
        row(
            f"D. unwatched-channel lookup per event ({where})",
            f"{ours * 1e6:.1f} µs",
            f"{baseline * 1e6:.2f} µs (dict lookup)",
            "no database round trip",
        )
    ]


async def main() -> None:
    p = b.parser(__doc__ or "")
    args = p.parse_args()
    for note in b.machine_notes():
        b.say(note)
    rows: list[b.Row] = []
    if args.database_url:
        rows += await config_to_use(args.database_url, 10 if args.quick else 50)
    else:
        b.say("A needs PostgreSQL (--database-url): skipped")
    lease = 6.0 if args.quick else 15.0
    rows += await held_send(args.database_url, lease, 50 if args.quick else 200)
    rows += await lookup_cost(args.database_url)
    if args.database_url:
        rows += await lookup_cost(None)
    rows += await drain(args.database_url, channels=100, per_channel=10, hot=0)
    if not args.quick:
        rows += await drain(args.database_url, channels=100, per_channel=10, hot=30)
    b.say(b.table(rows))


if __name__ == "__main__":
    asyncio.run(main())
