"""A replica that dies mid-send: the message it sent is recorded, not sent again.

The "dead replica" here claims the outbox heads and sends them exactly as the deliverer
does, then never records the result (as if SIGKILLed between Slack's answer and the
commit). After the lease runs out, the live deliverer takes the rows over, finds each
message by its marker and records it instead of posting a second copy.
"""

from __future__ import annotations

from collections import Counter

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from handlers.slack.chat import MARKER_EVENT
from schedules.deliverer import _marker, _Snapshot
from storage import outbox
from storage.models import OutboxMessage
from tests.e2e.test_desk_flow import dms, thread_posts, watch_support
from tests.harness import ANNA, BEN, LEAD, OPS, SUPPORT, SlackWorld


async def die_mid_send(world: SlackWorld) -> int:
    """Claim and send every ready head, record nothing; returns how many were sent."""
    deliverer = world.runner._deliverer
    async with world.core.db.transaction() as session:
        rows = await outbox.claim_heads(
            session, now=world.clock.now(), lease=deliverer.lease, limit=50
        )
        jobs = [(_Snapshot.of(row), await deliverer._resolve(session, row)) for row in rows]
    for snapshot, target in jobs:
        await deliverer._send(snapshot, target)
    return len(jobs)


async def test_messages_sent_by_a_dead_replica_are_recorded_not_resent(
    world: SlackWorld,
) -> None:
    await watch_support(world)
    request = await world.post(OPS, "The export button does nothing")
    world.clock.advance(minutes=3)
    assert await world.core.timers.fire_due() >= 1  # the nudge (and the Home refresh)
    assert await die_mid_send(world) == 2
    assert len(dms(world, ANNA)) == 1 and len(dms(world, BEN)) == 1

    await world.advance(seconds=30)  # still leased to the dead replica: nothing happens
    assert len(world.sent("chat.postMessage")) == 2
    await world.advance(seconds=31)  # lease over: taken over, found by marker, recorded
    assert len(dms(world, ANNA)) == 1 and len(dms(world, BEN)) == 1
    assert len(world.sent("conversations.history")) == 2

    world.clock.advance(minutes=2)  # the breach: the thread message, sent by the dead one
    assert await world.core.timers.fire_due() >= 1
    assert await die_mid_send(world) == 1
    await world.advance(seconds=61)
    [breach] = [c for c in world.sent("chat.postMessage") if c.args.get("thread_ts") == request]
    assert len(world.sent("conversations.replies")) == 1

    world.clock.advance(minutes=5)  # the second line: the edit and the DM, by a dead one again
    assert await world.core.timers.fire_due() >= 1
    assert await die_mid_send(world) == 2
    await world.advance(seconds=61)
    [edit] = world.sent("chat.update")
    assert edit.args["ts"] == breach.response["ts"]
    assert "twice the target" in world.slack.messages(SUPPORT)[-1]["text"]
    assert len(dms(world, LEAD)) == 1 and len(thread_posts(world, request)) == 1
    assert len(world.sent("conversations.replies")) == 2
    async with world.core.db.reading() as session:
        assert await outbox.backlog(session) == 0
    posted = Counter(
        (c.args["channel"], c.args.get("thread_ts")) for c in world.sent("chat.postMessage")
    )
    assert set(posted.values()) == {1} and len(posted) == 4


async def test_a_message_that_never_arrived_is_sent_after_the_lease(world: SlackWorld) -> None:
    await watch_support(world)
    await world.post(OPS, "Search is slow")
    world.clock.advance(minutes=3)
    assert await world.core.timers.fire_due() >= 1
    deliverer = world.runner._deliverer
    async with world.core.db.transaction() as session:  # claimed, then died before sending
        assert (
            len(
                await outbox.claim_heads(
                    session, now=world.clock.now(), lease=deliverer.lease, limit=50
                )
            )
            == 2
        )
    await world.advance(seconds=deliverer.lease.total_seconds() - 1)
    assert dms(world, ANNA) == []
    await world.advance(seconds=2)
    assert len(dms(world, ANNA)) == 1 and len(dms(world, BEN)) == 1
    assert len(world.sent("conversations.history")) == 2


