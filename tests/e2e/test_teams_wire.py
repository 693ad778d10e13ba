"""Teams at the wire: the Agents SDK's real token validation and acquisition against the
emulator's sign-in endpoints, and the fake Bot Connector's own checks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from bot.clock import FakeClock
from storage.models import InboxEntry, Request, TeamsConversation, TeamsPerson, Workspace
from tests.teams_harness import ANNA, BEN, LEAD, OPS, SUPPORT, TeamsWorld, mention


@pytest.fixture
async def teams(database_url: str, clock: FakeClock) -> AsyncIterator[TeamsWorld]:
    async with TeamsWorld(database_url=database_url, clock=clock) as world:
        yield world


def _activity(world: TeamsWorld) -> dict[str, Any]:
    message_id = world.next_id()
    return world.activity(
        kind="message",
        sender=OPS,
        channel=SUPPORT,
        conversation=f"{SUPPORT};messageid={message_id}",
        activity_id=message_id,
        text="Orders are stuck",
    )


def _bad_tokens(world: TeamsWorld) -> dict[str, dict[str, str]]:
    connector = world.connector
    now = int(time.time())
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {
        "iss": "https://api.botframework.com",
        "aud": connector.app_id,
        "serviceurl": connector.service_url,
        "exp": now + 600,
    }

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    return {
        "missing header": {},
        "not a bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "malformed": bearer("not-a-jwt"),
        "foreign key": bearer(
            jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": connector.kid})
        ),
        "unknown key id": bearer(
            jwt.encode(claims, foreign, algorithm="RS256", headers={"kid": "someone-else"})
        ),
        "alg none": bearer(jwt.encode(claims, None, algorithm="none")),
        "expired": bearer(connector.sign({"exp": now - 3600, "nbf": now - 7200})),
        "not yet valid": bearer(connector.sign({"nbf": now + 3600})),
        "wrong audience": bearer(connector.sign({"aud": "00000000-0000-0000-0000-00000000beef"})),
        "wrong issuer": bearer(connector.sign({"iss": "https://evil.example"})),
        "wrong serviceUrl": bearer(connector.sign({"serviceurl": "https://smba.evil.example/"})),
    }


async def test_every_authentication_failure_is_a_401_with_one_warning(
    teams: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for case, headers in _bad_tokens(teams).items():
        caplog.clear()
        status, text = await teams.send(_activity(teams), headers=headers)
        assert status == 401, (case, text)
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(loud) == 1 and loud[0].levelno == logging.WARNING, (case, loud)
        if case in ("expired", "not yet valid"):
            assert "clock skew" in loud[0].getMessage()
    assert teams.http is not None
    async with teams.http.post(f"{teams.base_url}/api/messages", data=b"{not json") as response:
        assert response.status == 401  # a stranger learns nothing about the body
    async with teams.core.db.reading() as session:
        for table in (InboxEntry, Request, TeamsConversation, TeamsPerson, Workspace):
            assert await session.scalar(select(func.count()).select_from(table)) == 0
    assert teams.sent() == []
    await teams.post(OPS, "A properly signed message")  # and the real thing still gets in
    async with teams.core.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Workspace)) == 1


async def test_tokens_are_acquired_once_and_reused(teams: TeamsWorld) -> None:
    await teams.command("support watch requests target=5m")
    await teams.command(f"support responders {mention(ANNA)} {mention(BEN)}", mentions=(ANNA, BEN))
    for n in range(3):
        await teams.post(OPS, f"Request {n}")
    await teams.advance(minutes=3)  # nudges, in 1:1 chats opened for them
    await teams.advance(minutes=3)  # breach cards
    assert len(teams.sent("create")) == 2 and len(teams.sent()) >= 7  # each call signed
    assert teams.connector.token_requests == 1
    assert teams.connector.refused == []


async def test_no_blocking_call_on_the_event_loop(teams: TeamsWorld) -> None:
    """The first activity fetches the signing keys and the first delivery discovers the
    sign-in endpoint and gets a token: all of it off the loop. The emulator shares the
    loop, so a blocking call to it would stall until its timeout."""
    loop = asyncio.get_running_loop()
    slow: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "Executing" in record.getMessage():
                slow.append(record.getMessage())

    handler = Catch()
    logging.getLogger("asyncio").addHandler(handler)
    loop.set_debug(True)
    loop.slow_callback_duration = 0.5
    try:
        await teams.command("support watch requests target=5m")
        await teams.command(f"support responders {mention(ANNA)}", mentions=(ANNA,))
        request = await teams.post(OPS, "Stuck orders")
        await teams.advance(minutes=6)
        await teams.post(ANNA, "Looking", thread=request)
        await teams.settle()
    finally:
        loop.set_debug(False)
        logging.getLogger("asyncio").removeHandler(handler)
    assert teams.connector.token_requests == 1 and len(teams.sent()) >= 3
    assert slow == []


async def test_mentions_keep_id_name_and_text_in_plain_messages(teams: TeamsWorld) -> None:
    await teams.command("support watch requests target=5m")
    answer = await teams.command(
        f"support responders {mention(ANNA)} {mention(BEN)}", mentions=(ANNA, BEN)
    )
    [reply] = [c for c in teams.sent("reply") if "<at>Anna</at>" in c.text]
    assert reply.card is None and answer == reply.text
    assert {(m["mentioned"]["id"], m["mentioned"]["name"], m["text"]) for m in reply.mentions} == {
        (ANNA.teams_id, "Anna", "<at>Anna</at>"),
        (BEN.teams_id, "Ben", "<at>Ben</at>"),
    }
    assert teams.connector.refused == []


async def test_an_edit_inside_a_reply_chain_addresses_the_chain(teams: TeamsWorld) -> None:
    await teams.command(
        f"support watch requests target=5m escalate={mention(LEAD)}", mentions=(LEAD,)
    )
    await teams.command(f"support responders {mention(ANNA)}", mentions=(ANNA,))
    request = await teams.post(OPS, "Invoices are not generated")
    await teams.advance(minutes=5)
    [breach] = [c for c in teams.sent("send") if c.thread == request]
    assert breach.conversation == f"{SUPPORT};messageid={request}"
    await teams.restart()  # the chain is remembered in the database, not in memory
    await teams.post(ANNA, "On it", thread=request)
    await teams.settle()
    [edit] = teams.connector.updates(breach.activity_id)
    assert edit.conversation == f"{SUPPORT};messageid={request}"
    assert "<at>Anna</at> answered it" in edit.text
    assert teams.connector.refused == []


async def _connector_call(
    world: TeamsWorld, method: str, path: str, body: dict[str, Any]
) -> tuple[int, Any]:
    token = await world.app_token()
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method,
            f"{world.connector.service_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        return response.status, await response.json(content_type=None)


async def test_the_fake_connector_refuses_what_the_real_one_does(teams: TeamsWorld) -> None:
    chain = f"{SUPPORT};messageid=1795442400000"
    base = f"v3/conversations/{chain}/activities"
    bare = {"type": "mention", "text": "<at>Anna</at>"}
    status, body = await _connector_call(
        teams, "POST", base, {"type": "message", "text": "<at>Anna</at> hi", "entities": [bare]}
    )
    assert status == 400 and body["error"]["code"] == "BadArgument"
    assert "Invalid mention entity" in body["error"]["message"]
    elsewhere = dict(bare, mentioned={"id": ANNA.teams_id, "name": "Anna"})
    status, body = await _connector_call(
        teams, "POST", base, {"type": "message", "text": "hi", "entities": [elsewhere]}
    )
    assert status == 400 and "does not contain" in body["error"]["message"]
    status, body = await _connector_call(teams, "POST", base, {"type": "message"})
    assert status == 400 and "text or attachments" in body["error"]["message"]
    status, body = await _connector_call(teams, "POST", base, {"type": "message", "text": "ok"})
    assert status == 201
    message_id = body["id"]
    wrong = f"v3/conversations/{SUPPORT};messageid={message_id}/activities/{message_id}"
    status, body = await _connector_call(teams, "PUT", wrong, {"type": "message", "text": "x"})
    assert status == 400 and "reply chain" in body["error"]["message"]
    right = f"{base}/{message_id}"
    status, body = await _connector_call(teams, "PUT", right, {"type": "message", "text": "x"})
    assert status == 200
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{teams.connector.service_url}{base}", json={"type": "message"}) as response,
    ):
        assert response.status == 401  # no token, no entry


async def test_a_connector_outage_is_retried_and_delivered_once(teams: TeamsWorld) -> None:
    await teams.command("support watch requests target=5m")
    await teams.command(f"support responders {mention(ANNA)}", mentions=(ANNA,))
    request = await teams.post(OPS, "Labels print blank")
    await teams.advance(minutes=3)  # the nudge to Anna
    teams.connector.fail_next(502, times=2)
    await teams.advance(minutes=2)  # the breach card meets a 502, then another
    assert [c for c in teams.sent("send") if c.thread == request] == []
    await teams.advance(seconds=10)  # the first retry meets the second 502
    await teams.advance(seconds=10)  # the next one gets through
    breaches = [c for c in teams.sent("send") if c.thread == request]
    assert len(breaches) == 1 and "no first response" in breaches[0].text
    await teams.advance(minutes=5)
    assert len([c for c in teams.sent("send") if c.thread == request]) == 1
    assert teams.connector.token_requests == 1
