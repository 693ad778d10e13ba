"""The error budget's notices and the Home tab, through the real endpoint on the fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FakeClock
from tests.harness import ADMIN, ANNA, BEN, OPS, SUPPORT, SlackWorld


def budget_posts(world: SlackWorld) -> list[str]:
    return [
        c.args["text"]
        for c in world.sent("chat.postMessage")
        if c.args["channel"] == SUPPORT and c.args["text"].startswith(("⚠️", "🔥"))
    ]


async def answered_request(world: SlackWorld, text: str) -> None:
    ts = await world.post(OPS, text)
    await world.advance(seconds=60)
    await world.post(ANNA, "Done", thread_ts=ts)


@pytest.fixture
async def quiet_month(database_url: str) -> object:
    clock = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    async with SlackWorld(database_url=database_url, clock=clock) as world:
        assert "Watching" in await world.command("watch requests target=5m")
        yield world


async def test_budget_warning_comes_once_at_the_right_moment_then_spent_once(
    quiet_month: SlackWorld,
) -> None:
    world = quiet_month
    # 60 requests answered in a minute over two weeks, then 10 more in the week before.
    for day in range(14):
        for n in range(60 // 14 + (1 if day < 60 % 14 else 0)):
            world.clock.set(datetime(2026, 11, 2 + day, 9 + n, 0, tzinfo=UTC))
            await answered_request(world, f"question {day}-{n}")
    for day in range(17, 22):
        for n in range(2):
            world.clock.set(datetime(2026, 11, day, 10 + n, 0, tzinfo=UTC))
            await answered_request(world, f"question {day}-{n}")
    assert budget_posts(world) == []

    async def missed(at: datetime) -> None:
        world.clock.set(at)
        # A different asker each time: a second unanswered post by one person is a follow-up.
        await world.post(f"UMISS{at:%H%M}", f"nobody answers this one ({at:%H:%M})")
        await world.advance(minutes=4, seconds=59)  # a second before its deadline

    async def decided() -> None:
        await world.advance(seconds=1)  # the deadline: the breach step fires
        await world.advance(seconds=10)  # the debounced refresh checks the budget

    monday = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    # First miss: 1 of 11 in the last 7 days is 1.8x the burn rate; no rule fires.
    await missed(monday)
    await decided()
    assert budget_posts(world) == []
    # Second miss: 2 of 12 over 7 days (3.3x) and 2 of 2 today: the slow rule fires as
    # soon as the miss is decided (its 5-minute deadline; the refresh runs within 10 s).
    await missed(monday + timedelta(minutes=30))
    assert budget_posts(world) == []
    await decided()
    [warning] = budget_posts(world)
    assert "⚠️ Error budget burning fast" in warning and "3.3x over the last 7 d" in warning
    assert "44% left" in warning
    # Third miss: the fast rule fires too, but the warning was given for this window.
    await missed(monday + timedelta(minutes=60))
    await decided()
    assert budget_posts(world) == [warning]
    # Fourth miss: 4 of 74 in 28 days is over the 5% allowance: spent, said once.
    await missed(monday + timedelta(minutes=90))
    await decided()
    assert len(budget_posts(world)) == 2
    spent = budget_posts(world)[-1]
    assert spent.startswith("🔥 Error budget spent: prioritise support debt")
    assert "4 of 74 requests missed the target" in spent
    # A restart and another miss: nothing is said twice.
    await world.restart()
    await missed(monday + timedelta(minutes=120))
    await decided()
    assert len(budget_posts(world)) == 2

    shown = await world.command("slo", user=BEN)
    assert "95% of requests answered within target over 28 days (the default" in shown
    assert "spent: prioritise support debt" in shown
    refused = await world.command("slo set 90% 28d", user=BEN)
    assert "Only workspace admins" in refused
    assert "now: 90% of requests" in await world.command("slo set 90% 28d", user=ADMIN)
    shown = await world.command("slo", user=BEN)
    assert "90% of requests answered within target over 28 days\n" in shown
    assert "75 decided, 5 missed the target" in shown and "33% of the budget left" in shown
    assert "from 50% to below 100%" in await world.command("slo set 100% 28d", user=ADMIN)
    assert "1 to 365 days" in await world.command("slo set 95% 400d", user=ADMIN)


def home_text(world: SlackWorld, user: str) -> str:
    view = world.slack.home_view(user)
    assert view is not None and view["type"] == "home"
    return "\n".join(
        b["text"]["text"] for b in view["blocks"] if b.get("type") == "section" and "text" in b
    )


def publishes(world: SlackWorld, user: str) -> int:
    return len([c for c in world.sent("views.publish") if c.args["user_id"] == user])


async def test_home_is_published_on_open_and_once_per_burst_of_changes(world: SlackWorld) -> None:
    await world.command("config tz=Europe/Berlin", name="/rota")
    await world.command(f"add <@{ANNA}> prod", name="/rota")
    await world.command(f"add <@{BEN}> prod", name="/rota")
    await world.command("watch requests target=5m")
    reply = await world.event(
        {"type": "app_home_opened", "user": ANNA, "channel": "D0ANNA", "tab": "home"}
    )
    assert reply.status == 200
    await world.settle()
    assert publishes(world, ANNA) == 1 and publishes(world, BEN) == 0
    text = home_text(world, ANNA)
    assert "*Open requests*\nNone." in text
    assert "next: not picked yet (the pick is Mon 17:00)" in text
    assert "*Your figures, last 28 days*\nFirst responses given: 0" in text
    assert f"<#{SUPPORT}>: – within target this week (0 of 0) · error budget 100% left" in text

    # A burst of five requests in five seconds republishes once, ten seconds later.
    first = ""
    for n in range(5):
        ts = await world.post(f"UASK{n}", f"Burst request number {n}")
        first = first or ts
        await world.advance(seconds=1)
    assert publishes(world, ANNA) == 1
    await world.advance(seconds=6)
    assert publishes(world, ANNA) == 2
    text = home_text(world, ANNA)
    assert text.count("Burst request number") == 5 and "(waiting)" in text
    assert f"archives/{SUPPORT}/p{first.replace('.', '')}" in text
    await world.advance(minutes=1)
    assert publishes(world, ANNA) == 2  # nothing changed: no timer republishes it

    await world.post(ANNA, "On it", thread_ts=first)
    await world.advance(seconds=10)
    assert publishes(world, ANNA) == 3
    text = home_text(world, ANNA)
    assert f"(answered by <@{ANNA}>)" in text
    assert "100% within target this week (1 of 1)" in text
    assert "First responses given: 1 · within target 1 (100%)" in text

    # Monday 17:00 Berlin: the pick suggests next week's pair and the Home tab shows it.
    world.clock.set(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    await world.settle()
    await world.advance(seconds=10)
    assert publishes(world, ANNA) == 4
    assert f"next: <@{ANNA}> and <@{BEN}> (suggested) from Wed 25 Nov 09:00" in home_text(
        world, ANNA
    ) or f"next: <@{BEN}> and <@{ANNA}> (suggested) from Wed 25 Nov 09:00" in home_text(world, ANNA)
    # Wednesday 09:00 Berlin: the week starts; Home says who is on support now.
    world.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    await world.settle()
    await world.advance(seconds=10)
    assert "now <@" in home_text(world, ANNA) and "until Wed 02 Dec 09:00" in home_text(world, ANNA)