async def test_an_answer_lost_after_slack_posted_is_not_posted_again(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Invoices show the wrong VAT")
    world.slack.fail_next(1, status=504, method="chat.postMessage", carried_out=True)
    await world.advance(minutes=3)  # the first nudge DM is posted, but Slack answers 504
    for _ in range(5):
        await world.advance(seconds=10)
    # What people see: one DM each (the first was posted although its answer was a 504).
    assert len(world.slack.messages(ANNA)) == 1 and len(world.slack.messages(BEN)) == 1
    assert [c.status for c in world.slack.calls if c.method == "chat.postMessage"] == [504, 200]
    assert len(world.sent("conversations.history")) == 1  # looked, found, recorded
    world.slack.fail_next(1, status=503, method="chat.postMessage")  # not carried out
    await world.advance(minutes=2)
    for _ in range(5):
        await world.advance(seconds=10)
    assert len(thread_posts(world, request)) == 1


async def test_an_earlier_install_s_marked_messages_are_not_taken_for_this_one_s(
    world: SlackWorld,
) -> None:
    # The channel holds messages of an earlier install (say on SQLite, before a move to an
    # empty PostgreSQL): marked outbox:1, outbox:2, … as this database's rows will be.
    earlier = AsyncWebClient(token=world.bot_token, base_url=world.slack.base_url)
    for row_id in range(1, 41):
        await earlier.chat_postMessage(
            channel=SUPPORT,
            text=f"an earlier install's message {row_id}",
            metadata={"event_type": MARKER_EVENT, "event_payload": {"id": f"outbox:{row_id}"}},
        )
    await watch_support(world)
    world.slack.fail_next(1, status=503, method="chat.postMessage")  # not carried out
    assert "Posting the report" in await world.command("report", user=BEN)
    for _ in range(5):  # the retry looks for the report by its marker first
        await world.advance(seconds=10)
    assert len(world.sent("conversations.history")) == 1
    [report] = [c for c in world.sent("chat.postMessage") if "Weekly report" in c.args["text"]]
    assert report.args["channel"] == SUPPORT
    async with world.core.db.reading() as session:
        recorded = (
            await session.scalars(
                select(OutboxMessage.platform_ts).where(
                    OutboxMessage.op == "post", OutboxMessage.destination == SUPPORT
                )
            )
        ).all()
    assert recorded == [report.response["ts"]]  # the ts of the report, not of an old message


async def report_left_uncertain(world: SlackWorld) -> OutboxMessage:
    """The weekly report's row after a 503 (not carried out): the retry will look first."""
    await watch_support(world)
    world.slack.fail_next(1, status=503, method="chat.postMessage")
    assert "Posting the report" in await world.command("report", user=BEN)
    async with world.core.db.reading() as session:
        [row] = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.op == "post", OutboxMessage.destination == SUPPORT
            )
        )
    return row


async def assert_report_posted_and_recorded(world: SlackWorld, row: OutboxMessage) -> None:
    for _ in range(5):  # the retry looks for the report by its marker first
        await world.advance(seconds=10)
    assert len(world.sent("conversations.history")) == 1
    [report] = [c for c in world.sent("chat.postMessage") if "Weekly report" in c.args["text"]]
    async with world.core.db.reading() as session:
        recorded = await session.get(OutboxMessage, row.id)
        assert recorded is not None and recorded.platform_ts == report.response["ts"]


async def test_a_marker_in_another_app_s_message_is_not_taken_for_ours(
    world: SlackWorld,
) -> None:
    row = await report_left_uncertain(world)
    # Another app in the channel carries this very marker (by chance, or copying ours).
    world.slack.add_message(
        SUPPORT,
        user="UOTHERAPP",
        bot_id="BOTHERAPP",
        text="a message of another app",
        metadata={"event_type": MARKER_EVENT, "event_payload": {"id": _marker(_Snapshot.of(row))}},
    )
    await assert_report_posted_and_recorded(world, row)


async def test_a_marked_message_older_than_the_row_is_not_taken_for_it(
    world: SlackWorld,
) -> None:
    row = await report_left_uncertain(world)
    # This bot's message with the same marker, from an hour before the row was written
    # (an earlier install whose row had the same id and time, a restored backup).
    world.slack.add_message(
        SUPPORT,
        user=world.slack.bot_user_id,
        bot_id=world.slack.bot_id,
        text="an earlier message",
        metadata={"event_type": MARKER_EVENT, "event_payload": {"id": _marker(_Snapshot.of(row))}},
        ts=f"{row.created_at.timestamp() - 3600:.6f}",
    )
    await assert_report_posted_and_recorded(world, row)
