"""Hostile input at the real endpoint: forged, replayed, malformed and oversized requests
get a clear refusal (4xx, or an ephemeral message), change nothing and never a 500.

Complements test_endpoint.py (bad signature, stale timestamp, 413 on events, malformed
bodies) and test_desk_flow.py (bot_message without text, message_changed).
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import func, select

from bot.incidents import messaging as incident_say
from bot.messages import ON_IT
from bot.rota import service as rota
from storage.models import InboxEntry, Request, RotaTeam
from tests.harness import ANNA, OPS, SECRET, SUPPORT, SlackWorld


async def count(world: SlackWorld, model: type) -> int:
    async with world.core.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def signed(body: str, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}


async def post_raw(world: SlackWorld, body: str | bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{world.base_url}/slack/events", data=body, headers=headers) as reply,
    ):
        return reply.status


async def test_signature_and_replay_window(world: SlackWorld) -> None:
    await world.command("watch requests")
    assert world.sender is not None
    ts = world.next_ts()
    event = {
        "type": "message",
        "channel": SUPPORT,
        "user": OPS,
        "text": "hi, exports stuck",
        "ts": ts,
    }
    body = json.dumps(world.sender.envelope(event, event_id="EvHOSTILE1"))
    json_type = {"Content-Type": "application/json"}
    good = signed(body)
    now = int(time.time())
    refused = {
        "no headers": {},
        "no signature": {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
        "no timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "timestamp not a number": {**good, "X-Slack-Request-Timestamp": "soon"},
        "from the future": signed(body, timestamp=now + 600),
        "older than five minutes": signed(body, timestamp=now - 301),
        "another body's signature": signed(body.replace("hi", "hj")),
        "another version": {**good, "X-Slack-Signature": "v1=" + good["X-Slack-Signature"][3:]},
        "uppercase hex": {**good, "X-Slack-Signature": good["X-Slack-Signature"].upper()},
    }
    for why, headers in refused.items():
        assert await post_raw(world, body, {**json_type, **headers}) == 401, why
    assert await count(world, Request) == 0 and await count(world, InboxEntry) == 0
    # Inside the window a captured request can be replayed as is: it is processed once.
    assert await post_raw(world, body, {**json_type, **good}) == 200
    assert await post_raw(world, body, {**json_type, **good}) == 200
    assert await count(world, Request) == 1 and await count(world, InboxEntry) == 1


async def test_oversized_command_and_button_bodies_get_413(world: SlackWorld) -> None:
    form = "command=%2Fsupport&text=" + "x" * (2 * 1024 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed(form)}
    assert await post_raw(world, form, headers) == 413
    payload = "payload=" + quote(json.dumps({"type": "block_actions", "pad": "y" * 2**21}))
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed(payload)}
    assert await post_raw(world, payload, headers) == 413


FORGED_VALUES = ["", "abc", "²", "١٢", "-1", "1.5", "9" * 40, "1:2:3", "x:y", "0:0", " 1"]


@pytest.mark.parametrize(
    "action_id",
    [
        rota.ACCEPT,
        rota.ANOTHER,
        rota.HANDOFF_DONE,
        rota.SWAP,
        incident_say.CONFIRM_HANDOFF,
        incident_say.DECLINE_HANDOFF,
        incident_say.SNOOZE,
        ON_IT,
    ],
)
async def test_forged_button_values_from_a_non_admin_change_nothing(
    world: SlackWorld, action_id: str
) -> None:
    await world.command("watch requests target=5m")
    request = await world.post(OPS, "Printer on fire")
    assert world.sender is not None
    for value in FORGED_VALUES:
        reply = await world.sender.action(
            action_id=action_id, value=value, user=ANNA, channel=SUPPORT, message_ts=request
        )
        assert reply.status == 200, (action_id, value, reply)
    await world.settle()
    async with world.core.db.reading() as session:
        row = await session.scalar(select(Request))
    assert row is not None and row.first_response_at is None
    answers = [c.args["text"] for c in world.sent("chat.postEphemeral")]
    if action_id != ON_IT:  # "I'm on it" with no request attached is ignored quietly
        assert len(answers) == len(FORGED_VALUES)
        assert all(answer.strip() for answer in answers)
    assert "Something went wrong" not in " ".join(answers)


async def test_unknown_actions_and_views_are_refused_not_crashed(world: SlackWorld) -> None:
    assert world.sender is not None
    reply = await world.sender.action(
        action_id="support_watch", value="C0SUPPORT", user=ANNA, channel=SUPPORT, message_ts="1.1"
    )
    assert reply.status == 404  # Bolt: nothing listens for it
    reply = await world.sender.view_submission(
        callback_id=rota.CHOOSE,
        user=ANNA,
        private_metadata="²:C0SUPPORT",
        values={"first": {"user": {"selected_user": ANNA}}},
    )
    assert reply.status == 200 and "Choose two people" in reply.body


async def test_thread_broadcast_counts_as_a_reply(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    request = await world.post(OPS, "VPN down")
    await world.post(ANNA, "looking", thread_ts=request, subtype="thread_broadcast")
    async with world.core.db.reading() as session:
        row = await session.scalar(select(Request))
    assert row is not None and row.first_responder == ANNA
    assert await count(world, Request) == 1  # the broadcast is not a new request


MALFORMED_TEAMS = ["abc", "²", "١", "9" * 40, "-1", "1.0", "0x1", "%00"]
MALFORMED_TOKENS = ["", "é", "\u0000", "💥", "a" * 5000, "' OR 1=1 --"]


async def test_malformed_rota_api_and_calendar_requests_get_401(world: SlackWorld) -> None:
    await world.command("config tz=UTC", name="/rota")
    async with world.core.db.reading() as session:
        team = await session.scalar(select(RotaTeam))
    assert team is not None
    async with aiohttp.ClientSession() as http:
        for ident in [*MALFORMED_TEAMS, str(team.id)]:
            for token in MALFORMED_TOKENS:
                api = f"{world.base_url}/api/rota/{ident}/current?token={quote(token)}"
                async with http.get(api) as reply:
                    assert reply.status in (401, 404), (ident, token, reply.status)
                ics = f"{world.base_url}/rota/{ident}.ics?token={quote(token)}"
                async with http.get(ics) as reply:
                    assert reply.status in (401, 404), (ident, token, reply.status)
        api = f"{world.base_url}/api/rota/{team.id}/current"
        for header in ("Bearer", "Bearer ", "Basic abc", "bearer " + team.api_token):
            async with http.get(api, headers={"Authorization": header}) as reply:
                assert reply.status == 401, header
                assert "token" in (await reply.json())["error"]
        async with http.get(api, headers={"Authorization": f"Bearer {team.api_token}"}) as reply:
            assert reply.status == 200
