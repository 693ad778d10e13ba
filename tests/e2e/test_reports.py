"""Reports end to end: a seeded month through the real endpoint on the fake clock.

The weekly report's figures are checked against an independent computation written
here (numpy percentiles, zoneinfo for the heatmap), not against ``bot.stats``.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bot.channels import Channels
from bot.clock import FakeClock
from bot.durations import format_duration
from bot.facts import ts_to_datetime
from bot.reports.messages import report_markdown
from bot.reports.weeks import IsoWeek
from storage.engine import Database
from tests.harness import ADMIN, ALERTS, ANNA, BEN, LEAD, OPS2, SUPPORT, TEAM, SlackWorld

BERLIN = ZoneInfo("Europe/Berlin")
TARGET = 300
PASSWORD = (
    "How do I reset my password?",
    "how do I reset my password??",
    "Hi, how do I reset my password",
)


@dataclass
class Seeded:
    ts: str
    posted_at: datetime
    text: str
    reply_at: datetime | None = None
    closed_at: datetime | None = None


def local(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A Berlin wall-clock instant in November 2026, as UTC."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=BERLIN).astimezone(UTC)


def word(i: int) -> str:
    return "".join(chr(97 + (i // 26**k) % 26) for k in range(3))


def plan_month() -> list[tuple[datetime, str, int]]:
    """Requests from Monday 2 to Sunday 29 November (Berlin), busier in the last week,
    with a peak on its Tuesday at 16:00."""
    rng = random.Random(48)
    posts: list[datetime] = []
    for day in range(2, 30):
        weekend = datetime(2026, 11, day).weekday() >= 5
        busy = (3, 5) if day >= 23 else (1, 3)
        for _ in range(rng.randint(0, 1) if weekend else rng.randint(*busy)):
            posts.append(local(day, rng.randint(8, 19), rng.randint(0, 59), rng.randint(0, 59)))
    posts += [local(24, 16, 5 + 8 * i, 30) for i in range(6)]  # the week's peak
    posts.sort()
    return [(at, "post", i) for i, at in enumerate(posts)]


async def seed_month(world: SlackWorld) -> list[Seeded]:
    rng = random.Random(7)
    actions = plan_month()
    delays: dict[int, tuple[int | None, int | None]] = {}
    for at, _, i in list(actions):
        delay = rng.choice([45, 90, 150, 240, 280, 420, 800, None])
        close = rng.choice([None, 900, 3600, 7200]) if delay is not None else None
        delays[i] = (delay, close)
        if delay is not None:
            actions.append((at + timedelta(seconds=delay), "reply", i))
            if close is not None:
                actions.append((at + timedelta(seconds=delay + close), "close", i))
    actions.append((local(25, 12, 0), "incident", -1))
    actions.sort(key=lambda a: (a[0], a[1], a[2]))
    seeded: dict[int, Seeded] = {}
    password = 0
    responders = (ANNA, BEN, OPS2)
    for at, kind, i in actions:
        world.clock.set(max(at, world.clock.now()))
        await world.settle()
        if kind == "post":
            if at.astimezone(BERLIN).isocalendar()[1] == 48 and i % 7 == 3 and password < 3:
                text = PASSWORD[password]
                password += 1
            else:
                text = f"Checkout question about merchant {word(i)}"
            ts = await world.post(f"UREQ{i:03d}", text)  # one asker each: no follow-ups
            seeded[i] = Seeded(ts=ts, posted_at=ts_to_datetime(ts), text=text)
        elif kind == "incident":
            text = await world.incident(
                "declare Checkout fails for EU sev2", user=LEAD, channel=SUPPORT
            )
            assert "Checkout fails" in text
        elif kind == "reply":
            ts = await world.post(responders[i % 3], "Looking at it", thread_ts=seeded[i].ts)
            seeded[i].reply_at = ts_to_datetime(ts)
        else:
            await world.react(responders[i % 3], "white_check_mark", seeded[i].ts)
            seeded[i].closed_at = world.clock.now()
    assert password == 3
    await world.settle()
    return list(seeded.values())


def expected_week(seeded: list[Seeded], week: IsoWeek) -> dict:
    """The figures computed independently: numpy percentiles, zoneinfo hours."""
    first = datetime(*week.monday().timetuple()[:3], tzinfo=BERLIN).astimezone(UTC)
    end = (datetime(*week.monday().timetuple()[:3], tzinfo=BERLIN) + timedelta(days=7)).astimezone(
        UTC
    )
    mine = [s for s in seeded if first <= s.posted_at < end]
    times = [(s.reply_at - s.posted_at).total_seconds() for s in mine if s.reply_at]
    closes = [(s.closed_at - s.posted_at).total_seconds() for s in mine if s.closed_at]
    within = sum(1 for t in times if t <= TARGET)
    breached = len(mine) - within  # unanswered ones are long past their deadline
    heat = np.zeros((7, 24), dtype=int)
    per_day = [0] * 7
    for s in mine:
        at = s.posted_at.astimezone(BERLIN)
        heat[at.weekday(), at.hour] += 1
        per_day[at.weekday()] += 1
    pinged = sum(
        1 for s in mine if s.reply_at is None or (s.reply_at - s.posted_at).total_seconds() > 600
    )
    return {
        "requests": len(mine),
        "within": within,
        "breached": breached,
        "ratio": round(within / (within + breached), 4),
        "p50": round(float(np.percentile(times, 50)), 3),
        "p90": round(float(np.percentile(times, 90)), 3),
        "max": round(max(times), 3),
        "close_p50": round(float(np.percentile(closes, 50)), 3),
        "close_p90": round(float(np.percentile(closes, 90)), 3),
        "heatmap": heat.tolist(),
        "per_day": per_day,
        "pinged": pinged,
    }


@pytest.fixture
async def month(database_url: str) -> object:
    clock = FakeClock(datetime(2026, 11, 1, 12, 0, tzinfo=UTC))  # the Sunday before
    async with SlackWorld(database_url=database_url, clock=clock) as world:
        text = await world.command(
            f"watch requests target=5m tz=Europe/Berlin escalate=<@{LEAD}|lead>"
        )
        assert "Watching" in text
        yield world


async def test_a_seeded_month_gives_the_weekly_report_an_independent_count_agrees_with(
    month: SlackWorld,
) -> None:
    world = month
    seeded = await seed_month(world)
    week, before = IsoWeek(2026, 48), IsoWeek(2026, 47)
    want, want_before = expected_week(seeded, week), expected_week(seeded, before)
    assert want["requests"] > 20 and want["breached"] > 0 and want["pinged"] > 0

    # Monday 30 November, 09:00 Berlin: the weekly timer posts the report and its charts.
    world.clock.set(local(30, 8, 59))
    await world.settle()
    assert not [c for c in world.sent("chat.postMessage") if "2026-W48" in c.args["text"]]
    world.clock.set(local(30, 9, 0))
    await world.settle()
    [post] = [
        c for c in world.sent("chat.postMessage") if "Weekly report 2026-W48" in c.args["text"]
    ]
    assert post.args["channel"] == SUPPORT
    text = post.args["text"]
    assert f"p90 {format_duration(want['p90'])}" in text, text
    assert f"p50 {format_duration(want['p50'])}" in text
    assert f"Within target: {want['within']} of {want['requests']}" in text
    assert f"Breaches ({want['breached']})" in text
    mine = [s for s in seeded if week.bounds("Europe/Berlin")[0] <= s.posted_at < local(30, 0, 0)]
    answered = sum(1 for s in mine if s.reply_at)
    closed = sum(1 for s in mine if s.closed_at)
    assert f"answered {answered} · unanswered {len(mine) - answered} · closed {closed}" in text, (
        text
    )
    assert f"<@{LEAD}> ×{want['pinged']}" in text
    assert "“How do I reset my password?” ×3" in text
    assert "#1 sev2 Checkout fails for EU: still open" in text
    assert "archives/C0SUPPORT/p" in text  # breaches link to their messages
    files = [f for f in world.slack.uploaded_files() if "2026-W48" in f["name"]]
    assert sorted(f["name"] for f in files) == [
        "firstline-2026-W48-heatmap.png",
        "firstline-2026-W48-per_day.png",
    ]
    assert all(SUPPORT in f["channels"] for f in files)

    # The first Monday's report covered an empty week: a message, no charts.
    assert [c for c in world.sent("chat.postMessage") if "2026-W44" in c.args["text"]]
    assert not [f for f in world.slack.uploaded_files() if "2026-W44" in f["name"]]
    # Every Monday of the month brought the week before's report, with its own count.
    for number in (45, 46, 47):
        [earlier] = [
            c.args["text"]
            for c in world.sent("chat.postMessage")
            if f"Weekly report 2026-W{number}" in c.args["text"]
        ]
        count = expected_week(seeded, IsoWeek(2026, number))["requests"]
        assert f"Requests: {count} (" in earlier

    # The figures behind it, as `firstline report --format json` gives them.
    [report] = await world.core.reports.reports_for(
        workspace_id=TEAM, channel_id=SUPPORT, week=week, charts_too=True
    )
    data = report.to_dict()
    fig = data["figures"]
    assert fig["requests"] == want["requests"]
    assert fig["within_target"] == want["within"] and fig["breached"] == want["breached"]
    assert fig["within_target_ratio"] == want["ratio"]
    assert fig["first_response_seconds"] == {
        "p50": want["p50"],
        "p90": want["p90"],
        "max": want["max"],
    }
    assert fig["time_to_close_seconds"] == {"p50": want["close_p50"], "p90": want["close_p90"]}
    assert [d["requests"] for d in data["requests_per_day"]] == want["per_day"]
    assert data["heatmap"] == want["heatmap"]
    assert tuple(data["busiest"]) == (1, 16, want["heatmap"][1][16])  # Tuesday 16:00, Berlin
    assert want["heatmap"][1][16] >= 6 and want["heatmap"][1][16] == max(map(max, want["heatmap"]))
    assert data["delta"]["requests"] == want["requests"] - want_before["requests"]
    assert data["delta"]["p90"] == pytest.approx(want["p90"] - want_before["p90"], abs=1e-3)
    assert data["delta"]["within_target_ratio"] == pytest.approx(
        want["ratio"] - want_before["ratio"], abs=1e-3
    )
    assert data["escalations"] == [{"who": f"<@{LEAD}>", "times": want["pinged"]}]
    assert data["recurring"][0] == {"request": PASSWORD[0], "times": 3}
    assert len(data["recurring"]) == 1  # every other request was worded differently

    # A past week's error budget is the one at that week's end (Sunday 15 November,
    # 24:00 Berlin), over the 28 days before it: answers that came later are not known yet.
    [past] = await world.core.reports.reports_for(
        workspace_id=TEAM, channel_id=SUPPORT, week=IsoWeek(2026, 46)
    )
    end = local(16, 0, 0)
    window = [s for s in seeded if end - timedelta(days=28) <= s.posted_at < end]
    answered = [s for s in window if s.reply_at is not None and s.reply_at <= end]
    missed = sum(1 for s in answered if (s.reply_at - s.posted_at).total_seconds() > TARGET)
    unanswered = [s for s in window if s not in answered]
    missed += sum(1 for s in unanswered if s.posted_at + timedelta(seconds=TARGET) <= end)
    decided = len(answered) + sum(
        1 for s in unanswered if s.posted_at + timedelta(seconds=TARGET) <= end
    )
    assert past.slo is not None and report.slo is not None
    assert (past.slo["decided"], past.slo["missed"]) == (decided, missed)
    assert past.slo["decided"] < report.slo["decided"]  # today's window holds more

    # Read outside Slack (Markdown, charts), the report names the channel and people.
    assert report.channel_label == "#support"
    markdown = report_markdown([report])
    assert "channel #support (requests)" in markdown
    assert f"- @lead ×{want['pinged']}" in markdown and "@ULEAD" not in markdown

    # The heatmap PNG decodes to a picture whose hottest cell is Tuesday 16:00.
    import matplotlib.image

    png = next(f for f in files if f["name"].endswith("heatmap.png"))["content"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == report.charts["heatmap"]
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (360, 1000)
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 50
    # A restart does not post the week again; the next one is scheduled for 7 December.
    await world.restart()
    world.clock.set(local(30, 12, 0))
    await world.settle()
    assert (
        len(
            [
                c
                for c in world.sent("chat.postMessage")
                if "Weekly report 2026-W48" in c.args["text"]
            ]
        )
        == 1
    )


async def test_report_on_demand_posts_this_week_so_far_with_charts(world: SlackWorld) -> None:
    assert "not watched" in await world.command("report", user=BEN)
    await world.command("watch requests target=5m")
    asked = await world.post("UASK1", "Where do I find the invoice export?")
    await world.advance(minutes=1)
    await world.post(ANNA, "Billing → Export", thread_ts=asked)
    await world.command("watch alerts target=10m", channel=ALERTS)
    alert = await world.post("UGRAFANA", "High error rate on checkout", channel=ALERTS)
    await world.advance(minutes=2)
    await world.react(BEN, "eyes", alert, channel=ALERTS)
    answer = await world.command("report", user=BEN)
    assert answer == f"Posting the report for 2026-W48 in <#{SUPPORT}> now, with its charts."
    await world.settle()
    [post] = [c for c in world.sent("chat.postMessage") if "Weekly report" in c.args["text"]]
    assert "Weekly report 2026-W48 (2026-11-23 to 2026-11-29, UTC, so far)" in post.args["text"]
    assert "Within target: 1 of 1 (100.0%)" in post.args["text"]
    assert (
        f"<#{ALERTS}>: 1 alerts · acknowledged p50 2 min · p90 2 min · max 2 min · "
        "within target 100.0%" in post.args["text"]
    )
    assert len(world.slack.uploaded_files()) == 2
    assert "has not started yet" in await world.command("report 2027-W10", user=BEN)
    assert "Write it as 2026-W48" in await world.command("report 2026-W99", user=BEN)
    assert "report last" in await world.command("report this week please", user=BEN)


# Regression (3 Dec): on PostgreSQL the watch command's own NOTIFY could be heard while the
# command re-read its channel; this server's view of watched channels then took the change
# only after the command had answered, and the weekly-report timer, scheduled from that
# view, was never written: every weekly report of the channel was lost (the seeded month
# above failed in about half its runs on a fresh server). The timer now comes from the
# database, whatever the view has heard so far.
async def test_a_channel_watched_where_this_server_has_not_heard_it_yet_gets_its_weekly_timer(
    world: SlackWorld,
) -> None:
    held: list[tuple[str, str]] = []
    listener = world.core.channels._listener  # PostgreSQL only; SQLite has no listener
    if listener is not None:
        hear = listener._changed
        listener._changed = lambda *key: held.append(key)  # the NOTIFY is still on its way
    # The CLI (or another replica) watches a channel; this server's view does not know yet
    # (SQLite: it would reload on the next event in a channel; PostgreSQL: notification held).
    other = Database.connect(world.database_url)
    try:
        await Channels(db=other, clock=world.clock).watch(
            workspace_id=TEAM, channel_id=ALERTS, kind="alerts", options={}, actor=ADMIN
        )
    finally:
        await other.close()
    assert world.core.channels.get(TEAM, ALERTS) is None  # the view really is behind
    assert await world.core.reports.ensure_schedules() == 1
    if listener is not None:
        listener._changed = hear
        for key in held:
            hear(*key)
        assert held == [(TEAM, ALERTS)]
    assert await world.core.reports.ensure_schedules() == 0  # pending: nothing to add
    # Asked for at once, the report is not refused as "not watched" by a view still behind.
    answer = await world.command("report", user=BEN, channel=ALERTS)
    assert answer.startswith("Posting the report for 2026-W48"), answer
    world.clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # Monday 09:00 UTC
    await world.settle()
    reports = [
        (c.args["channel"], "so far" in c.args["text"])
        for c in world.sent("chat.postMessage")
        if "Weekly report 2026-W48" in c.args["text"]
    ]
    assert reports == [(ALERTS, True), (ALERTS, False)]  # asked for, then the weekly one
