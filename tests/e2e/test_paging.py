"""Paging the second line against a local fake PagerDuty (Events API v2) and a fake webhook
receiver: trigger, acknowledge on answer, resolve on close, 429 and 503 retried, signatures
verifiable, out-of-hours pages, and one incident when a deliverer is SIGKILLed mid-send."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.clock import FakeClock
from handlers.paging import SIGNATURE, TIMESTAMP, verify_signature
from tests.harness import ALERTS, ANNA, BEN, OPS, SUPPORT, SlackWorld

ROUTING_KEY = "R0UTINGKEY0000000000000000000001"
SECRET = "webhook-signing-secret"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class FakePagerDuty:
    """PagerDuty's Events API v2 as far as Firstline uses it: incidents by dedup_key."""

    events: list[dict[str, Any]] = field(default_factory=list)
    incidents: dict[str, list[str]] = field(default_factory=dict)  # dedup_key → states
    script: list[int] = field(default_factory=list)  # answers to give before 202s
    hold_first_trigger: bool = False
    received: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def enqueue(self, request: web.Request) -> web.Response:
        event = await request.json()
        self.events.append(event)
        self.received.set()
        if self.hold_first_trigger and event["event_action"] == "trigger":
            self.hold_first_trigger = False
            await self.release.wait()  # the sender is killed while it waits for this answer
        if self.script:
            status = self.script.pop(0)
            headers = {"Retry-After": "1"} if status == 429 else {}
            return web.json_response({"status": "throttled"}, status=status, headers=headers)
        if event.get("routing_key") != ROUTING_KEY:
            return web.json_response(
                {"status": "invalid event", "errors": ["routing_key is invalid"]}, status=400
            )
        key, action = event["dedup_key"], event["event_action"]
        states = self.incidents.setdefault(key, [])
        if action == "trigger" and "triggered" not in states:
            states.append("triggered")  # a repeated trigger of an open incident adds nothing
        elif action in ("acknowledge", "resolve") and states:
            states.append(action + "d")
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": key}, status=202
        )


@dataclass
class FakeReceiver:
    """Whatever the team runs behind a webhook: records bodies and headers as received."""

    calls: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)

    async def receive(self, request: web.Request) -> web.Response:
        self.calls.append((await request.read(), dict(request.headers)))
        if self.script:
            status = self.script.pop(0)
            headers = {"Retry-After": "7"} if status == 429 else {}
            return web.Response(status=status, text="busy", headers=headers)
        return web.json_response({"ok": True})


@dataclass
class Services:
    pagerduty: FakePagerDuty
    receiver: FakeReceiver
    env: dict[str, str]


@pytest.fixture
async def services() -> AsyncIterator[Services]:
    pagerduty, receiver = FakePagerDuty(), FakeReceiver()
    app = web.Application()
    app.router.add_post("/v2/enqueue", pagerduty.enqueue)
    app.router.add_post("/hooks/oncall", receiver.receive)
    server = TestServer(app)
    await server.start_server()
    env = {
        "FIRSTLINE_PAGERDUTY_PAYMENTS": ROUTING_KEY,
        "FIRSTLINE_PAGERDUTY_EVENTS_URL": str(server.make_url("/v2/enqueue")),
        "FIRSTLINE_WEBHOOK_ONCALL": str(server.make_url("/hooks/oncall")),
        "FIRSTLINE_WEBHOOK_ONCALL_SECRET": SECRET,
    }
    try:
        yield Services(pagerduty, receiver, env)
    finally:
        pagerduty.release.set()
        await server.close()


@pytest.fixture
async def paged(
    database_url: str, clock: FakeClock, services: Services
) -> AsyncIterator[SlackWorld]:
    async with SlackWorld(database_url=database_url, clock=clock, env=services.env) as world:
        yield world


def thread_texts(world: SlackWorld, ts: str, channel: str = SUPPORT) -> list[str]:
    return [
        str(c.args["text"])
        for c in world.sent("chat.postMessage")
        if c.args.get("thread_ts") == ts and c.args["channel"] == channel
    ]


def pages_said(world: SlackWorld, ts: str, channel: str = SUPPORT) -> list[str]:
    return [t for t in thread_texts(world, ts, channel) if t.startswith("📟")]


