"""Time off in lieu through the endpoint: out-of-hours acks recorded, the "It woke me"
button, `/rota toil` and `firstline toil`, on the fake clock."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.toil import messages as toil_messages
from storage.models import OutOfHoursWork
from tests.e2e.test_demo_and_cli import run_cli
from tests.e2e.test_incidents import buttons
from tests.harness import ALERTS, ANNA, OPS, OPS2, SUPPORT, SlackWorld


async def rota(world: SlackWorld, text: str) -> str:
    return await world.command(text, channel=SUPPORT, name="/rota")


async def alert(world: SlackWorld, title: str, *, at: datetime) -> str:
    world.clock.set(at)
    ts = world.next_ts()
    event = {
        "type": "message",
        "subtype": "bot_message",
        "channel": ALERTS,
        "bot_id": "BBUGSNAG",
        "username": "Bugsnag",
        "text": title,
        "ts": ts,
    }
    assert (await world.event(event)).status == 200
    return ts


async def ack(world: SlackWorld, user: str, ts: str, *, at: datetime, emoji: str = "eyes") -> None:
    world.clock.set(at)
    await world.react(user, emoji, ts, channel=ALERTS)
    await world.settle()


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def dms(world: SlackWorld, user: str) -> list:
    return [
        c
        for c in world.sent("chat.postMessage")
        if c.args["channel"] == user and "out of hours" in c.args["text"]
    ]


async def set_up(world: SlackWorld, policy: str) -> None:
    reply = await rota(world, f"config tz=Europe/Berlin toil={policy}")
    assert "Time off in lieu" in reply and f"policy {policy}" in reply
    await rota(world, f"add <@{OPS}> prod")
    await rota(world, f"add <@{OPS2}> prod")
    watched = await world.command(
        'watch alerts target=10m hours="Mon-Fri 09:00-18:00" tz=Europe/Berlin', channel=ALERTS
    )
    assert "Mon–Fri" in watched or "Mon-Fri" in watched


async def test_policy_a_call_outs_woken_and_worked_hours(world: SlackWorld) -> None:
    await set_up(world, "a")
    # Monday 23 Nov 2026, Berlin is UTC+1: 22:00 Berlin is 21:00 UTC, well after hours.
    first = await alert(world, "Disk full on db-1", at=utc(23, 21, 0))
    await ack(world, OPS, first, at=utc(23, 21, 5))
    [dm] = dms(world, OPS)
    assert "out of hours" in dm.args["text"] and "22:05" in dm.args["text"]
    [woke] = buttons(dm)
    assert woke["action_id"] == toil_messages.WOKE
    # A second alert 20 minutes after the first: the same call-out, no second DM.
    second = await alert(world, "Queue backlog over 10k", at=utc(23, 21, 20))
    await ack(world, OPS, second, at=utc(23, 21, 22))
    assert len(dms(world, OPS)) == 1
    # It woke them: only the person it is about may say so.
    await world.press(woke["action_id"], woke["value"], user=OPS2, channel=dm.response["channel"])
    assert "Only <@UOPS1>" in world.last_ephemeral(OPS2)
    await world.press(woke["action_id"], woke["value"], user=OPS, channel=dm.response["channel"])
    assert "0.5 day" in world.last_ephemeral(OPS)
    # Another alert 70 minutes after the first: a new call-out, so a new DM.
    third = await alert(world, "Certificate expires in 2 days", at=utc(23, 22, 10))
    await ack(world, OPS, third, at=utc(23, 22, 12))
    assert len(dms(world, OPS)) == 2
    # OPS closes the first alert at 23:35 UTC: 2.5 hours after handling it.
    await ack(world, OPS, first, at=utc(23, 23, 35), emoji="white_check_mark")
    # OPS2 handles one, and so does Anna, who is not on the rota: not recorded for her.
    fourth = await alert(world, "Payment webhook failing", at=utc(24, 1, 0))
    await ack(world, OPS2, fourth, at=utc(24, 1, 3))
    fifth = await alert(world, "Search index stale", at=utc(24, 2, 0))
    await ack(world, ANNA, fifth, at=utc(24, 2, 1))
    # In hours (Tuesday 10:00 Berlin) nothing is recorded.
    sixth = await alert(world, "Slow checkout", at=utc(24, 9, 0))
    await ack(world, OPS, sixth, at=utc(24, 9, 2))
    async with world.core.db.reading() as session:
        rows = (await session.scalars(select(OutOfHoursWork))).all()
    assert sorted(r.user for r in rows) == [OPS, OPS, OPS, OPS2]

    text = await rota(world, "toil 2026-11")
    # OPS: call-out one woke them (0.5) and lasted 2.5 h (+0.25 × 1.5); call-out two 0.25.
    assert "<@UOPS1>: 1.125 day(s) — 2 call-out(s) from 3 handled, 1 woke them" in text
    assert "<@UOPS2>: 0.25 day(s) — 1 call-out(s) from 1 handled" in text
    assert "UANNA" not in text
    assert "Nothing recorded" in await rota(world, "toil 2026-10")
    assert "not a month" in await rota(world, "toil November")

    if world.database_url.startswith("sqlite"):
        db = Path(world.database_url.split("///", 1)[1])
        done = await asyncio.to_thread(
            run_cli, "toil", "--month", "2026-11", "--format", "csv", db=db
        )
        assert done.returncode == 0, done.stderr
        rows_csv = list(csv.DictReader(io.StringIO(done.stdout)))
        owed = {r["user"]: (r["owed"], r["unit"], r["call_outs"]) for r in rows_csv}
        assert owed == {OPS: ("1.125", "days", "2"), OPS2: ("0.25", "days", "1")}
        bad = await asyncio.to_thread(run_cli, "toil", "--month", "2026-13", db=db)
        assert bad.returncode == 2 and "2026-11" in bad.stderr


async def on_support_from_wednesday(world: SlackWorld) -> None:
    """Monday 17:00 Berlin picks the pair (the only two) for the week from Wednesday 09:00."""
    world.clock.set(utc(23, 16, 0))
    await world.settle()
    world.clock.set(utc(25, 8, 0))
    await world.settle()
    assert "<@UOPS1> and <@UOPS2>" in await rota(world, "who")


async def test_policy_b_standby_and_active_hours(world: SlackWorld) -> None:
    await set_up(world, "b")
    await on_support_from_wednesday(world)
    # Thursday night: OPS acks at 23:00 Berlin and closes it 90 minutes later. No DM under b.
    ts = await alert(world, "Disk full on db-1", at=utc(26, 21, 58))
    await ack(world, OPS, ts, at=utc(26, 22, 0))
    await ack(world, OPS, ts, at=utc(26, 23, 30), emoji="white_check_mark")
    assert dms(world, OPS) == []
    text = await rota(world, "toil 2026-11")
    # November in Berlin: Wed 25 from 09:00 (15 h, less 7.5 = 7.5), Thu, Fri, Mon 30
    # (16.5 each), Sat, Sun (24 each) = 105 h standby × 0.125 = 13.125 h; plus 1.5 h
    # active × 3 = 4.5 h for OPS.
    assert "<@UOPS1>: 17.625 hour(s) — 105.0 h standby, 1.50 h active (1 handled)" in text
    assert "<@UOPS2>: 13.125 hour(s) — 105.0 h standby, 0.00 h active (0 handled)" in text


async def test_policy_b_handlings_without_a_close_add_no_active_hours(world: SlackWorld) -> None:
    await set_up(world, "b")
    await on_support_from_wednesday(world)
    # Thursday 04:05 Berlin OPS acks one alert, 04:16 another; closes neither.
    first = await alert(world, "Disk full on db-1", at=utc(26, 3, 0))
    await ack(world, OPS, first, at=utc(26, 3, 5))
    second = await alert(world, "Queue backlog over 10k", at=utc(26, 3, 10))
    await ack(world, OPS, second, at=utc(26, 3, 16))
    text = await rota(world, "toil 2026-11")
    assert "<@UOPS1>: 13.125 hour(s) — 105.0 h standby, 0.00 h active (2 handled)" in text
    # The first closed at 05:35 Berlin, before the hours open: 1.5 h from 04:05.
    await ack(world, OPS, first, at=utc(26, 4, 35), emoji="white_check_mark")
    text = await rota(world, "toil 2026-11")
    assert "<@UOPS1>: 17.625 hour(s) — 105.0 h standby, 1.50 h active (2 handled)" in text


async def test_toil_policy_is_checked_and_needs_admin(world: SlackWorld) -> None:
    assert "This channel has no rota yet" in await rota(world, "toil")  # as every /rota command
    assert 'toil: "c" is not a policy' in await rota(world, "config toil=c")
    refused = await world.command("config toil=a", user=OPS, channel=SUPPORT, name="/rota")
    assert "workspace admins and owners" in refused and "nothing changed" in refused
    assert "policy a" in await rota(world, "config toil=a")
    assert "not recorded" in await rota(world, "config toil=off")
