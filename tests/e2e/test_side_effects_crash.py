"""Side effects under a crash between Slack's answer and the commit: each happens once.

The "dead replica" (``die_mid_send``) claims what is ready and carries it out exactly as
the deliverer does, then never records the outcome. After the lease the live deliverer
takes the rows over: a channel is looked up by name (never a second ``inc-…-2``), a pin
is already there, posts are found by their marker, a file by its name and title, a Jira
ticket by its label; an ephemeral is not repeated. Also: a second incident with the same
title on the same day gets the name Slack gave it, announced and in its export's file name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.content import Content
from storage import outbox
from storage.models import InboxEntry, Request
from tests.e2e.test_outbox_crash import die_mid_send
from tests.e2e.test_tickets import jira_world, on_loopback, thread
from tests.harness import ANNA, BEN, LEAD, OPS, SUPPORT, TEAM, SlackWorld


async def declare_crashing_each_step(world: SlackWorld, title: str) -> None:
    await world.incident(f"declare {title} sev2", user=LEAD, channel=SUPPORT)
    await crash_each_step(world)


async def crash_each_step(world: SlackWorld) -> None:
    """A replica dies after each side effect, before recording it; another takes over."""
    lease = world.runner._deliverer.lease.total_seconds()
    for _ in range(6):  # channel, then invite/ticket post/topic, then the pin …
        if not await die_mid_send(world):
            break
        await world.advance(seconds=lease + 1)
    await world.settle()


async def test_a_crash_after_each_incident_side_effect_leaves_exactly_one_of_each(
    world: SlackWorld,
) -> None:
    await world.command("watch requests target=5m")
    await world.command(f"responders <@{ANNA}> <@{BEN}>")
    await declare_crashing_each_step(world, "Checkout fails for EU")
    [created] = world.sent("conversations.create")  # one channel, no inc-…-2
    channel = str(created.response["channel"]["id"])
    assert world.sent("conversations.list")  # looked up after the crash, not made again
    assert len(world.sent("pins.add")) == 1
    tickets = [
        c for c in world.sent("chat.postMessage") if "Production support ticket" in c.args["text"]
    ]
    assert len(tickets) == 1 and tickets[0].args["channel"] == channel
    announced = [c for c in world.sent("chat.postMessage") if c.args["channel"] == SUPPORT]
    assert len(announced) == 1 and f"<#{channel}>" in announced[0].args["text"]


async def test_a_file_whose_answer_was_lost_is_shared_once(world: SlackWorld) -> None:
    async with world.core.db.transaction() as session:
        outbox.enqueue(
            session,
            workspace_id=TEAM,
            destination=SUPPORT,
            op="upload",
            payload={"filename": "postmortem-inc-x.md", "content": "# Postmortem", "title": "PM"},
            at=world.clock.now(),
        )
    assert await die_mid_send(world) == 1  # shared, then the sender died
    await world.advance(seconds=world.runner._deliverer.lease.total_seconds() + 1)
    assert len(world.sent("files.completeUploadExternal")) == 1
    async with world.core.db.reading() as session:
        assert await outbox.backlog(session) == 0


async def test_a_second_incident_with_the_same_title_gets_its_own_name(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    for _ in range(2):
        await world.incident("declare Checkout fails for EU sev2", user=LEAD, channel=SUPPORT)
        await world.settle()
    first, second = world.sent("conversations.create")
    assert first.args["name"] == "inc-20261123-checkout-fails-for-eu"
    assert second.args["name"] == "inc-20261123-checkout-fails-for-eu-2"
    second_id = str(second.response["channel"]["id"])
    announced = [c for c in world.sent("chat.postMessage") if c.args["channel"] == SUPPORT]
    assert f"<#{second_id}>" in announced[-1].args["text"]
    await world.incident("resolve Rolled back", user=LEAD, channel=second_id)
    await world.settle()
    uploads = [c for c in world.sent("files.getUploadURLExternal")]
    assert [c.args["filename"] for c in uploads] == [
        "postmortem-inc-20261123-checkout-fails-for-eu-2.md"
    ]


async def test_an_event_retried_across_the_inbox_key_upgrade_is_processed_once(
    world: SlackWorld,
) -> None:
    await world.command("watch requests target=5m")
    # The old version processed Ev0UPGRADE and stored its key without the workspace.
    async with world.core.db.transaction() as session:
        session.add(InboxEntry(key="slack:Ev0UPGRADE", received_at=world.clock.now()))
    await world.post("UREQ1", "Retried across the upgrade", event_id="Ev0UPGRADE")
    await world.post("UREQ2", "A new event", event_id="Ev0NEW")
    async with world.core.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 1


@dataclass
class LosingJira:
    """A fake Jira that creates the issue, then drops the connection before answering
    (the first ``lost_before_creating`` requests are dropped before anything is created)."""

    issues: list[dict[str, Any]] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    url: str = ""
    lost_before_creating: int = 0

    async def create(self, request: web.Request) -> web.StreamResponse:
        fields = (await request.json())["fields"]
        assert request.transport is not None
        if any(" " in label or len(label) > 255 for label in fields["labels"]):
            return web.json_response({"errors": {"labels": "invalid label"}}, status=400)
        if self.lost_before_creating:
            self.lost_before_creating -= 1
            request.transport.close()
            return web.Response()
        self.issues.append({"key": f"SUP-{len(self.issues) + 1}", "labels": fields["labels"]})
        request.transport.close()  # the answer is lost: did it work?
        return web.Response()

    async def search(self, request: web.Request) -> web.Response:
        jql = request.query["jql"]
        self.searches.append(jql)
        found = [i for i in self.issues if f'"{i["labels"][0]}"' in jql]
        return web.json_response({"issues": [{"key": i["key"]} for i in found]})


@pytest.fixture
async def losing_jira() -> AsyncIterator[LosingJira]:
    jira = LosingJira()
    app = web.Application()
    app.router.add_post("/rest/api/2/issue", jira.create)
    app.router.add_get("/rest/api/2/search", jira.search)
    async with on_loopback(app) as jira.url:
        yield jira


async def test_a_jira_ticket_whose_answer_was_lost_is_found_not_made_twice(
    database_url: str, clock: FakeClock, losing_jira: LosingJira
) -> None:
    async with await jira_world(database_url, clock, losing_jira) as world:  # type: ignore[arg-type]  # only .url is used
        await world.command("watch requests target=5m")
        request = await world.post(ANNA, "Orders from Hamburg are not synced")
        await world.react(OPS, "ticket", request)
        await world.settle()
        assert len(losing_jira.issues) == 1 and losing_jira.searches == []
        for _ in range(5):
            await world.advance(seconds=10)
        assert len(losing_jira.issues) == 1  # searched by its label, found, recorded
        assert len(losing_jira.searches) == 1
        assert "SUP-1" in thread(world, request)[-1]


async def test_an_earlier_install_s_issue_with_the_same_row_id_does_not_stop_the_ticket(
    database_url: str, clock: FakeClock, losing_jira: LosingJira
) -> None:
    # Jira holds an earlier install's issues, labelled for outbox rows 1, 2, … as this
    # (empty) database's rows will be numbered.
    losing_jira.issues = [
        {"key": f"SUP-{n}", "labels": [f"firstline-outbox-{n}"]} for n in range(1, 41)
    ]
    losing_jira.lost_before_creating = 1  # the first attempt's fate is unknown: look first
    async with await jira_world(database_url, clock, losing_jira) as world:  # type: ignore[arg-type]  # only .url is used
        await world.command("watch requests target=5m")
        request = await world.post(ANNA, "Orders from Hamburg are not synced")
        await world.react(OPS, "ticket", request)
        await world.settle()
        for _ in range(8):
            await world.advance(seconds=10)
        [ours] = losing_jira.issues[40:]  # created after the search found nothing of ours
        assert "SUP-41" in thread(world, request)[-1]
        assert len(losing_jira.searches) == 2  # before creating, and after its lost answer
        [label] = ours["labels"]
        assert label.startswith("firstline-outbox-") and " " not in label


async def test_an_ephemeral_whose_answer_was_lost_is_not_repeated(world: SlackWorld) -> None:
    await world.core.tell(workspace_id=TEAM, channel=SUPPORT, user=ANNA, content=Content("Hi"))
    assert await die_mid_send(world) == 1
    await world.advance(seconds=world.runner._deliverer.lease.total_seconds() + 1)
    assert len(world.sent("chat.postEphemeral")) == 1
    async with world.core.db.reading() as session:
        assert await outbox.backlog(session) == 0
