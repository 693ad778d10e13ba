"""Configuration acknowledged on one replica is in force on every other one at once.

Three `firstline serve` processes on one PostgreSQL (real processes, real clock, signed
events, the Slack emulator in this process). A channel is watched, or its responders
changed, through replica A; events for it go to replicas B and C immediately after the
answer, and 0.2 s, 1 s and 2.5 s after it (the issue's report). Every event must count:
Slack does not retry an event that got 200, so a stale drop would lose it for good.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.engine import Database
from storage.models import Request
from tests.bench import benchlib as b
from tests.e2e.test_replica_processes import command, replica

PG_URL = os.environ.get("FIRSTLINE_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (FIRSTLINE_TEST_PG_URL)")

TEAM = "T0COHERE"
ADMIN = "UADMIN"
TRIALS = 100
WATCHED = [f"C0W{i:03d}" for i in range(TRIALS)]
DELAYED = "C0DELAY"
TEAM_CHANNELS = [f"C0R{i:02d}" for i in range(20)]


@pytest.mark.timeout(240)
async def test_a_change_on_one_replica_is_used_by_the_others_for_the_next_event(
    tmp_path: Path,
) -> None:
    channels = [*WATCHED, DELAYED, *TEAM_CHANNELS]
    users = [(ADMIN, True)] + [(f"UX{c[-2:]}", False) for c in TEAM_CHANNELS]
    assert PG_URL is not None
    async with (
        b.fresh_database(PG_URL, tmp_path, "coherence") as url,
        b.emulator(TEAM, users=users, channels=channels) as slack,
        b.client_session() as http,
    ):
        first = await replica("replica-a", url, slack, tmp_path, http)
        servers = [first]
        try:
            servers += await asyncio.gather(
                *(replica(n, url, slack, tmp_path, http) for n in ("replica-b", "replica-c"))
            )
            a, b_, c = (b.sender(s.base_url, TEAM, http) for s in servers)
            stamps = b.Stamps()
            sent: dict[str, int] = {}

            async def post(to: b.SlackSender, channel: str, user: str, **extra: str) -> str:
                ts = stamps.next()
                event = {**b.post(channel, user, ts), **extra}
                reply = await to.event(event, event_id=f"Ev{ts.replace('.', '')}")
                assert reply.status == 200, reply
                return ts

            # 100 trials: watch on A, then at once one request on B and one on C.
            for i, channel in enumerate(WATCHED):
                answer = await command(a, "watch requests target=1h", channel)
                assert "Watching" in answer, answer
                await asyncio.gather(
                    post(b_, channel, f"UB{i:05d}"), post(c, channel, f"UC{i:05d}")
                )
                sent[channel] = 2

            # The case: 0.2 s, 1 s and 2.5 s after the answer, on B and C.
            answer = await command(a, "watch requests target=1h", DELAYED)
            assert "Watching" in answer, answer
            for n, (delay, to) in enumerate(((0.2, b_), (0.8, c), (1.5, b_))):
                await asyncio.sleep(delay)
                await post(to, DELAYED, f"UD{n}")
            sent[DELAYED] = 3

            # Responders: only the team answers (responders=team); the team changes on A,
            # then a request on B and the new responder's reply on C at once.
            for channel in TEAM_CHANNELS:
                await command(a, "watch requests target=1h responders=team", channel)
                await command(a, "responders <@UOLD>", channel)
            asked: dict[str, str] = {}
            for channel in TEAM_CHANNELS:
                answer = await command(a, f"responders <@UX{channel[-2:]}>", channel)
                assert f"UX{channel[-2:]}" in answer, answer
                ts = await post(b_, channel, "UREQ")
                await post(c, channel, f"UX{channel[-2:]}", thread_ts=ts)
                asked[channel] = ts
        finally:
            for server in servers:
                await server.stop()

        db = Database.connect(url)
        try:
            async with db.reading() as session:
                counted = dict(
                    (
                        await session.execute(
                            select(Request.channel_id, func.count()).group_by(Request.channel_id)
                        )
                    ).all()
                )
                answered = dict(
                    (
                        await session.execute(
                            select(Request.channel_id, Request.first_responder).where(
                                Request.channel_id.in_(TEAM_CHANNELS)
                            )
                        )
                    ).all()
                )
        finally:
            await db.close()

    lost = {ch: (n, counted.get(ch, 0)) for ch, n in sent.items() if counted.get(ch, 0) != n}
    assert not lost, f"events dropped (channel: sent, counted): {lost}"
    wrong = {ch: who for ch, who in answered.items() if who != f"UX{ch[-2:]}"}
    assert not wrong, f"first responders not recorded (channel: recorded): {wrong}"
    assert len(answered) == len(TEAM_CHANNELS)
