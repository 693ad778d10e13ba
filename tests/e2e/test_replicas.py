"""Two bot processes on one database: every escalation, pick, reminder and handoff once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.metrics import Metrics
from handlers.slack.chat import SlackChat
from schedules.deliverer import Deliverer
from schedules.runner import Runner
from storage.engine import Database
from tests.e2e.test_rota import channel_posts, set_up
from tests.harness import SUPPORT, SlackWorld

REQUESTERS = [f"UREQ{i:02d}" for i in range(20)]


async def second_replica(world: SlackWorld) -> tuple[Core, Runner]:
    core = Core(db=Database.connect(world.database_url), clock=world.clock, metrics=Metrics())
    await core.start()
    chat = SlackChat(
        client=AsyncWebClient(
            token="xoxb-test-token", base_url=world.slack.base_url, retry_handlers=[]
        ),
        base_url=world.slack.url,
    )
    deliverer = Deliverer(
        db=core.db, clock=world.clock, chats={"slack": chat}, metrics=core.metrics
    )
    deliverer.on_delivered("inc:", core.incidents.channel_created)
    return core, Runner(core=core, deliverer=deliverer)


async def test_two_replicas_do_everything_exactly_once(world: SlackWorld) -> None:
    await set_up(world)
    for user in REQUESTERS:
        world.slack.add_user(user, name=user.lower())
        await world.post(user, f"Request from {user}")
    core2, runner2 = await second_replica(world)
    try:
        # Through Monday's pick, Tuesday's reminders and Wednesday's start, in 5-minute steps.
        end = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
        while world.clock.now() < end:
            world.clock.advance(minutes=5)
            await core2.channels.refresh()
            await asyncio.gather(world.runner.settle(), runner2.settle())
    finally:
        await core2.close()
    posts = [c.args for c in world.sent("chat.postMessage")]
    threads = Counter(p["thread_ts"] for p in posts if p.get("thread_ts"))
    assert len(threads) == len(REQUESTERS) and set(threads.values()) == {1}
    dms = Counter(p["text"][:60] + p["channel"] for p in posts if p["channel"].startswith("U"))
    assert dms and set(dms.values()) == {1}
    texts = [p["text"] for p in posts if p["channel"] == SUPPORT]
    assert sum("Next support week" in t for t in texts) == 1
    assert sum("still not accepted" in t for t in texts) == 1
    assert sum("New support week" in t for t in texts) == 1
    assert len(world.sent("usergroups.users.update")) == 1
    assert len(channel_posts(world)) == len(texts)
