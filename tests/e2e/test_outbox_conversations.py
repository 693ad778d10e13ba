"""The outbox keeps order per conversation, not per channel, at Slack's pace.

- A send held by a dead replica holds up its own thread only: other threads in the same
  channel go out at once; the held one is looked up after its lease and not duplicated,
  and the edit of it follows.
- Posts go to one channel at most once per ``pace``; other channels are not held back.
- A 429's Retry-After holds that channel (every conversation in it), not the others.
"""

from __future__ import annotations

from datetime import timedelta

from bot.content import Content
from storage import outbox
from tests.e2e.test_desk_flow import dms, thread_posts, watch_support
from tests.e2e.test_outbox_crash import die_mid_send
from tests.harness import ALERTS, ANNA, BEN, SUPPORT, TEAM, SlackWorld


async def breaches_due(world: SlackWorld, count: int) -> list[str]:
    """``count`` requests in SUPPORT, their nudges sent, their thread messages now due."""
    await watch_support(world)
    requests = [await world.post(f"UREQ{i}", f"Request number {i}") for i in range(count)]
    await world.advance(minutes=3)  # the nudge DMs go out
    world.clock.advance(minutes=2)
    assert await world.core.timers.fire_due() >= 1
    return requests


async def test_a_send_held_by_a_dead_replica_holds_up_only_its_own_thread(
    world: SlackWorld,
) -> None:
    first, second, third = await breaches_due(world, 3)
    # The dead replica claims one row per destination: the first thread's message.
    assert await die_mid_send(world) == 1
    assert len(thread_posts(world, first)) == 1  # Slack has it; the replica never recorded it
    await world.settle()  # the other threads in the same channel go out at once
    assert len(thread_posts(world, second)) == 1 and len(thread_posts(world, third)) == 1
    # The first request is answered: its edit waits for the held message, not for the channel.
    await world.post(ANNA, "On it", thread_ts=first)
    await world.settle()
    assert world.sent("chat.update") == []
    await world.advance(seconds=world.runner._deliverer.lease.total_seconds() + 1)
    assert len(thread_posts(world, first)) == 1  # looked up by its marker, not sent again
    assert len(world.sent("conversations.replies")) == 1
    [edit] = world.sent("chat.update")
    assert edit.args["ts"] == next(
        c.response["ts"] for c in world.sent("chat.postMessage") if c.args.get("thread_ts") == first
    )
    async with world.core.db.reading() as session:
        assert await outbox.backlog(session) == 0


async def test_posts_to_one_channel_go_at_the_pace_and_other_channels_are_not_held(
    world: SlackWorld,
) -> None:
    deliverer = world.runner._deliverer
    deliverer.pace = timedelta(seconds=1)
    await watch_support(world)
    requests = [await world.post(f"UREQ{i}", f"Request number {i}") for i in range(3)]
    world.clock.advance(minutes=3)
    assert await world.core.timers.fire_due() >= 1  # 3 nudges to Anna and 3 to Ben
    assert await deliverer.deliver_once() == 2  # one DM to each of the two people
    assert await deliverer.deliver_once() == 0  # both held for a second
    assert await deliverer.next_attempt() == world.clock.now() + timedelta(seconds=1)
    for sent in (4, 6):
        world.clock.advance(seconds=1)
        assert await deliverer.deliver_once() == 2
        assert len(dms(world, ANNA)) + len(dms(world, BEN)) == sent
    world.clock.advance(minutes=2)
    assert await world.core.timers.fire_due() >= 1  # 3 thread messages in SUPPORT
    posted = []
    for _ in range(3):
        assert await deliverer.deliver_once() == 1
        assert await deliverer.deliver_once() == 0
        posted.append(len(world.sent("chat.postMessage")))
        world.clock.advance(seconds=1)
    assert posted == [7, 8, 9]
    assert all(len(thread_posts(world, ts)) == 1 for ts in requests)


async def test_retry_after_holds_that_channel_and_only_that_channel(world: SlackWorld) -> None:
    requests = await breaches_due(world, 3)
    world.slack.fail_next(1, status=429, retry_after=30, method="chat.postMessage")
    await world.settle()
    refused = [c for c in world.slack.calls if c.status == 429]
    assert len(refused) == 1 and refused[0].args["channel"] == SUPPORT
    assert all(thread_posts(world, ts) == [] for ts in requests[1:])  # the channel waits
    async with world.core.db.reading() as session:
        ready = await outbox.next_attempt(session)
    assert ready == world.clock.now() + timedelta(seconds=30)
    # Another channel is not held by SUPPORT's limit.
    await world.core.tell(workspace_id=TEAM, channel=ALERTS, user=ANNA, content=Content("Hi"))
    await world.settle()
    assert [c.args["channel"] for c in world.sent("chat.postEphemeral")] == [ALERTS]
    await world.advance(seconds=29)
    assert all(thread_posts(world, ts) == [] for ts in requests)
    await world.advance(seconds=2)
    assert all(len(thread_posts(world, ts)) == 1 for ts in requests)
