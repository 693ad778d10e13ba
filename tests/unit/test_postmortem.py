"""The postmortem draft: structure, tables, checklists, escaping and local times across DST."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.incidents.postmortem import (
    ActionItem,
    HandoffRecord,
    PostmortemData,
    RoleSpan,
    TimelineItem,
    format_span,
    render_postmortem,
)

HEADINGS = [
    "## Summary",
    "## Timeline",
    "## Roles and handoffs",
    "## Original request",
    "## Symptoms",
    "## Scope",
    "## Root cause(s)",
    "## Fixes for symptoms",
    "## Fixes for root cause",
    "## Whys",
    "## Prevention / mitigation",
    "## Actions",
]


def utc(day: int, hour: int, minute: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def data(**changes: Any) -> PostmortemData:
    """An incident in Berlin on the night summer time ends: 03:00 CEST becomes 02:00 CET
    at 01:00 UTC on 2026-10-25, so 00:30 UTC is 02:30 CEST and 01:30 UTC is 02:30 CET."""
    start, end = utc(25, 0, 30), utc(25, 2, 0)
    base: dict[str, Any] = dict(
        title="Checkout fails",
        severity="sev2",
        channel="#inc-20261025-checkout-fails",
        declared_by="U1",
        declared_at=start,
        resolved_at=end,
        summary="Rolled back <@U2|beth>'s deploy",
        tz="Europe/Berlin",
        original_request="Checkout is down\n\nfor everyone <!here>",
        original_link="https://x.slack.com/archives/C1/p1",
        sections={"symptoms": "502 | timeouts", "root_cause": "TLS config", "scope": "  \n"},
        whys=["config untested", "no canary"],
        actions=[ActionItem(2, "Roll back", None, True), ActionItem(1, "Add canary", "U2", False)],
        roles=[
            RoleSpan("commander", "U1", start, utc(25, 1, 30)),
            RoleSpan("commander", "U2", utc(25, 1, 30), None),
            RoleSpan("communications", "U3", utc(25, 0, 35), None),
        ],
        handoffs=[
            HandoffRecord(
                "commander", "U1", "U2", utc(25, 1, 25), utc(25, 1, 30), "going to sleep"
            ),
            HandoffRecord("operations", None, "U3", utc(25, 1, 40), None),
        ],
        timeline=[
            TimelineItem(
                utc(25, 1, 30),
                "U2",
                "pinned",
                "see <https://grafana.example/d/x|the graph>",
                "https://x.slack.com/archives/C9/p2",
            ),
            TimelineItem(start, "U1", "declared", "Declared SEV2: Checkout fails"),
            TimelineItem(utc(25, 1, 50), None, "resolved", "Resolved"),
        ],
        names={"U1": "@alex", "U2": "@beth"},
    )
    base.update(changes)
    return PostmortemData(**base)


def lines_under(text: str, heading: str) -> list[str]:
    """The non-empty lines of one section, up to the next "## " heading."""
    after = text.split(f"\n{heading}\n", 1)[1]
    return [line for line in after.split("\n## ", 1)[0].splitlines() if line]


def test_headings_come_in_order() -> None:
    text = render_postmortem(data())
    assert text.startswith("# Postmortem: Checkout fails\n\n")
    assert [line for line in text.splitlines() if line.startswith("## ")] == HEADINGS
    assert [line for line in text.splitlines() if line.startswith("# ")] == [
        "# Postmortem: Checkout fails"
    ]
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_header_block() -> None:
    header = render_postmortem(data()).split("\n## ", 1)[0].splitlines()
    assert header[2:] == [
        "- **Severity:** SEV2",
        "- **Declared:** 2026-10-25 02:30 CEST by @alex",
        "- **Resolved:** 2026-10-25 03:00 CET",
        "- **Duration:** 1 h 30 min",
        "- **Channel:** #inc-20261025-checkout-fails",
        "- **Time zone:** Europe/Berlin",
    ]


def test_timeline_is_a_table_in_local_time_across_the_dst_change() -> None:
    rows = lines_under(render_postmortem(data()), "## Timeline")
    link = "https://x.slack.com/archives/C9/p2"
    assert rows == [
        "| time | who | what |",
        "|---|---|---|",
        "| 02:30 | @alex | Declared SEV2: Checkout fails |",
        # The second 02:30 of the night: after the change, so it carries its zone.
        f"| 02:30 CET | @beth | see [the graph](https://grafana.example/d/x) ([link]({link})) |",
        "| 02:50 CET | Firstline | Resolved |",
    ]


def test_the_zone_is_named_once_when_the_offset_does_not_change() -> None:
    winter = data(
        declared_at=utc(14, 9, 0, month=1),
        resolved_at=utc(14, 10, 25, month=1),
        timeline=[TimelineItem(utc(14, 9, 5, month=1), "U1", "note", "Paging DB team")],
        roles=[],
        handoffs=[],
    )
    text = render_postmortem(winter)
    assert text.count("CET") == 1 and "- **Declared:** 2026-01-14 10:00 CET by @alex" in text
    assert "- **Resolved:** 2026-01-14 11:25\n- **Duration:** 1 h 25 min" in text
    assert "| 10:05 | @alex | Paging DB team |" in text


def test_dates_appear_when_the_incident_spans_days() -> None:
    overnight = data(
        tz="America/New_York",
        declared_at=utc(14, 3, 50, month=1),  # 22:50 EST on the 13th
        resolved_at=utc(14, 6, 10, month=1),  # 01:10 on the 14th
        timeline=[TimelineItem(utc(14, 3, 55, month=1), "U1", "note", "Paging DB team")],
        roles=[RoleSpan("commander", "U1", utc(14, 3, 50, month=1), None)],
        handoffs=[],
    )
    text = render_postmortem(overnight)
    assert "- **Declared:** 2026-01-13 22:50 EST by @alex" in text
    assert "- **Resolved:** 2026-01-14 01:10\n- **Duration:** 2 h 20 min" in text
    assert "| 2026-01-13 22:55 | @alex | Paging DB team |" in text
    assert "| commander | @alex | 2026-01-13 22:50 | the end | 2 h 20 min |" in text


def test_roles_and_handoffs() -> None:
    lines = lines_under(render_postmortem(data()), "## Roles and handoffs")
    assert lines == [
        "### Who held each role",
        "| role | who | from | to | held for |",
        "|---|---|---|---|---|",
        "| commander | @alex | 02:30 | 02:30 CET | 1 h |",
        "| communications | @U3 | 02:35 | the end | 1 h 25 min |",
        "| commander | @beth | 02:30 CET | the end | 30 min |",
        "### Handoffs",
        "| role | from | to | requested | confirmed | took | note |",
        "|---|---|---|---|---|---|---|",
        "| commander | @alex | @beth | 02:25 CET | 02:30 CET | 5 min | going to sleep |",
        "| operations | – | @U3 | 02:40 CET | **not confirmed** | – |  |",
    ]


def test_ticket_sections_whys_and_actions() -> None:
    text = render_postmortem(data())
    assert lines_under(text, "## Summary") == ["Rolled back @beth's deploy"]
    assert lines_under(text, "## Original request") == [
        "> Checkout is down",
        ">",
        "> for everyone @here",
        "[Original message](https://x.slack.com/archives/C1/p1)",
    ]
    assert lines_under(text, "## Symptoms") == ["502 | timeouts"]  # prose, not a cell
    assert lines_under(text, "## Scope") == ["TBD"]  # blank counts as missing
    assert lines_under(text, "## Root cause(s)") == ["TLS config"]
    assert lines_under(text, "## Fixes for root cause") == ["TBD"]
    assert lines_under(text, "## Whys") == ["1. config untested", "2. no canary"]
    assert lines_under(text, "## Prevention / mitigation") == ["TBD"]
    assert lines_under(text, "## Actions") == [
        "- [ ] 1. Add canary (owner: @beth)",
        "- [x] 2. Roll back (no owner)",
    ]


def test_cells_escape_pipes_and_flatten_lines() -> None:
    item = TimelineItem(utc(25, 0, 40), "U9", "note", "a | b\nc <https://x.io/a|b|c>")
    text = render_postmortem(data(timeline=[item], names={"U9": "@zo|e"}))
    assert "| 02:40 | @zo\\|e | a \\| b c [b\\|c](https://x.io/a) |" in text


def test_slack_markup_is_neutralised() -> None:
    summary = (
        "<@U1> and <@U8|zoe> and <@U7> in <#C1|general>, <#C2>; <!subteam^S1|@oncall> "
        "<!channel> <https://x.io/p?q=(1)> <https://x.io/a b|the [docs]> <mailto:a@x.io|a@x.io>"
    )
    [line] = lines_under(render_postmortem(data(summary=summary)), "## Summary")
    assert line == (
        "@alex and @zoe and @U7 in #general, #C2; @oncall @channel <https://x.io/p?q=%281%29> "
        "[the \\[docs\\]](https://x.io/a%20b) [a@x.io](mailto:a@x.io)"
    )


def test_free_text_cannot_break_the_structure() -> None:
    sections = {"symptoms": "## Root cause\nslow\n---", "root_cause": "# oops\n==="}
    text = render_postmortem(
        data(sections=sections, whys=["# why"], title="Bad\n## title", summary="#1 fire")
    )
    assert [line for line in text.splitlines() if line.startswith("## ")] == HEADINGS
    assert text.startswith("# Postmortem: Bad ## title\n")
    assert lines_under(text, "## Symptoms") == ["\\## Root cause", "slow", "\\---"]
    assert lines_under(text, "## Whys") == ["1. \\# why"]


def test_unresolved_incidents_and_empty_parts() -> None:
    text = render_postmortem(
        data(
            resolved_at=None,
            original_request=None,
            original_link=None,
            sections={},
            whys=[],
            actions=[],
            timeline=[],
            roles=[RoleSpan("commander", "U1", utc(25, 0, 30), None)],
            handoffs=[],
        )
    )
    assert "- **Resolved:** not yet\n- **Duration:** ongoing" in text
    assert "| commander | @alex | 02:30 | still held | – |" in text
    assert "### Handoffs" not in text
    assert lines_under(text, "## Timeline") == ["Nothing was recorded."]
    assert lines_under(text, "## Original request") == [
        "Declared by command; there is no original message."
    ]
    for heading in HEADINGS[4:11]:
        assert lines_under(text, heading) == ["TBD"], heading
    assert lines_under(text, "## Actions") == ["None recorded."]
    assert lines_under(render_postmortem(data(roles=[], handoffs=[])), "## Roles and handoffs") == [
        "No roles were assigned."
    ]


def test_output_is_deterministic_whatever_the_input_order() -> None:
    first = data()
    shuffled = dataclasses.replace(
        first,
        timeline=list(reversed(first.timeline)),
        roles=list(reversed(first.roles)),
        handoffs=list(reversed(first.handoffs)),
        actions=list(reversed(first.actions)),
    )
    assert render_postmortem(first) == render_postmortem(first) == render_postmortem(shuffled)


def test_naive_times_are_utc_not_the_machines_zone() -> None:
    naive = data(declared_at=datetime(2026, 10, 25, 0, 30), timeline=[], roles=[], handoffs=[])
    assert "- **Declared:** 2026-10-25 02:30 CEST by @alex" in render_postmortem(naive)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5100, "1 h 25 min"), (45, "45 s"), (432, "7 min 12 s"), (3600, "1 h"), (-3, "0 s")],
)
def test_format_span(seconds: float, text: str) -> None:
    assert format_span(seconds) == text
