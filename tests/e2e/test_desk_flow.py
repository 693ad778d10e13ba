"""The core loop end to end: signed events in, Web API calls out, on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.stats import compute_stats
from tests.harness import ADMIN, ALERTS, ANNA, BEN, LEAD, OPS, OPS2, SUPPORT, SlackWorld


async def watch_support(world: SlackWorld, extra: str = "") -> None:
    text = await world.command(f"watch requests target=5m escalate=<@{LEAD}|lead> {extra}")
    assert "Watching" in text, text
    text = await world.command(f"responders <@{ANNA}|anna> <@{BEN}|ben>")
    assert f"<@{ANNA}>" in text


def dms(world: SlackWorld, user: str) -> list[dict]:
    return [c.args for c in world.sent("chat.postMessage") if c.args["channel"] == user]


def thread_posts(world: SlackWorld, ts: str) -> list[dict]:
    return [c.args for c in world.sent("chat.postMessage") if c.args.get("thread_ts") == ts]


async def stats(world: SlackWorld) -> dict:
    report = await compute_stats(world.core.db, now=world.clock.now(), channel_id=SUPPORT)
    return report.total.to_dict()


async def test_request_nudge_breach_reply_edit(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(
        OPS, "Orders for Hamburg are stuck in 'preparing', can someone look?"
    )

    await world.advance(minutes=2, seconds=59)
    assert world.sent("chat.postMessage") == []

    await world.advance(seconds=1)  # 60% of 5 min: DM the responders
    assert len(dms(world, ANNA)) == 1 and len(dms(world, BEN)) == 1
    assert "waited 3 min" in dms(world, ANNA)[0]["text"]
    assert f"archives/{SUPPORT}/p{request.replace('.', '')}" in dms(world, ANNA)[0]["text"]

    await world.advance(minutes=2)  # the target: one message in the request's thread
    [breach] = thread_posts(world, request)
    assert breach["channel"] == SUPPORT
    assert f"<@{ANNA}>" in breach["text"] and f"<@{BEN}>" in breach["text"]

    await world.advance(minutes=1)
    await world.post(BEN, "Looking now: the courier sync is down", thread_ts=request)
    await world.settle()
    [edit] = world.sent("chat.update")
    assert edit.args["ts"] == world.sent("chat.postMessage")[-1].response["ts"]
    assert f"<@{BEN}> answered it after 6 min" in edit.args["text"]

    await world.advance(minutes=10)  # answered: the second line is never called
    assert len(world.sent("chat.update")) == 1
    assert dms(world, LEAD) == []
    figures = await stats(world)
    assert figures["responded"] == 1 and figures["breached"] == 1
    assert figures["first_response_seconds"]["max"] == 360.0


async def test_second_line_edits_the_thread_message_and_pings(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Payment export failed for all merchants")
    await world.advance(minutes=10)
    assert len(thread_posts(world, request)) == 1
    [edit] = world.sent("chat.update")
    assert "twice the target" in edit.args["text"] and f"<@{LEAD}>" in edit.args["text"]
    assert edit.args["channel"] == SUPPORT
    assert edit.args["ts"] == next(
        c.response["ts"] for c in world.sent("chat.postMessage") if c.args.get("thread_ts")
    )
    assert len(dms(world, LEAD)) == 1  # an edit notifies nobody, so the second line is told
    await world.advance(minutes=30)
    assert len(world.sent("chat.update")) == 1 and len(thread_posts(world, request)) == 1


async def test_emoji_ack_then_done_closes(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Can you reset the driver app for Tom?")
    await world.advance(minutes=1)
    await world.react(OPS, "eyes", request)  # the requester's own ack does not count
    await world.react(ANNA, "eyes::skin-tone-2", request)
    await world.advance(minutes=20)
    setup = ("auth.test", "users.info", "conversations.join")  # watching joins the channel
    assert world.sent() == [c for c in world.sent() if c.method in setup]
    await world.react(OPS, "white_check_mark", request)
    figures = await stats(world)
    assert figures["responded"] == 1 and figures["within_target"] == 1
    assert figures["closed"] == 1 and figures["time_to_close_seconds"]["p50"] == 21 * 60


async def test_done_emoji_from_responder_is_first_response(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Please cancel order 881")
    await world.advance(minutes=2)
    await world.react(BEN, "heavy_check_mark", request)
    figures = await stats(world)
    assert figures["responded"] == 1 and figures["closed"] == 1
    assert figures["first_response_seconds"]["p50"] == 120.0


async def test_mention_answers_and_follow_up_opens_nothing(world: SlackWorld) -> None:
    await watch_support(world)
    first = await world.post(OPS, "Tour 17 is missing its stops")
    await world.post(OPS, "(it's the Berlin depot)")  # follow-up: no second request
    await world.post(OPS2, "Also, labels print blank")
    await world.advance(minutes=1)
    await world.post(ANNA, f"<@{OPS}> <@{OPS2}> on it, both of you")  # answers both
    figures = await stats(world)
    assert figures["requests"] == 2 and figures["responded"] == 2
    assert figures["within_target"] == 2
    assert first


async def test_team_mode_only_responders_answer(world: SlackWorld) -> None:
    await watch_support(world, "responders=team")
    request = await world.post(OPS, "Warehouse scanner rejects every parcel")
    await world.post(OPS2, "same here", thread_ts=request)  # not a responder
    await world.post(ANNA, "Not a request: responders chatting")  # opens nothing in team mode
    figures = await stats(world)
    assert figures["requests"] == 1 and figures["responded"] == 0
    await world.post(ANNA, "checking", thread_ts=request)
    assert (await stats(world))["responded"] == 1


async def test_alert_grouping_and_ack(world: SlackWorld) -> None:
    text = await world.command("watch alerts target=10m", channel=ALERTS)
    assert "alerts" in text
    alert = {
        "type": "message",
        "subtype": "bot_message",
        "channel": ALERTS,
        "bot_id": "BBUGSNAG",
        "username": "Bugsnag",
        "text": "",
        "attachments": [
            {
                "fallback": "NoMethodError in OrdersController#show (id 9f2c77ab1e)",
                "title": "NoMethodError in OrdersController#show (id 9f2c77ab1e)",
            }
        ],
    }
    first = world.next_ts()
    assert (await world.event({**alert, "ts": first})).status == 200
    world.clock.advance(minutes=4)
    repeat = world.next_ts()
    repeated = {
        **alert,
        "ts": repeat,
        "attachments": [{"title": "NoMethodError in OrdersController#show (id 77ab90cd3f)"}],
    }
    assert (await world.event(repeated)).status == 200
    status = await world.command("status", channel=ALERTS)
    assert "×2" in status and "NoMethodError" in status
    await world.react(ANNA, "eyes", repeat, channel=ALERTS)  # an ack on the repeat acks the alert
    report = await compute_stats(world.core.db, now=world.clock.now(), channel_id=ALERTS)
    figures = report.total.to_dict()
    assert figures["requests"] == 1 and figures["responded"] == 1
    assert figures["first_response_seconds"]["p50"] == 240.0
    # A different alert is a new clock.
    other = {
        **alert,
        "ts": world.next_ts(),
        "attachments": [{"title": "Timeout in PaymentsWorker"}],
    }
    await world.event(other)
    report = await compute_stats(world.core.db, now=world.clock.now(), channel_id=ALERTS)
    assert report.total.requests == 2


async def test_retried_event_is_answered_and_ignored(world: SlackWorld) -> None:
    await watch_support(world)
    ts = world.next_ts()
    event = {
        "type": "message",
        "channel": SUPPORT,
        "user": OPS,
        "text": "Help with invoice 4",
        "ts": ts,
        "event_ts": ts,
    }
    assert (await world.event(event, event_id="EvRETRY1")).status == 200
    assert (await world.event(event, event_id="EvRETRY1", retry_num=1)).status == 200
    assert (await world.event(event, event_id="EvRETRY1", retry_num=2)).status == 200
    assert (await stats(world))["requests"] == 1
    await world.advance(minutes=3)
    assert len(dms(world, ANNA)) == 1


async def test_restart_with_overdue_timers_fires_each_once_marked_late(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Routing service returns 502")
    await world.restart(down_for=timedelta(minutes=20))
    await world.settle()
    assert len(dms(world, ANNA)) == 1
    assert len(thread_posts(world, request)) == 1
    assert "late" in thread_posts(world, request)[0]["text"]
    assert len(world.sent("chat.update")) == 1 and len(dms(world, LEAD)) == 1
    await world.restart()
    await world.settle()
    assert len(dms(world, ANNA)) == 1 and len(thread_posts(world, request)) == 1


async def test_rate_limit_burst_still_delivers_everything_exactly_once(world: SlackWorld) -> None:
    await watch_support(world)
    requests = [await world.post(f"UREQ{i}", f"Request number {i}") for i in range(5)]
    world.slack.fail_next(12, status=429, retry_after=7)
    await world.advance(minutes=5)  # nudges (10 DMs) and 5 thread messages are due
    for _ in range(20):
        await world.advance(seconds=8)
    for ts in requests:
        assert len(thread_posts(world, ts)) == 1
    assert len(dms(world, ANNA)) == 5 and len(dms(world, BEN)) == 5
    failed = [c for c in world.slack.calls if c.status == 429]
    assert len(failed) == 12
    # Each thread once; independent threads are not held to one another's order.
    order = [c.args["thread_ts"] for c in world.sent("chat.postMessage") if c.args.get("thread_ts")]
    assert sorted(order) == sorted(requests)


async def test_server_errors_are_retried(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Cannot log into the admin panel")
    world.slack.fail_next(3, status=503)
    await world.advance(minutes=5)
    for _ in range(10):
        await world.advance(seconds=30)
    assert len(thread_posts(world, request)) == 1


async def test_a_minute_of_429_then_a_minute_of_5xx_then_everything_once_in_order(
    world: SlackWorld,
) -> None:
    await watch_support(world)
    requests = [await world.post(f"UREQ{i}", f"Request number {i}") for i in range(8)]
    calls_before = len(world.slack.calls)
    world.slack.set_outage(429, retry_after=20)
    await world.advance(minutes=5)  # nudges and thread messages fall due: all refused
    for _ in range(6):
        await world.advance(seconds=10)
    world.slack.set_outage(503)  # then Slack's edge fails for a minute
    for _ in range(6):
        await world.advance(seconds=10)
    world.slack.set_outage(None)
    refused = world.slack.calls[calls_before:]
    assert {c.status for c in refused} == {429, 503} and len(refused) >= 10
    for _ in range(40):
        await world.advance(seconds=30)
    for ts in requests:  # nothing lost, nothing twice: what people see, and every call
        assert len(thread_posts(world, ts)) == 1
    assert len(world.slack.messages(ANNA)) == 8 and len(dms(world, ANNA)) == 8
    assert len(world.slack.messages(LEAD)) == 8 and len(world.sent("chat.update")) == 8
    # Each thread once, and each edit after the post it edits (order per conversation).
    order = [c.args["thread_ts"] for c in world.sent("chat.postMessage") if c.args.get("thread_ts")]
    assert sorted(order) == sorted(requests)
    calls = [c for c in world.slack.calls if c.ok]
    posted = {
        str(c.response["ts"]): i for i, c in enumerate(calls) if c.method == "chat.postMessage"
    }
    edits = [(str(c.args["ts"]), i) for i, c in enumerate(calls) if c.method == "chat.update"]
    assert all(posted[ts] < i for ts, i in edits)
    nudged = [c.args["text"] for c in world.sent("chat.postMessage") if c.args["channel"] == BEN]
    assert [r.replace(".", "") in t for r, t in zip(requests, nudged, strict=True)] == [True] * 8


async def test_non_admin_cannot_configure(world: SlackWorld) -> None:
    text = await world.command("watch requests target=5m", user=OPS)
    assert "Only workspace admins" in text
    assert world.core.channels.get("T0DEMO", SUPPORT) is None
    await world.post(OPS, "this channel is not watched")
    assert (await stats(world))["requests"] == 0


async def test_admin_from_env_may_configure(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    async with SlackWorld(
        database_url=database_url, clock=clock, env={"FIRSTLINE_ADMINS": OPS}
    ) as w:
        text = await w.command("watch requests", user=OPS)
        assert "Watching" in text


async def test_wrong_arguments_name_the_token(world: SlackWorld) -> None:
    assert "target" in await world.command("watch requests target=5")
    assert "Mon-Fri" in await world.command('watch requests hours="Mon-Fry 10-18"')
    assert "tz=" in await world.command("watch requests tz=Mars/Olympus")
    assert '"colour" is not an option' in await world.command("watch requests colour=blue")
    assert "I don't know" in await world.command("frobnicate")
    assert "/support watch" in await world.command("help")
    assert "not watched" in await world.command("status")
    assert "escalate" in await world.command("watch requests escalate=lead")


async def test_status_and_stats_commands(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Driver app crashes at login")
    await world.advance(minutes=7)
    status = await world.command("status", user=OPS)
    assert "Driver app crashes" in status and "target passed" in status
    assert f"p{request.replace('.', '')}" in status
    await world.post(ANNA, "on it", thread_ts=request)
    text = await world.command("stats 7d", user=OPS)
    assert "Requests: 1" in text and "breached: 1" in text
    assert "Requests: 1" in await world.command("stats since 2026-11-01", user=OPS)
    assert "period" in await world.command("stats fortnight", user=OPS)


async def test_deleted_request_is_withdrawn(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "oops wrong channel")
    await world.advance(minutes=6)
    await world.event(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": SUPPORT,
            "deleted_ts": request,
            "ts": world.next_ts(),
            "hidden": True,
        }
    )
    await world.settle()
    assert (await stats(world))["requests"] == 0
    assert "withdrawn" in world.sent("chat.update")[-1].args["text"]
    await world.advance(minutes=10)
    assert dms(world, LEAD) == []


async def test_edit_updates_text_only(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "typo'd requst")
    await world.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": SUPPORT,
            "ts": world.next_ts(),
            "message": {
                "type": "message",
                "user": OPS,
                "text": "typo'd request, fixed",
                "ts": request,
            },
        }
    )
    assert "fixed" in await world.command("status")
    assert (await stats(world))["requests"] == 1


async def test_business_hours_hold_escalation_until_opening(world: SlackWorld) -> None:
    # 14:00 UTC is 15:00 in Berlin; the channel opens Mon-Fri 10:00-15:00 Berlin time.
    await watch_support(world, 'hours="Mon-Fri 10:00-15:00" tz=Europe/Berlin holidays=DE')
    request = await world.post(OPS, "Question after hours")
    await world.advance(minutes=60)
    assert world.sent("chat.postMessage") == []
    await world.advance(minutes=60 * 18)  # Tuesday 09:00 UTC = 10:00 Berlin: opening
    assert world.sent("chat.postMessage") == []
    await world.advance(minutes=3)  # three business minutes later: 60% of the target
    assert len(dms(world, ANNA)) == 1
    await world.advance(minutes=1)
    await world.post(ANNA, "answered", thread_ts=request)
    figures = await stats(world)
    assert round(figures["first_response_seconds"]["p50"]) == 240
    assert figures["within_target"] == 1


async def test_on_it_button_is_a_first_response(world: SlackWorld) -> None:
    await watch_support(world)
    request = await world.post(OPS, "Need a refund approved")
    await world.advance(minutes=3)
    assert world.sender is not None
    reply = await world.sender.action(
        action_id="desk_on_it",
        value=f"{SUPPORT}:{request}",
        user=ANNA,
        channel=ANNA,
        message_ts="1.1",
    )
    assert reply.status == 200
    figures = await stats(world)
    assert figures["responded"] == 1 and figures["within_target"] == 1
    await world.advance(minutes=10)
    assert thread_posts(world, request) == []
    [thanks] = world.sent("chat.postEphemeral")
    assert thanks.args["user"] == ANNA and "first response" in thanks.args["text"]
    await world.sender.action(
        action_id="desk_on_it",
        value=f"{SUPPORT}:{request}",
        user=BEN,
        channel=BEN,
        message_ts="1.1",
    )
    await world.settle()
    assert "already gave" in world.sent("chat.postEphemeral")[-1].args["text"]


async def test_own_and_unwatched_messages_touch_nothing(world: SlackWorld) -> None:
    await watch_support(world)
    await world.event(
        {
            "type": "message",
            "channel": SUPPORT,
            "user": "UFIRSTLINE",
            "bot_id": "BFIRSTLINE",
            "text": "my own post",
            "ts": world.next_ts(),
        }
    )
    await world.post(OPS, "elsewhere", channel="C0RANDOM")
    await world.event(
        {
            "type": "message",
            "subtype": "channel_join",
            "channel": SUPPORT,
            "user": OPS2,
            "text": "joined",
            "ts": world.next_ts(),
        }
    )
    assert (await stats(world))["requests"] == 0
    assert ADMIN


async def test_old_inbox_keys_are_forgotten(world: SlackWorld) -> None:
    await watch_support(world)
    await world.post(OPS, "old news", event_id="EvOLD")
    world.clock.advance(minutes=60 * 24 * 8)
    await world.post(OPS2, "fresh", event_id="EvNEW")
    removed = await world.core.desk.forget_old_events(before=world.clock.now() - timedelta(days=7))
    assert removed == 1


async def test_background_loops_wake_on_the_clock(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    """As in production: nobody calls settle(); the loops wake when due and when poked."""

    async def eventually(check) -> None:  # type: ignore[no-untyped-def]
        for _ in range(500):
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the background loops did not act")

    async with SlackWorld(database_url=database_url, clock=clock, loops=True) as w:
        await watch_support(w)
        request = await w.post(OPS, "Scanner app shows a blank screen")
        clock.advance(minutes=3)
        await eventually(lambda: len(dms(w, ANNA)) == 1)
        clock.advance(minutes=2)
        await eventually(lambda: len(thread_posts(w, request)) == 1)
        await w.post(BEN, "on it", thread_ts=request)
        await eventually(lambda: len(w.sent("chat.update")) == 1)
