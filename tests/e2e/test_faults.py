"""Faults: the database goes away mid-run and comes back.

The PostgreSQL here is a dedicated server (``scripts/postgres-for-tests``, its own port
and directory) so stopping it disturbs no other test. While it is down, Slack's events
get a 5xx (so Slack retries them) and ``/healthz`` answers 503; once it is back, the
retried events are processed exactly once and the timers that fell due meanwhile fire.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FakeClock
from tests.conftest import START
from tests.e2e.test_desk_flow import dms, stats, thread_posts, watch_support
from tests.harness import ANNA, BEN, LEAD, OPS, SUPPORT, SlackWorld

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres-for-tests"
pytestmark = pytest.mark.skipif(
    not os.environ.get("FIRSTLINE_TEST_PG_URL"),
    reason="needs PostgreSQL server binaries (FIRSTLINE_TEST_PG_URL is set when they run)",
)


def postgres(*args: str) -> str:
    env = {**os.environ, "FIRSTLINE_TEST_PG_OWNER": str(os.getpid())}
    env.pop("FIRSTLINE_TEST_PG_PORT", None)
    done = subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
async def own_postgres() -> AsyncIterator[str]:
    url = await asyncio.to_thread(postgres, "start")
    try:
        yield url
    finally:
        await asyncio.to_thread(postgres, "stop", url)


async def health(world: SlackWorld) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{world.base_url}/healthz", timeout=aiohttp.ClientTimeout(total=10)) as r,
    ):
        return r.status


def message(ts: str, text: str) -> dict[str, str]:
    return {
        "type": "message",
        "channel": SUPPORT,
        "user": "UDORA",
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
    }


async def test_database_restart_events_get_5xx_then_are_processed_once(
    own_postgres: str,
) -> None:
    async with SlackWorld(database_url=own_postgres, clock=FakeClock(START)) as world:
        await watch_support(world)
        before = await world.post(OPS, "Refunds stuck since this morning")
        assert await health(world) == 200

        await asyncio.to_thread(postgres, "halt", own_postgres)
        assert await health(world) == 503
        during = world.next_ts()
        first = await world.event(message(during, "Password reset mails bounce"), event_id="EvDOWN")
        assert first.status >= 500, first
        world.clock.advance(minutes=1)  # Slack retries after a minute

        await asyncio.to_thread(postgres, "resume", own_postgres)
        assert await health(world) == 200
        # Slack retries the event it got a 5xx for; a second retry is answered and ignored.
        for retry in (1, 2):
            reply = await world.event(
                message(during, "Password reset mails bounce"), event_id="EvDOWN", retry_num=retry
            )
            assert reply.status == 200, reply
        await world.advance(minutes=2)  # both nudges are due 3 min after the posts
        assert len(dms(world, ANNA)) == 2
        await world.advance(minutes=10)

        assert (await stats(world))["requests"] == 2
        for ts in (before, during):
            assert len(thread_posts(world, ts)) == 1
        assert len(dms(world, ANNA)) == 2 and len(dms(world, BEN)) == 2
        assert len(dms(world, LEAD)) == 2 and len(world.sent("chat.update")) == 2