async def test_pagerduty_trigger_acknowledge_resolve_with_429_and_503(
    paged: SlackWorld, services: Services
) -> None:
    world, pd = paged, services.pagerduty
    said = await world.command("watch requests target=5m escalate=pagerduty:payments")
    assert "escalate pagerduty:payments" in said
    ts = await world.post(ANNA, "Checkout returns 500 for every card payment")
    await world.advance(minutes=6)  # past the target: a requests channel does not page yet
    assert pd.events == []
    pd.script = [429, 503]
    await world.advance(minutes=5)  # twice the target: trigger, answered 429
    await world.advance(seconds=2)  # after Retry-After: answered 503
    assert [e["event_action"] for e in pd.events] == ["trigger", "trigger"]
    assert pages_said(world, ts) == []
    await world.advance(seconds=5)  # after the backoff: accepted
    assert len(pd.events) == 3 and pd.events[0] == pd.events[2]
    [trigger] = pd.events[-1:]
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["dedup_key"] == f"firstline:T0DEMO:{SUPPORT}:{ts}"
    assert trigger["payload"]["severity"] == "error"
    assert trigger["payload"]["summary"].startswith("No first response to a request")
    assert "Checkout returns 500" in trigger["payload"]["summary"]
    assert trigger["payload"]["custom_details"]["step"] == "second_line"
    assert trigger["links"][0]["href"].endswith(f"/archives/{SUPPORT}/p{ts.replace('.', '')}")
    assert pages_said(world, ts) == ["📟 Paged payments."]
    edits = [str(c.args["text"]) for c in world.sent("chat.update")]
    assert any(t.startswith("🚨🚨") and "Escalated to 📟 payments." in t for t in edits)

    # Someone answers in Slack: acknowledged. Closed with ✅: resolved. Each once.
    await world.post(OPS, "Looking at the payment gateway now", thread_ts=ts)
    await world.settle()
    await world.react(OPS, "white_check_mark", ts)
    await world.react(ANNA, "white_check_mark", ts)
    await world.settle()
    assert [e["event_action"] for e in pd.events[3:]] == ["acknowledge", "resolve"]
    assert all(e["dedup_key"] == trigger["dedup_key"] for e in pd.events)
    assert "payload" not in pd.events[-1]
    assert pd.incidents == {trigger["dedup_key"]: ["triggered", "acknowledged", "resolved"]}
    await world.advance(minutes=30)
    assert pages_said(world, ts) == ["📟 Paged payments."]


async def test_alerts_page_a_signed_webhook_at_the_target(
    paged: SlackWorld, services: Services
) -> None:
    world, receiver = paged, services.receiver
    await world.command("watch alerts target=5m escalate=webhook:oncall", channel=ALERTS)
    ts = await world.post(ANNA, "disk 95% full on db-1", channel=ALERTS)
    receiver.script = [503, 429]
    await world.advance(minutes=5)  # an alerts channel pages at the target itself
    await world.advance(seconds=3)  # 503, then backoff
    await world.advance(seconds=8)  # 429 with Retry-After: 7
    assert len(receiver.calls) == 3
    keys = {headers["Idempotency-Key"] for _, headers in receiver.calls}
    assert keys == {f"firstline:T0DEMO:{ALERTS}:{ts}:trigger"}
    for body, headers in receiver.calls:
        assert verify_signature(
            SECRET, timestamp=headers[TIMESTAMP], body=body, signature=headers[SIGNATURE]
        )
        assert not verify_signature(
            "another secret", timestamp=headers[TIMESTAMP], body=body, signature=headers[SIGNATURE]
        )
    document = json.loads(receiver.calls[-1][0])
    assert document["event"] == "trigger" and document["step"] == "breach"
    assert document["request"]["text"] == "disk 95% full on db-1"
    assert document["request"]["kind"] == "alerts"
    assert document["link"].endswith(f"/archives/{ALERTS}/p{ts.replace('.', '')}")
    assert pages_said(world, ts, ALERTS) == ["📟 Paged oncall."]
    await world.advance(minutes=10)  # the 200% step does not page twice
    assert len(receiver.calls) == 3
    await world.react(OPS, "white_check_mark", ts, channel=ALERTS)
    await world.settle()
    events = [json.loads(body)["event"] for body, _ in receiver.calls[3:]]
    assert events == ["acknowledge", "resolve"]
    assert pages_said(world, ts, ALERTS) == ["📟 Paged oncall."]


