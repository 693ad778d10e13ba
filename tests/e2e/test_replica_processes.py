"""Three `firstline serve` processes on one PostgreSQL, with a replica killed and one drained.

Real processes, real clock, real signals: the Slack Web API is the emulator in this test
process (``SLACK_API_URL``), events are signed exactly as Slack signs them and spread over
the replicas the way a load balancer would, and a failed delivery is retried on another
replica with the same ``event_id`` and ``X-Slack-Retry-Num``, as Slack retries. Channels
use a 10 s target so every step of the ladder (nudge at 6 s, thread message at 10 s,
second line at 20 s) happens within the test. Runs only on PostgreSQL
(``FIRSTLINE_TEST_PG_URL``; ``./scripts/test`` and CI always set it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from handlers.slack.emulator import SlackEmulator
from handlers.slack.simulator import SlackSender
from tests.bench import benchlib as b

PG_URL = os.environ.get("FIRSTLINE_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (FIRSTLINE_TEST_PG_URL)")

TEAM = "T0FLEET"
ADMIN = "UADMIN"
CHANNELS = [f"C0DESK{i:02d}" for i in range(20)]
TARGET_SECONDS = 10
REQUESTS = 1000
ANSWERED_EVERY = 4  # every 4th request is answered at once: it must cause no message at all
SPREAD_SECONDS = 15
LEASE_SECONDS = 6  # outbox lease of the replicas: a dead replica's claims wait this long
LINK = re.compile(r"archives/(C\w+)/p(\d+)")


def responders(channel: str) -> tuple[str, str]:
    return f"UR{channel[-2:]}A", f"UR{channel[-2:]}B"


def lead(channel: str) -> str:
    return f"UL{channel[-2:]}"


@dataclass
class Replica:
    server: b.ServerProcess
    sender: SlackSender
    alive: bool = True
    acked: int = 0
    in_flight: int = 0  # events sent to it and not answered yet


@dataclass
class Fleet:
    """The replicas behind a load balancer; deliveries retried as Slack retries them."""

    replicas: list[Replica]
    turn: int = 0
    retries: Counter[str] = field(default_factory=Counter)

    async def deliver(self, event: dict[str, Any], event_id: str) -> None:
        retry: int | None = None
        for _ in range(40):
            live = [r for r in self.replicas if r.alive]
            assert live, "no replica left"
            replica = live[self.turn % len(live)]
            self.turn += 1
            replica.in_flight += 1
            try:
                reply = await replica.sender.event(event, event_id=event_id, retry_num=retry)
            except (aiohttp.ClientError, TimeoutError) as error:
                self.retries[type(error).__name__] += 1
                replica.in_flight -= 1
            else:
                replica.in_flight -= 1
                if reply.status == 200:
                    replica.acked += 1
                    return
                self.retries[str(reply.status)] += 1
            retry = (retry or 0) + 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"event {event_id} was never acknowledged")


@contextlib.asynccontextmanager
async def fleet_world(tmp_path: Path) -> AsyncIterator[tuple[SlackEmulator, str, Any]]:
    users = [(ADMIN, True)]
    for channel in CHANNELS:
        users += [(u, False) for u in (*responders(channel), lead(channel))]
    assert PG_URL is not None
    async with (
        b.fresh_database(PG_URL, tmp_path, "fleet") as url,
        b.emulator(TEAM, users=users, channels=CHANNELS) as slack,
        b.client_session() as http,
    ):
        yield slack, url, http


async def replica(
    name: str,
    url: str,
    slack: SlackEmulator,
    tmp_path: Path,
    http: aiohttp.ClientSession,
    *,
    lease: int = LEASE_SECONDS,
) -> b.ServerProcess:
    """A `firstline serve` process, up and healthy (a port taken meanwhile: another one)."""
    for attempt in range(3):
        env = b.server_env(
            database_url=url, api_url=slack.base_url, port=b.free_port(), log_level="WARNING"
        )
        env.update(FIRSTLINE_OUTBOX_LEASE=str(lease), FIRSTLINE_DRAIN_SECONDS="2")
        server = b.ServerProcess(name, b.firstline_argv("serve"), env, tmp_path / f"{name}.log")
        server.start()
        try:
            await server.wait_ready(http)
            return server
        except RuntimeError:
            if attempt == 2 or "address already in use" not in server.log_tail().lower():
                raise
    raise AssertionError("unreachable")


async def command(sender: SlackSender, text: str, channel: str) -> str:
    reply = await sender.command(command="/support", text=text, user=ADMIN, channel=channel)
    assert reply.status == 200, reply
    return str(reply.json()["text"])


async def status(http: aiohttp.ClientSession, method: str, url: str) -> int:
    try:
        async with http.request(method, url, timeout=aiohttp.ClientTimeout(total=2)) as r:
            return r.status
    except (aiohttp.ClientError, TimeoutError):
        return 0  # not listening any more


async def until(check: Any, *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def expected_calls(requests: list[tuple[str, str, bool]]) -> dict[str, Counter[Any]]:
    want: dict[str, Counter[Any]] = {"dm": Counter(), "thread": Counter(), "update": Counter()}
    for channel, ts, answered in requests:
        if answered:
            continue
        for user in (*responders(channel), lead(channel)):
            want["dm"][(user, channel, ts)] += 1
        want["thread"][(channel, ts)] += 1
        want["update"][(channel, ts)] += 1
    return want


def seen_calls(slack: SlackEmulator) -> dict[str, Counter[Any]]:
    """Every message Slack received, keyed by what it is about, counted."""
    seen: dict[str, Counter[Any]] = {
        "dm": Counter(),
        "thread": Counter(),
        "update": Counter(),
        "notice": Counter(),
    }
    thread_of: dict[tuple[str, str], str] = {}
    for call in slack.delivered("chat.postMessage"):
        channel = str(call.args["channel"])
        if channel.startswith("U"):
            found = LINK.search(str(call.args["text"]))
            assert found, call.args["text"]
            ts = f"{found.group(2)[:-6]}.{found.group(2)[-6:]}"
            seen["dm"][(channel, found.group(1), ts)] += 1
        elif call.args.get("thread_ts") is None:
            # A channel notice (the reports' error-budget alert): once per channel at most.
            seen["notice"][(channel, str(call.args["text"])[:40])] += 1
        else:
            seen["thread"][(channel, call.args.get("thread_ts"))] += 1
            thread_of[(channel, str(call.response["ts"]))] = str(call.args.get("thread_ts"))
    for call in slack.delivered("chat.update"):
        channel = str(call.args["channel"])
        seen["update"][(channel, thread_of.get((channel, str(call.args["ts"]))))] += 1
    return seen


async def kill_mid_send(
    replica: Replica, slack: SlackEmulator, sending: asyncio.Future[Any]
) -> tuple[int, int]:
    """SIGKILL the replica while Slack holds answers to calls it made and, while events are
    still being sent, while it is also handling some; returns (held calls, events)."""
    server = replica.server
    assert server.proc is not None and server.ps is not None
    api_port = int(slack.base_url.split(":")[2].split("/")[0])
    for _ in range(50):
        slack.stall_answers(1.0)
        await asyncio.sleep(0.3)
        ports = {
            c.laddr.port
            for c in server.ps.net_connections("tcp")
            if c.raddr and c.raddr.port == api_port
        }
        mine = [peer for peer in slack.held() if peer[1] in ports]
        events = replica.in_flight
        if mine and (events or sending.done()):
            server.proc.send_signal(signal.SIGKILL)
            slack.stall_answers(0)
            return len(mine), events
        slack.stall_answers(0)
        await asyncio.sleep(0.1)
    server.proc.send_signal(signal.SIGKILL)
    return 0, replica.in_flight


async def leftovers(url: str) -> tuple[int, int]:
    """Outbox rows not delivered, timers due but not fired: both must be none at the end
    (timers due later, such as next Monday's weekly report, may wait)."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from storage import outbox
    from storage.engine import Database
    from storage.models import Timer

    db = Database.connect(url)
    try:
        async with db.reading() as session:
            overdue = await session.scalar(
                select(func.count())
                .select_from(Timer)
                .where(Timer.fired_at.is_(None), Timer.due_at <= datetime.now(UTC))
            )
            return await outbox.backlog(session), int(overdue or 0)
    finally:
        await db.close()


@pytest.mark.timeout(240)  # ~60 s on an idle 2-core machine; real time, so give it room
async def test_three_replicas_one_killed_one_drained_everything_exactly_once(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    async with fleet_world(tmp_path) as (slack, url, http):
        # One replica first: it migrates, and takes the admin's commands (its view is fresh).
        first = await replica("replica-a", url, slack, tmp_path, http)
        servers = [first]
        try:
            setup = b.sender(first.base_url, TEAM, http)
            for channel in CHANNELS:
                first_r, second_r = responders(channel)
                text = await command(
                    setup,
                    f"watch requests target={TARGET_SECONDS}s escalate=<@{lead(channel)}>",
                    channel,
                )
                assert "Watching" in text, text
                answer = await command(setup, f"responders <@{first_r}> <@{second_r}>", channel)
                assert f"<@{first_r}>" in answer, answer
            # Two more start together and load the watched channels as they start.
            servers += await asyncio.gather(
                *(replica(n, url, slack, tmp_path, http) for n in ("replica-b", "replica-c"))
            )
            fleet = Fleet([Replica(s, b.sender(s.base_url, TEAM, http)) for s in servers])
            _, b_, c_ = fleet.replicas
            ready_in = time.monotonic() - started

            stamps = b.Stamps()
            requests: list[tuple[str, str, bool]] = []
            gate = asyncio.Semaphore(24)

            async def one(i: int) -> None:
                channel = CHANNELS[i % len(CHANNELS)]
                answered = i % ANSWERED_EVERY == 0
                # Arrivals spread over SPREAD_SECONDS, so the ladders of the first requests
                # run (and C is killed) while later requests still arrive.
                await asyncio.sleep(i * SPREAD_SECONDS / REQUESTS)
                async with gate:
                    ts = stamps.next()
                    requests.append((channel, ts, answered))
                    await fleet.deliver(
                        b.post(channel, f"UQ{i:05d}", ts, "Checkout returns 500"), f"EvQ{i:06d}"
                    )
                    if answered:
                        reply = {
                            **b.post(channel, responders(channel)[0], stamps.next(), "On it"),
                            "thread_ts": ts,
                        }
                        await fleet.deliver(reply, f"EvA{i:06d}")

            tasks = [asyncio.create_task(one(i)) for i in range(REQUESTS)]
            # SIGKILL replica C once it has taken a good share of the traffic and the ladder is
            # busy (messages going out), so it likely dies holding timers or outbox claims.
            await until(
                lambda: c_.acked >= REQUESTS // 8 and len(slack.calls) >= 50,
                within=60,
                what="replica C traffic and escalations under way",
            )
            # Kill it while Slack has carried out calls of C's but C has not heard back: hold
            # the emulator's answers until some in-flight call is C's (its client port).
            sending = asyncio.gather(*tasks)
            c_in_flight, c_events = await kill_mid_send(c_, slack, sending)
            c_.alive = False
            killed_after = c_.acked
            await sending
            sent_in = time.monotonic() - started

            # SIGTERM replica B with timers and messages in flight: it drains and exits 0.
            assert b_.server.proc is not None
            b_.server.proc.send_signal(signal.SIGTERM)
            health, events = f"{b_.server.base_url}/healthz", f"{b_.server.base_url}/slack/events"
            draining = [await status(http, "GET", health)]
            while draining[-1] == 200 and len(draining) < 100:  # until the signal lands
                await asyncio.sleep(0.02)
                draining.append(await status(http, "GET", health))
            refused = await status(http, "POST", events)
            draining.append(await status(http, "GET", health))
            b_.alive = False
            assert await asyncio.to_thread(b_.server.proc.wait, 60) == 0, b_.server.log_tail()
            drained_in = time.monotonic() - started
            assert c_.server.proc.wait(5) == -signal.SIGKILL

            want = expected_calls(requests)
            await until(
                lambda: all(seen_calls(slack)[k] >= want[k] for k in want),
                within=90,
                what="every expected message",
            )
            complete_in = time.monotonic() - started
            # A duplicate would come from a claim taken over after its lease: wait that out.
            await asyncio.sleep(LEASE_SECONDS + 1)
            seen = seen_calls(slack)
            backlog, pending = await leftovers(url)
            done_in = time.monotonic() - started
        finally:
            for server in servers:
                await server.stop()
        assert servers[0].proc is not None and servers[0].proc.returncode == 0

    print(
        f"\nready at {ready_in:.1f} s, all sent at {sent_in:.1f} s, B drained at "
        f"{drained_in:.1f} s, all delivered at {complete_in:.1f} s, checked at {done_in:.1f} s; "
        f"{len(requests)} requests + {REQUESTS // ANSWERED_EVERY} answers; "
        f"acked per replica {[r.acked for r in fleet.replicas]}; "
        f"retried {dict(fleet.retries)}; drain answers {draining}/{refused}; "
        f"C killed with {c_in_flight} calls carried out but unanswered and {c_events} "
        "events awaiting an answer when the signal was sent; "
        f"lookups after takeover: {len(slack.delivered('conversations.history'))} history, "
        f"{len(slack.delivered('conversations.replies'))} replies; "
        f"total {time.monotonic() - started:.1f} s"
    )

    # Nothing lost, nothing twice: each DM, thread message and edit exactly once.
    assert {k: sum(v.values()) for k, v in want.items()} == {
        "dm": 3 * REQUESTS * 3 // 4,
        "thread": REQUESTS * 3 // 4,
        "update": REQUESTS * 3 // 4,
    }
    for kind in want:
        extra = seen[kind] - want[kind]
        texts = [
            str(c.args.get("text"))[:120]
            for c in slack.delivered("chat.postMessage")
            if (c.args["channel"], c.args.get("thread_ts")) in extra
        ][:5]
        assert seen[kind] == want[kind], (kind, extra, texts)
    assert set(seen["notice"].values()) <= {1}, seen["notice"]
    assert (backlog, pending) == (0, 0)
    # Answered requests caused nothing; every Slack call succeeded.
    assert not [c for c in slack.calls if not c.ok]
    # The traffic really was spread, C really died mid-run, B really drained.
    assert min(r.acked for r in fleet.replicas) > 0 and killed_after >= REQUESTS // 8
    assert c_in_flight > 0  # so the takeover-and-look-up path really ran
    assert (
        len(slack.delivered("conversations.history"))
        + len(slack.delivered("conversations.replies"))
        >= c_in_flight
    )
    assert draining[-2:] == [503, 503] and set(draining) <= {200, 503}, draining
    assert refused == 503, refused
