"""The postmortem draft's structure, escaping and local times (across a DST change)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.incidents.postmortem import (
    ActionItem,
    HandoffRecord,
    PostmortemData,
    RoleSpan,
    TimelineItem,
    render_postmortem,
)


def data(**changes: object) -> PostmortemData:
    # Berlin leaves summer time at 03:00 local on 2026-10-25 (01:00 UTC).
    start = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    end = datetime(2026, 10, 25, 2, 0, tzinfo=UTC)  # 03:00 CET
    base = dict(
        title="Checkout fails",
        severity="sev2",
        channel="#inc-20261025-checkout-fails",
        declared_by="U1",
        declared_at=start,
        resolved_at=end,
        summary="Rolled back <@U2|beth>'s deploy",
        tz="Europe/Berlin",
        original_request="Checkout is down\nfor everyone",
        original_link="https://x.slack.com/archives/C1/p1",
        sections={"symptoms": "502 | timeouts", "root_cause": "TLS config"},
        whys=["config untested", "no canary"],
        actions=[ActionItem(1, "Add canary", "U2", False), ActionItem(2, "Roll back", None, True)],
        roles=[
            RoleSpan("commander", "U1", start, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
            RoleSpan("commander", "U2", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), None),
        ],
        handoffs=[
            HandoffRecord(
                "commander",
                "U1",
                "U2",
                datetime(2026, 10, 25, 1, 25, tzinfo=UTC),
                datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
                "going to sleep",
            )
        ],
        timeline=[
            TimelineItem(start, "U1", "declared", "Declared SEV2"),
            TimelineItem(
                datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
                "U2",
                "pinned",
                "see <https://grafana/x|the graph>",
                "https://x.slack.com/archives/C9/p2",
            ),
        ],
        names={"U1": "@alex", "U2": "@beth"},
    )
    base.update(changes)
    return PostmortemData(**base)  # type: ignore[arg-type]


def test_sections_in_order() -> None:
    text = render_postmortem(data())
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
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
    assert text.startswith("# Postmortem: Checkout fails\n")


def test_local_times_across_the_dst_change() -> None:
    text = render_postmortem(data())
    assert "2026-10-25 02:30 CEST by @alex" in text
    assert "after 1 h 30 min" in text
    assert "| 02:30 | @alex | Declared SEV2 |" in text
    link = "https://x.slack.com/archives/C9/p2"
    # 01:30 UTC is 02:30 CET, the second 02:30 of that night.
    assert f"| 02:30 | @beth | see [the graph](https://grafana/x) ([link]({link})) |" in text


def test_markup_escaping_checklists_and_handoffs() -> None:
    text = render_postmortem(data())
    assert "Rolled back @beth's deploy" in text
    assert (
        "502 \\| timeouts" not in text and "502 | timeouts" in text
    )  # sections are prose, not cells
    assert "> Checkout is down\n> for everyone" in text
    assert "- [ ] 1. Add canary (@beth)" in text and "- [x] 2. Roll back" in text
    assert "1. config untested\n2. no canary" in text
    assert "confirmed at 02:30 (after 5 min): going to sleep" in text
    assert "## Scope\n\nTBD" in text


def test_table_cells_escape_pipes_and_unresolved_incidents() -> None:
    item = TimelineItem(datetime(2026, 10, 25, 0, 40, tzinfo=UTC), None, "note", "a | b\nc")
    text = render_postmortem(data(timeline=[item], resolved_at=None, handoffs=[]))
    assert "| 02:40 | Firstline | a \\| b c |" in text
    assert "**Resolved:** not yet" in text
