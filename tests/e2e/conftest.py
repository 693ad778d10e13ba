"""End-to-end fixtures: ``tenants`` is one server serving many workspaces (OAuth mode)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FakeClock
from tests.e2e.installs import CLIENT_ID, CLIENT_SECRET, TA, TB
from tests.harness import SlackWorld


@pytest.fixture
async def tenants(database_url: str, clock: FakeClock) -> AsyncIterator[SlackWorld]:
    world = SlackWorld(
        database_url=database_url,
        clock=clock,
        bot_token=None,
        env={"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET},
    )
    world.slack.set_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    world.slack.add_workspace(TA, name="Alpha & Co <script>", url="https://alpha.slack.com/")
    world.slack.add_workspace(TB, name="Bravo", url="https://bravo.slack.com/")
    async with world:
        yield world
