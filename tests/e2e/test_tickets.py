"""The `ticket` reaction against a fake Jira (and a fake webhook) on loopback: created
through the outbox, retried on 503 and 429, linked in the thread, never twice."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from bot.clock import FakeClock
from tests.harness import ANNA, BEN, OPS, SUPPORT, SlackWorld


@dataclass
class FakeTicketServer:
    """Answers POSTs from a script of (status, body, headers); records every request. Like
    a receiver that honours ``Idempotency-Key``, a key it created a ticket for gets that
    ticket again."""

    answers: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Idempotency-Key

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            {
                "path": request.path,
                "auth": request.headers.get("Authorization", ""),
                "key": request.headers.get("Idempotency-Key", ""),
                "json": await request.json(),
            }
        )
        key = self.received[-1]["key"]
        if key in self.created:
            return web.json_response(self.created[key])
        status, body, headers = (
            self.answers.pop(0) if self.answers else (500, {"errorMessages": ["unscripted"]}, {})
        )
        if key and status < 300:
            self.created[key] = body
        return web.json_response(body, status=status, headers=headers)


@contextlib.asynccontextmanager
async def on_loopback(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeTicketServer]:
    server = FakeTicketServer()
    app = web.Application()
    app.router.add_post("/rest/api/2/issue", server.handle)
    app.router.add_post("/hook", server.handle)
    async with on_loopback(app) as server.url:
        yield server


def thread(world: SlackWorld, ts: str) -> list[str]:
    return [
        str(c.args["text"])
        for c in world.sent("chat.postMessage")
        if c.args.get("thread_ts") == ts and c.args["channel"] == SUPPORT
    ]


async def jira_world(database_url: str, clock: FakeClock, server: FakeTicketServer) -> SlackWorld:
    return SlackWorld(
        database_url=database_url,
        clock=clock,
        env={
            "JIRA_URL": server.url,
            "JIRA_EMAIL": "ops@example.com",
            "JIRA_API_TOKEN": "jira-token",
            "JIRA_PROJECT": "SUP",
        },
    )


async def test_ticket_created_in_jira_after_a_503(
    database_url: str, clock: FakeClock, fake_server: FakeTicketServer
) -> None:
    fake_server.answers = [
        (503, {"errorMessages": ["maintenance"]}, {}),
        (201, {"id": "10001", "key": "SUP-7", "self": f"{fake_server.url}/rest/api/2/issue/1"}, {}),
    ]
    async with await jira_world(database_url, clock, fake_server) as world:
        await world.command("watch requests target=5m")
        request = await world.post(ANNA, "Orders from Hamburg are not synced since 09:00\nHelp!")
        await world.react(OPS, "ticket", request)
        await world.settle()
        assert len(fake_server.received) == 1
        first = fake_server.received[0]
        expected = base64.b64encode(b"ops@example.com:jira-token").decode()
        assert first["auth"] == f"Basic {expected}"
        fields = first["json"]["fields"]
        assert fields["project"] == {"key": "SUP"} and fields["issuetype"] == {"name": "Task"}
        assert fields["summary"] == "Orders from Hamburg are not synced since 09:00"
        description = fields["description"]
        for heading in (
            "h4. The Original Request",
            "h4. The Symptoms",
            "h4. Root Cause(s)",
            "h4. Next Actions",
            'h4. "Whys"',
            "h4. Prevention / Mitigation suggestions",
        ):
            assert heading in description
        assert "Orders from Hamburg are not synced since 09:00\nHelp!" in description
        assert f"/archives/{SUPPORT}/p{request.replace('.', '')}" in description
        assert thread(world, request) == [
            "⏳ The ticket is not created yet (Jira answered 503); Firstline keeps retrying."
        ]
        # The outbox backs off (2 s after the first failure), then Jira answers 201.
        await world.advance(seconds=1)
        assert len(fake_server.received) == 1
        await world.advance(seconds=2)
        assert len(fake_server.received) == 2
        assert thread(world, request)[-1] == (
            f"🎫 Ticket <{fake_server.url}/browse/SUP-7|SUP-7> created for this request "
            f"(asked by <@{ANNA}>, ticket requested by <@{OPS}>). Follow the work there."
        )
        # Never twice for the same request: another :ticket: only gets a private note.
        await world.react(BEN, "ticket", request)
        await world.settle()
        assert len(fake_server.received) == 2
        assert "already has a ticket" in world.last_ephemeral(BEN)
        assert "SUP-7" in world.last_ephemeral(BEN)
        # The reaction is not a first response.
        assert "Requests: 1 · answered: 0" in await world.command("stats")


async def test_refused_ticket_is_reported_and_can_be_asked_again(
    database_url: str, clock: FakeClock, fake_server: FakeTicketServer
) -> None:
    fake_server.answers = [
        (400, {"errorMessages": [], "errors": {"project": "project is required"}}, {}),
        (201, {"id": "10002", "key": "SUP-8"}, {}),
    ]
    async with await jira_world(database_url, clock, fake_server) as world:
        await world.command("watch requests target=5m")
        request = await world.post(ANNA, "Invoice PDF is empty")
        await world.react(OPS, "ticket", request)
        await world.settle()
        [failed] = thread(world, request)
        assert failed.startswith(
            "❌ The ticket could not be created: Jira refused it (400: project: project is "
            "required)."
        )
        assert "react with :ticket: again" in failed
        await world.react(OPS, "ticket", request)
        await world.settle()
        assert len(fake_server.received) == 2
        assert "SUP-8" in thread(world, request)[-1]


async def test_webhook_tickets_honour_retry_after(
    database_url: str, clock: FakeClock, fake_server: FakeTicketServer
) -> None:
    fake_server.answers = [
        (429, {"error": "slow down"}, {"Retry-After": "30"}),
        (200, {"key": "HD-1", "url": "https://helpdesk.example/HD-1"}, {}),
    ]
    env = {"FIRSTLINE_TICKET_WEBHOOK": f"{fake_server.url}/hook"}
    async with SlackWorld(database_url=database_url, clock=clock, env=env) as world:
        await world.command("watch requests target=5m")
        request = await world.post(ANNA, "The courier app shows yesterday's tours")
        await world.react(OPS, "ticket", request)
        await world.settle()
        body = fake_server.received[0]["json"]
        assert body["summary"] == "The courier app shows yesterday's tours"
        assert "#### The Original Request" in body["description"]
        assert body["request"]["requester"] == ANNA and body["request"]["reported_by"] == OPS
        # The note arrives while the ticket waits: tickets queue apart from chat messages.
        assert "rate limited" in thread(world, request)[0]
        await world.advance(seconds=29)
        assert len(fake_server.received) == 1
        await world.advance(seconds=2)
        assert len(fake_server.received) == 2
        assert "<https://helpdesk.example/HD-1|HD-1>" in thread(world, request)[-1]


async def empty(database_url: str) -> None:
    """What a reinstall on an empty database starts from: no tables, ids from 1 again."""

    def drop_everything(conn: Connection) -> None:
        tables = MetaData()
        tables.reflect(conn)
        tables.drop_all(conn)

    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(drop_everything)
    await engine.dispose()


async def test_webhook_keys_differ_for_the_same_row_id_in_another_install(
    database_url: str, clock: FakeClock, fake_server: FakeTicketServer
) -> None:
    fake_server.answers = [
        (200, {"key": "HD-1", "url": "https://helpdesk.example/HD-1"}, {}),
        (200, {"key": "HD-2", "url": "https://helpdesk.example/HD-2"}, {}),
    ]
    env = {"FIRSTLINE_TICKET_WEBHOOK": f"{fake_server.url}/hook"}
    for install in range(2):  # the second: a reinstall a day later, on an empty database
        async with SlackWorld(database_url=database_url, clock=clock, env=env) as world:
            await world.command("watch requests target=5m")
            request = await world.post(ANNA, "The courier app shows yesterday's tours")
            await world.react(OPS, "ticket", request)
            await world.settle()
            assert f"HD-{install + 1}" in thread(world, request)[-1]
        await empty(database_url)
        clock.advance(hours=24)
    first, second = (received["key"] for received in fake_server.received)
    assert first.startswith("firstline-outbox-") and second.startswith("firstline-outbox-")
    assert first.split(":")[0] == second.split(":")[0]  # the same outbox row id …
    assert first != second  # … yet a different key: the receiver makes a second ticket


async def test_no_ticket_system_configured(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    request = await world.post(ANNA, "Label printer offline")
    await world.react(OPS, "ticket", request)
    await world.settle()
    [said] = thread(world, request)
    assert "no ticket system is configured" in said and "JIRA_URL" in said
