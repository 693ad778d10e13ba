"""Socket Mode (SLACK_APP_TOKEN): the same desk over the emulator's WebSocket, no public URL.

Slack delivers envelopes over a WebSocket and expects an ack with the envelope id; as with
HTTP, Firstline acks only after the event is stored, and a redelivered event does nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.stats import compute_stats
from tests.harness import ADMIN, ANNA, OPS, SUPPORT, SlackWorld

APP_TOKEN = "xapp-1-A0FIRSTLINE-1-test"


@pytest.fixture
async def socket_world(database_url: str, clock: FakeClock) -> AsyncIterator[SlackWorld]:
    env = {"SLACK_APP_TOKEN": APP_TOKEN}
    async with SlackWorld(database_url=database_url, clock=clock, env=env) as world:
        await world.slack.socket_connected()
        yield world


def command(text: str, *, user: str) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": "T0DEMO",
        "team_domain": "demo",
        "channel_id": SUPPORT,
        "channel_name": "support",
        "user_id": user,
        "user_name": "someone",
        "command": "/support",
        "text": text,
        "api_app_id": "AFIRSTLINE",
        "response_url": "https://hooks.slack.invalid/commands/T/1/x",
        "trigger_id": "1.trigger",
    }


def message(world: SlackWorld, *, user: str, text: str, thread_ts: str | None = None) -> Any:
    event = world.message(user, text, thread_ts=thread_ts)
    assert world.sender is not None
    return event["ts"], world.sender.envelope(event)


async def test_commands_events_retries_and_escalation_over_socket_mode(
    socket_world: SlackWorld,
) -> None:
    world, slack = socket_world, socket_world.slack
    assert [c.token for c in slack.calls if c.method == "apps.connections.open"] == [APP_TOKEN]

    refused = await slack.socket_send(command("watch requests", user=OPS), kind="slash_commands")
    assert refused["payload"]["response_type"] == "ephemeral"
    assert "admin" in refused["payload"]["text"].lower()

    watched = await slack.socket_send(
        command("watch requests target=5m", user=ADMIN), kind="slash_commands"
    )
    assert "Watching" in watched["payload"]["text"]
    await slack.socket_send(
        command(f"responders <@{ANNA}|anna>", user=ADMIN), kind="slash_commands"
    )

    ts, envelope = message(world, user=OPS, text="Invoices for Lyon are not generated")
    ack = await slack.socket_send(envelope)
    assert ack["envelope_id"].startswith("env-")
    again = await slack.socket_send(envelope, retry_attempt=1)  # Slack redelivers
    assert again["envelope_id"] != ack["envelope_id"]

    await world.advance(minutes=3)  # 60% of the target: the responder gets a DM
    nudges = [c for c in world.sent("chat.postMessage") if c.args["channel"] == ANNA]
    assert len(nudges) == 1
    await world.advance(minutes=2)  # the target: one thread message
    thread = [c for c in world.sent("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert len(thread) == 1

    await world.advance(minutes=1)
    _, reply = message(world, user=ANNA, text="On it", thread_ts=ts)
    await slack.socket_send(reply)
    await world.settle()
    report = await compute_stats(world.core.db, now=world.clock.now(), channel_id=SUPPORT)
    figures = report.total.to_dict()
    assert figures["requests"] == 1, "the redelivered event opened nothing"
    assert figures["responded"] == 1 and figures["breached"] == 1
    assert figures["first_response_seconds"]["max"] == pytest.approx(360, abs=1)


async def test_an_app_token_is_not_a_bot_token(socket_world: SlackWorld) -> None:
    """The emulator refuses app-level tokens for bot methods, as Slack does."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=APP_TOKEN, base_url=socket_world.slack.base_url)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=SUPPORT, text="hello")
    assert raised.value.response["error"] == "not_allowed_token_type"
