"""A replica SIGKILLed while Slack holds the answer to one of its sends.

Two `firstline serve` processes on one PostgreSQL with a long outbox lease (20 s). Slack
(the emulator) carries out the first request's thread message but holds the answer; the
replica that sent it is killed. The other requests' thread messages, in the same channel
(another thread) and in another channel, go out when due, long before the dead replica's
lease ends; after the lease the held message is looked up and recorded, never sent twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from handlers.slack.emulator import SlackEmulator
from tests.bench import benchlib as b
from tests.e2e.test_replica_processes import command, replica, until

PG_URL = os.environ.get("FIRSTLINE_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (FIRSTLINE_TEST_PG_URL)")

TEAM = "T0HELD"
ADMIN = "UADMIN"
SAME, OTHER = "C0HELD1", "C0HELD2"
LEASE = 20
TARGET = 10


def thread_posts(slack: SlackEmulator) -> Counter[tuple[str, str]]:
    return Counter(
        (str(c.args["channel"]), str(c.args["thread_ts"]))
        for c in slack.delivered("chat.postMessage")
        if c.args.get("thread_ts")
    )


@pytest.mark.timeout(180)
async def test_a_send_held_by_a_killed_replica_holds_up_nothing_else(tmp_path: Path) -> None:
    assert PG_URL is not None
    async with (
        b.fresh_database(PG_URL, tmp_path, "held") as url,
        b.emulator(TEAM, users=[(ADMIN, True), ("ULEAD", False)], channels=[SAME, OTHER]) as slack,
        b.client_session() as http,
    ):
        first = await replica("replica-a", url, slack, tmp_path, http, lease=LEASE)
        servers = [first]
        holder: b.ServerProcess | None = None
        try:
            servers.append(await replica("replica-b", url, slack, tmp_path, http, lease=LEASE))
            a, b_ = (b.sender(s.base_url, TEAM, http) for s in servers)
            for channel in (SAME, OTHER):
                answer = await command(
                    a, f"watch requests target={TARGET}s escalate=<@ULEAD>", channel
                )
                assert "Watching" in answer, answer
            stamps = b.Stamps()
            held_ts = stamps.next()
            assert (await b_.event(b.post(SAME, "UQ1", held_ts), event_id="EvHeld1")).status == 200
            await asyncio.sleep(3)
            others = {(SAME, stamps.next()), (OTHER, stamps.next())}
            for n, (channel, ts) in enumerate(sorted(others)):
                reply = await a.event(b.post(channel, f"UQ{n + 2}", ts), event_id=f"EvOther{n}")
                assert reply.status == 200

            # Just before the first thread message falls due, Slack starts holding answers.
            await asyncio.sleep(TARGET - 3 - 1.5)
            slack.stall_answers(60)
            await until(lambda: bool(slack.held()), within=15, what="a send held by Slack")
            api_port = int(slack.base_url.split(":")[2].split("/")[0])
            held_ports = {port for _, port in slack.held()}
            holder = next(
                s
                for s in servers
                if s.ps is not None
                and any(
                    c.laddr.port in held_ports
                    for c in s.ps.net_connections("tcp")
                    if c.raddr and c.raddr.port == api_port
                )
            )
            assert holder.proc is not None
            holder.proc.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            slack.stall_answers(0)
            assert (SAME, held_ts) in thread_posts(slack)  # Slack has it; the replica died

            # The other threads (same channel, other channel) are due 3 s later.
            await until(
                lambda: all(key in thread_posts(slack) for key in others),
                within=LEASE - 2,
                what="the other threads' messages",
            )
            others_in = time.monotonic() - killed_at
            # After the lease: the held one is looked up by its marker and recorded.
            await until(
                lambda: len(slack.delivered("conversations.replies")) >= 1,
                within=LEASE + 15,
                what="the held message looked up after the lease",
            )
            looked_up_in = time.monotonic() - killed_at
            await asyncio.sleep(2)
            posts = thread_posts(slack)
        finally:
            for server in servers:
                if server is not holder:
                    await server.stop()

    print(
        f"\nother threads out {others_in:.1f} s after the kill (due ~{3 + 1.5:.1f} s after it); "
        f"held message looked up {looked_up_in:.1f} s after the kill (lease {LEASE} s)"
    )
    assert others_in < LEASE - 5  # not waiting for the dead replica's lease
    assert posts[(SAME, held_ts)] == 1
    assert all(posts[key] == 1 for key in others)