async def test_a_page_that_cannot_be_sent_says_why_once(paged: SlackWorld) -> None:
    world = paged
    await world.command("watch alerts target=5m escalate=pagerduty:nobody", channel=ALERTS)
    ts = await world.post(ANNA, "queue backlog over 10k", channel=ALERTS)
    await world.advance(minutes=11)
    [said] = pages_said(world, ts, ALERTS)
    assert said.startswith("📟 Could not page nobody: no PagerDuty routing key named nobody")
    assert "FIRSTLINE_PAGERDUTY_NOBODY" in said
    bad = await world.command("watch alerts escalate=pagerduty:", channel=ALERTS)
    assert "is not a paging target name" in bad
    assert "offhours=wait" in await world.command("watch alerts offhours=sometimes", channel=ALERTS)


async def test_out_of_hours_pages_only_with_offhours_page(
    paged: SlackWorld, services: Services, clock: FakeClock
) -> None:
    world, pd = paged, services.pagerduty
    hours = 'hours="Mon-Fri 09:00-17:00" tz=UTC'
    await world.command(f"watch requests target=5m escalate=pagerduty:payments {hours}")
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=clock.now().tzinfo)
    clock.advance(seconds=(saturday - clock.now()).total_seconds())
    waits = await world.post(ANNA, "Saturday: refunds fail")
    await world.advance(minutes=30)
    assert pd.events == []  # offhours=wait (the default): the ladder waits for Monday
    said = await world.command("watch requests offhours=page")
    assert "out of hours: page" in said
    pages = await world.post(BEN, "Saturday: invoices fail")  # a new request, a new ladder
    await world.advance(minutes=9)
    assert pd.events == []
    await world.advance(minutes=2)  # twice the target on the wall clock
    assert [e["event_action"] for e in pd.events] == ["trigger"]
    assert pd.events[0]["payload"]["custom_details"]["step"] == "offhours"
    assert "after 11 min: Saturday: invoices fail" in pd.events[0]["payload"]["summary"]
    assert pages_said(world, pages) == ["📟 Paged payments."]
    assert pages_said(world, waits) == []


CHILD = """
import asyncio, sys
from datetime import datetime
from bot.clock import FakeClock
from bot.metrics import Metrics
from handlers.paging import Pager, PagingTargets
from schedules.deliverer import Deliverer
from storage.engine import Database
import aiohttp

async def main(url, now, env):
    db = Database.connect(url)
    async with aiohttp.ClientSession() as http:
        clock = FakeClock(datetime.fromisoformat(now))
        pager = Pager(targets=PagingTargets.from_env(env), session=http, clock=clock)
        deliverer = Deliverer(db=db, clock=clock, chats={}, metrics=Metrics(), pager=pager)
        print("delivering", flush=True)
        await deliverer.deliver_once()

asyncio.run(main(sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])))
"""


async def test_one_incident_when_the_sender_is_killed_mid_page(
    paged: SlackWorld, services: Services, database_url: str, tmp_path: Path
) -> None:
    world, pd = paged, services.pagerduty
    await world.command("watch alerts target=5m escalate=pagerduty:payments", channel=ALERTS)
    ts = await world.post(ANNA, "payments p99 latency over 2s", channel=ALERTS)
    await world.settle()
    world.clock.advance(minutes=5)
    await world.core.timers.fire_due()  # the page is decided; this process does not send it
    pd.hold_first_trigger = True
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            database_url,
            world.clock.now().isoformat(),
            *(f"{k}={v}" for k, v in services.env.items()),
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await asyncio.wait_for(pd.received.wait(), timeout=60)
        finally:
            if child.returncode is None:
                os.kill(child.pid, signal.SIGKILL)  # mid-send: PagerDuty got it, no answer yet
            await child.wait()
    assert child.returncode == -signal.SIGKILL, log.read_text()
    assert [e["event_action"] for e in pd.events] == ["trigger"]
    pd.release.set()

    # The lease runs out; this replica takes the row over and sends it again.
    await world.advance(seconds=61)
    assert [e["event_action"] for e in pd.events] == ["trigger", "trigger"]
    assert pd.events[0]["dedup_key"] == pd.events[1]["dedup_key"]
    assert pd.incidents == {pd.events[0]["dedup_key"]: ["triggered"]}  # one incident
    assert pages_said(world, ts, ALERTS) == ["📟 Paged payments."]
    await world.advance(minutes=10)
    assert len(pd.events) == 2
    assert pages_said(world, ts, ALERTS) == ["📟 Paged payments."]
