"""The HTTP endpoint under bad input and outages: refuse clearly, store nothing, never crash."""

from __future__ import annotations

import json
import time

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.stats import compute_stats
from handlers.slack.app import is_chatter
from storage.models import InboxEntry, Request
from tests.harness import ANNA, OPS, SUPPORT, SlackWorld


async def count(world: SlackWorld, model: type) -> int:
    async with world.core.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def message(world: SlackWorld, text: str = "help please") -> dict:
    ts = world.next_ts()
    return {"type": "message", "channel": SUPPORT, "user": OPS, "text": text, "ts": ts}


async def test_bad_signature_and_stale_timestamp_get_401_and_store_nothing(
    world: SlackWorld,
) -> None:
    await world.command("watch requests")
    assert world.sender is not None
    body = json.dumps(world.sender.envelope(message(world)))
    headers = {"Content-Type": "application/json"}
    forged = await world.sender.raw(body, headers=headers, signature="v0=" + "0" * 64)
    assert forged.status == 401
    stale = await world.sender.raw(body, headers=headers, timestamp=int(time.time()) - 600)
    assert stale.status == 401
    assert await count(world, Request) == 0 and await count(world, InboxEntry) == 0


async def test_malformed_bodies_get_4xx(world: SlackWorld) -> None:
    assert world.sender is not None
    for body in ("{not json", "[]", "payload=%7Bbroken", ""):
        reply = await world.sender.raw(body, headers={"Content-Type": "application/json"})
        assert 400 <= reply.status < 500 or reply.status == 200, (body, reply)
        assert reply.status != 500
    async with aiohttp.ClientSession() as session:
        huge = b"x" * (2 * 1024 * 1024)
        async with session.post(f"{world.base_url}/slack/events", data=huge) as response:
            assert response.status == 413
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{world.base_url}/healthz") as response,
    ):
        assert response.status == 200  # still serving


async def test_a_40000_character_message_is_stored_truncated(world: SlackWorld) -> None:
    await world.command("watch requests")
    await world.post(OPS, "A" * 40_000)
    async with world.core.db.reading() as session:
        text = await session.scalar(select(Request.text))
    assert text is not None and 1000 < len(text) <= 4000


async def test_database_outage_gives_5xx_then_the_retry_is_processed(world: SlackWorld) -> None:
    await world.command("watch requests")
    db = world.core.db
    engine, sessions = db.engine, db.sessions
    broken = create_async_engine("sqlite+aiosqlite:////nonexistent-dir/firstline.db")
    db.engine, db.sessions = broken, async_sessionmaker(broken, expire_on_commit=False)
    event = message(world, "Orders are not syncing")
    try:
        reply = await world.event(event, event_id="EvOUTAGE")
        assert reply.status >= 500
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{world.base_url}/healthz") as response,
        ):
            assert response.status == 503
    finally:
        db.engine, db.sessions = engine, sessions
        await broken.dispose()
    retried = await world.event(event, event_id="EvOUTAGE", retry_num=1)
    assert retried.status == 200
    report = await compute_stats(db, now=world.clock.now(), channel_id=SUPPORT)
    assert report.total.requests == 1


async def test_metrics_count_what_happened(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    await world.command(f"responders <@{ANNA}>")
    request = await world.post(OPS, "Label printer offline")
    await world.advance(minutes=6)
    await world.post(ANNA, "fixed", thread_ts=request)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{world.base_url}/metrics") as response,
    ):
        text = await response.text()
    assert 'firstline_requests_opened_total{kind="requests"} 1.0' in text
    assert 'firstline_escalations_total{step="breach"} 1.0' in text
    assert 'firstline_breaches_total{kind="requests"} 1.0' in text
    assert "firstline_first_response_seconds_bucket" in text
    assert "firstline_outbox_backlog 0.0" in text


async def test_chatter_is_answered_without_work_and_a_new_watch_counts_at_once(
    world: SlackWorld,
) -> None:
    # Nobody watches the channel yet: 200, nothing stored, the message still counted.
    reply = await world.event(message(world, "lunch?"), event_id="EvChatter1")
    assert reply.status == 200
    assert await count(world, InboxEntry) == 0
    assert await count(world, Request) == 0
    # Watched: the very next message opens a request (the drop is never a stale answer).
    await world.command("watch requests target=5m")
    reply = await world.event(message(world, "exports are stuck"), event_id="EvWatched1")
    assert reply.status == 200
    assert await count(world, Request) == 1
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{world.base_url}/metrics") as response,
    ):
        text = await response.text()
    assert 'firstline_events_total{platform="slack",type="message"} 2.0' in text


async def test_only_a_message_in_a_channel_nothing_acts_on_is_chatter(world: SlackWorld) -> None:
    def body(event: dict) -> str:
        return json.dumps({"type": "event_callback", "team_id": "T1", "event": event})

    core = world.core
    chatter = {"type": "message", "channel": "C0LUNCH", "user": OPS, "text": "hi", "ts": "1.2"}
    assert is_chatter(core, body(chatter), "application/json")
    assert not is_chatter(core, body(chatter), "application/x-www-form-urlencoded")
    assert not is_chatter(core, "{not json", "application/json")
    assert not is_chatter(core, body({**chatter, "type": "reaction_added"}), "application/json")
    assert not is_chatter(core, body({**chatter, "channel": None}), "application/json")
    await world.command("watch requests target=5m")  # SUPPORT, in this workspace
    assert not is_chatter(core, body({**chatter, "channel": SUPPORT}), "application/json")
