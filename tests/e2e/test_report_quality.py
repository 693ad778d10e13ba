"""The weekly report's next-response and resolution figures (docs/reports.md), worked by
hand: a channel with `next=30m resolve=1h`, one request the week before and four in the
week reported, through the signed endpoint; the report posted by the Monday timer, and the
Markdown and JSON of `firstline report`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.clock import FakeClock
from tests.e2e.test_exports import run_cli
from tests.harness import ALERTS, ANNA, BEN, LEAD, OPS, SUPPORT, SlackWorld

OPS2, ASK3, ASK4 = "UOPS2", "UASK3", "UASK4"


def at(day: int, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def fortnight(database_url: str) -> AsyncIterator[SlackWorld]:
    clock = FakeClock(at(20, "09:00"))  # Friday of 2026-W47
    async with SlackWorld(database_url=database_url, clock=clock) as world:
        text = await world.command(
            f"watch requests target=5m next=30m resolve=1h escalate=<@{LEAD}|lead>"
        )
        assert "Watching" in text, text
        await world.command(f"responders <@{ANNA}|anna> <@{BEN}|ben>")
        # A channel without those targets: its report shows neither.
        assert "Watching" in await world.command("watch requests target=5m", channel=ALERTS)
        yield world


async def until(world: SlackWorld, moment: datetime) -> None:
    world.clock.set(moment)
    await world.settle()


async def test_the_weekly_report_shows_next_response_and_resolution(
    fortnight: SlackWorld,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = fortnight
    # W47, Friday: next response 20 min (10:05 → 10:25), resolved after 30 min.
    await until(world, at(20, "10:00"))
    p = await world.post(OPS, "The Hamburg export is empty today")
    await until(world, at(20, "10:01"))
    await world.post(ANNA, "Looking into it now.", thread_ts=p)
    await until(world, at(20, "10:05"))
    await world.post(OPS, "Also the Bremen one, same thing", thread_ts=p)
    await until(world, at(20, "10:25"))
    await world.post(BEN, "Both re-run, files are there.", thread_ts=p)
    await until(world, at(20, "10:30"))
    await world.react(BEN, "white_check_mark", p)

    # W48, Monday. A: next response 10 min (14:06 → 14:16), resolved after 20 min.
    await until(world, at(23, "14:00"))
    a = await world.post(OPS, "Refund for order 5512 went to the wrong card")
    await until(world, at(23, "14:01"))
    await world.post(ANNA, "On it, reversing it now.", thread_ts=a)
    await until(world, at(23, "14:06"))
    await world.post(OPS, "It still shows as pending for the customer", thread_ts=a)
    await until(world, at(23, "14:16"))
    await world.post(BEN, "Pending clears overnight; the bank has it.", thread_ts=a)
    await until(world, at(23, "14:20"))
    await world.react(BEN, "white_check_mark", a)
    # B: next response 45 min (14:40 → 15:25), breached; resolved after 1 h 30 min, breached.
    await until(world, at(23, "14:30"))
    b = await world.post(OPS2, "Invoices for November are missing from the export")
    await until(world, at(23, "14:32"))
    await world.post(ANNA, "Checking the invoice job.", thread_ts=b)
    await until(world, at(23, "14:40"))
    await world.post(OPS2, "The customer needs them by tonight", thread_ts=b)
    await until(world, at(23, "15:25"))
    await world.post(ANNA, "Job restarted, they are coming in.", thread_ts=b)
    await until(world, at(23, "16:00"))
    await world.react(ANNA, "white_check_mark", b)
    # C: the follow-up at 16:15 is never answered (due 16:45) and C is never closed (due
    # 17:10): a breach of each clock, still open.
    await until(world, at(23, "16:10"))
    c = await world.post(ASK3, "Can I get access to the admin panel")
    await until(world, at(23, "16:11"))
    await world.post(BEN, "Asking the admins.", thread_ts=c)
    await until(world, at(23, "16:15"))
    await world.post(ASK3, "It is for the audit this week", thread_ts=c)
    # D: answered with a question, so waiting on the requester: resolution paused, running.
    await until(world, at(23, "17:00"))
    d = await world.post(ASK4, "The dashboard shows last week's numbers")
    await until(world, at(23, "17:02"))
    await world.post(ANNA, "Which dashboard is it?", thread_ts=d)

    # Monday 30 November, 09:00 UTC: the weekly timer posts W48's reports.
    await until(world, at(30, "09:00"))
    [post] = [
        call.args
        for call in world.sent("chat.postMessage")
        if "Weekly report 2026-W48" in call.args["text"] and call.args["channel"] == SUPPORT
    ]
    text = post["text"]
    # By hand. Next response: measured A 10 min and B 45 min; breached B and C (open);
    # within target 1 of 3 = 33.3%, the week before 1 of 1: −66.7 pp. p50 of 10 and 45 min
    # = 27 min 30 s (W47: 20 min, so +7 min 30 s); p90 = 10 + 0.9 × 35 = 41 min 30 s
    # (+21 min 30 s).
    assert (
        "*Next response (target 30 min)*\n"
        "Measured: 2 · breached 2 · running 0\n"
        "Within target: 1 of 3 (33.3%) (-66.7 pp)\n"
        "p50 27 min 30 s (+7 min 30 s) · p90 41 min 30 s (+21 min 30 s)"
    ) in text, text
    # Resolution: A 20 min, B 1 h 30 min; breached B and C (open past 17:10); D running.
    # Within 1 of 3 = 33.3% (W47 1 of 1: −66.7 pp); p50 55 min (W47 30 min: +25 min);
    # p90 = 20 + 0.9 × 70 = 83 min = 1 h 23 min (+53 min).
    assert (
        "*Resolution (target 1 h)*\n"
        "Measured: 2 · breached 2 · running 1\n"
        "Within target: 1 of 3 (33.3%) (-66.7 pp)\n"
        "p50 55 min (+25 min) · p90 1 h 23 min (+53 min)"
    ) in text, text
    permalink = "https://demo.slack.com/archives/C0SUPPORT/p{}".format
    b_link, c_link = permalink(b.replace(".", "")), permalink(c.replace(".", ""))
    assert (
        "*Next response breaches (2)*\n"
        f"• <{b_link}|Mon 14:30> from <@{OPS2}>: answered after 45 min (target 30 min)\n"
        f"• <{c_link}|Mon 16:10> from <@{ASK3}>: no next response yet (target 30 min)\n\n"
        "*Resolution breaches (2)*\n"
        f"• <{b_link}|Mon 14:30> from <@{OPS2}>: resolved after 1 h 30 min (target 1 h)\n"
        f"• <{c_link}|Mon 16:10> from <@{ASK3}>: still open (target 1 h)\n"
    ) in text, text
    # The first response's figures are unchanged: all four answered within 5 min.
    assert "Within target: 4 of 4 (100.0%)" in text

    # The Markdown of `firstline report` links the breaches to their messages.
    code, out, err = await run_cli(
        monkeypatch, capsys, database_url, "report", "--week", "2026-W48", "--channel", SUPPORT
    )
    assert code == 0, err
    assert (
        "## Resolution breaches (2)\n\n"
        f"- [Mon 14:30]({b_link}) from @{OPS2}: resolved after 1 h 30 min (target 1 h)\n"
        f"- [Mon 16:10]({c_link}) from @{ASK3}: still open (target 1 h)\n"
    ) in out, out
    assert "## Next response (target 30 min)\n\nMeasured: 2 · breached 2 · running 0\n" in out
    # The channel without next=/resolve= targets has neither.
    code, out, err = await run_cli(
        monkeypatch, capsys, database_url, "report", "--week", "2026-W48", "--channel", ALERTS
    )
    assert code == 0, err
    assert "## First response" in out
    assert "Next response" not in out and "Resolution" not in out
    code, out, err = await run_cli(
        monkeypatch,
        capsys,
        database_url,
        "report",
        "--week",
        "2026-W48",
        "--format",
        "json",
    )
    assert code == 0, err
    reports = {r["channel"]: r for r in json.loads(out)}
    assert reports[ALERTS]["quality"] == {}
    quality = reports[SUPPORT]["quality"]
    assert quality["next_response"]["p50"] == 27.5 * 60
    assert quality["next_response"]["previous"]["p50"] == 20 * 60
    assert quality["resolution"]["within_target_ratio"] == pytest.approx(1 / 3, abs=1e-4)
    assert [(x["requester"], x["seconds"]) for x in quality["resolution"]["breaches"]] == [
        (OPS2, 90 * 60),
        (ASK3, None),
    ]
