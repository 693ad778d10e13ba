"""Side effects under a crash between Slack's answer and the commit: each happens once.

The "dead replica" (``die_mid_send``) claims what is ready and carries it out exactly as
the deliverer does, then never records the outcome. After the lease the live deliverer
takes the rows over: a channel is looked up by name (never a second ``inc-…-2``), a pin
is already there, posts are found by their marker. Also: a second incident with the same
title on the same day gets the name Slack gave it, announced and in its export's file name.
"""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import InboxEntry, Request
from tests.e2e.test_outbox_crash import die_mid_send
from tests.harness import ANNA, BEN, LEAD, SUPPORT, SlackWorld


async def declare_crashing_each_step(world: SlackWorld, title: str) -> None:
    await world.incident(f"declare {title} sev2", user=LEAD, channel=SUPPORT)
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
