"""What the weekly report says when it has more breaches than a Slack message lists."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.reports.figures import TOP_BREACHES, Breach, WeeklyReport
from bot.reports.messages import SLACK_BREACHES, report_content, report_markdown
from bot.reports.weeks import IsoWeek

FIGURES = {
    "requests": 30,
    "responded": 30,
    "unanswered": 0,
    "closed": 30,
    "within_target": 5,
    "breached": 25,
    "within_target_ratio": 5 / 30,
    "first_response_seconds": {"p50": 600.0, "p90": 900.0, "max": 1200.0},
    "time_to_close_seconds": {"p50": 3600.0, "p90": 7200.0},
}


def a_week_with_25_breaches_of_each_clock() -> WeeklyReport:
    week = IsoWeek(2026, 48)
    since, until = week.bounds("UTC")
    breaches = [
        Breach(
            ts=f"{1795420800 + 60 * i}.000000",
            requester=f"UASK{i}",
            target_seconds=300,
            first_response_seconds=600.0,
            responder="UANNA",
        )
        for i in range(25)
    ]
    clock = {
        "target_seconds": 1800,
        "measured": 25,
        "within_target": 0,
        "breached": 25,
        "running": 0,
        "p50": 3600.0,
        "p90": 3600.0,
        "within_target_ratio": 0.0,
        "previous": {"within_target_ratio": None, "p50": None, "p90": None},
        "breaches": [
            {"ts": b.ts, "requester": b.requester, "seconds": 3600.0, "target_seconds": 1800}
            for b in breaches[:TOP_BREACHES]
        ],
        "breach_count": 25,
    }
    return WeeklyReport(
        workspace_id="T1",
        channel_id="C1",
        kind="requests",
        tz="UTC",
        week=week,
        since=since,
        until=until,
        now=datetime(2026, 11, 30, 9, tzinfo=UTC),
        figures=FIGURES,
        previous={**FIGURES, "requests": 0},
        per_day=[(d.isoformat(), 0) for d in week.days()],
        heatmap=[[0] * 24 for _ in range(7)],
        breaches=breaches[:TOP_BREACHES],
        breach_count=25,
        escalations=[],
        recurring=[],
        incidents=[],
        quality={"next_response": clock},
    )


def test_slack_lists_ten_breaches_and_counts_the_rest_from_the_total() -> None:
    report = a_week_with_25_breaches_of_each_clock()
    text = report_content(report).text
    for heading in ("*Breaches (25)*", "*Next response breaches (25)*"):
        section = text.split(heading + "\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert len(section) == SLACK_BREACHES + 1
        assert section[-1] == f"…and {25 - SLACK_BREACHES} more."  # not the 20 lines' 11
    # Markdown lists the first TOP_BREACHES and says how many more there were.
    markdown = report_markdown([report])
    assert f"…and {25 - TOP_BREACHES} more." in markdown
    assert markdown.count("answered after 1 h (target 30 min)") == TOP_BREACHES
