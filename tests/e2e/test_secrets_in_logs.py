"""No secret appears in the logs: a whole scenario runs with DEBUG logging everywhere
(slack_sdk, slack_bolt, aiohttp, Firstline) and the captured output is searched."""

from __future__ import annotations

import logging
import time

import pytest

from bot.redaction import REDACTED, redact
from tests.e2e.installs import CLIENT_SECRET, TA, TB, install
from tests.harness import ADMIN, OPS, SECRET, SlackWorld


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(message)s")
    return caplog.text + "\n".join(formatter.format(r) for r in caplog.records)


async def test_oauth_install_events_and_deliveries_log_no_secret(
    tenants: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world = tenants
    caplog.set_level(logging.DEBUG)
    assert (await install(world, TA)).status == 200
    assert (await install(world, TB)).status == 200
    async with world.sender_for(TA) as alpha:
        await alpha.command(
            command="/support", text="watch requests target=5m", user=ADMIN, channel="C0A"
        )
        ts = world.next_ts()
        event = {"type": "message", "channel": "C0A", "user": OPS, "text": "help", "ts": ts}
        assert (await alpha.event(event)).status == 200
        assert (await alpha.event(event, timestamp=int(time.time()) - 3600)).status == 401
    await world.advance(minutes=6)  # the breach is delivered with TA's token
    world.slack.fail_next(1, status=500, method="chat.postMessage")
    async with world.sender_for(TA) as alpha:
        await alpha.command(command="/support", text="launch", user=OPS, channel="C0A")
    await world.settle()

    text = everything_logged(caplog)
    tokens = world.slack.token_for(TA) + world.slack.token_for(TB)
    assert len(tokens) == 2
    # The scenario really logged the OAuth exchange and the API calls at DEBUG…
    assert "oauth.v2.access" in text and "chat.postMessage" in text
    # …and none of the secrets (slack_sdk logs the token in oauth.v2.access's answer).
    for secret in (*tokens, CLIENT_SECRET, SECRET):
        assert secret not in text, secret
    assert REDACTED in text


async def test_single_workspace_mode_logs_no_token(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await world.restart()  # start-up logs included
    await world.command("watch requests target=5m")
    await world.post(OPS, "help")
    await world.advance(minutes=6)
    text = everything_logged(caplog)
    assert "chat.postMessage" in text
    assert "xoxb-test-token" not in text and SECRET not in text


def test_redact_replaces_token_shapes_it_was_never_told_about() -> None:
    line = "token=xoxb-1234-5678-abcdef and xapp-1-A0-123-abc and xoxe.xoxp-1-abcdefgh"
    assert "xox" not in redact(line).replace("xoxe.", "") and redact(line).count(REDACTED) == 3
