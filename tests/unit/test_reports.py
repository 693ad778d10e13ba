"""Report pieces without a server: the grammar, ISO weeks, grouping, budget arithmetic, charts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import UsageError
from bot.grammar import parse_support
from bot.reports.charts import EMPTY, heatmap_figure, heatmap_png, per_day_png, text_colour
from bot.reports.commands import ReportCommand
from bot.reports.figures import recurring_key
from bot.reports.slo import Budget, Counts, Objective, parse_objective
from bot.reports.weeks import IsoWeek


def test_report_and_slo_commands_parse_with_helpful_errors() -> None:
    assert parse_support("report") == ReportCommand("report")
    assert parse_support("report last") == ReportCommand("report", week="last")
    assert parse_support("report 2026-W48") == ReportCommand("report", week="2026-W48")
    assert parse_support("slo") == ReportCommand("slo")
    assert parse_support("slo set 99.5% 7d") == ReportCommand("slo_set", args=("99.5%", "7d"))
    with pytest.raises(UsageError, match="Write it as 2026-W48"):
        parse_support("report 2026-W54")
    with pytest.raises(UsageError, match="one week at most"):
        parse_support("report 2026-W48 2026-W49")
    with pytest.raises(UsageError, match="slo set 95% 28d"):
        parse_support("slo set 95")
    with pytest.raises(UsageError, match="/support slo set 95% 28d to change it"):
        parse_support("slo show")


def test_objectives_parse_in_either_order_with_defaults() -> None:
    assert parse_objective(["28d", "99%"]) == Objective(0.99, 28)
    assert parse_objective(["90%"]) == Objective(0.9, 28)
    assert parse_objective(["7d"]) == Objective(0.95, 7)
    with pytest.raises(UsageError, match="from 50% to below 100%"):
        parse_objective(["100%"])
    with pytest.raises(UsageError, match="1 to 365 days"):
        parse_objective(["0d"])


def test_iso_weeks_follow_local_midnight_across_daylight_saving_and_years() -> None:
    # Berlin leaves summer time on Sunday 25 October 2026: that week has 169 hours.
    start, end = IsoWeek(2026, 43).bounds("Europe/Berlin")
    assert end - start == timedelta(hours=169)
    assert start.isoformat() == "2026-10-18T22:00:00+00:00"
    assert IsoWeek(2027, 1).previous() == IsoWeek(2026, 53)
    assert IsoWeek(2026, 53).next() == IsoWeek(2027, 1)
    assert str(IsoWeek.parse("2026w5")) == "2026-W05"


def test_recurring_requests_group_rewordings_but_not_different_questions() -> None:
    assert recurring_key("How do I reset my password?") == recurring_key(
        "Hi <@U123>, how do I RESET my password??"
    )
    assert recurring_key("Order 4711 stuck") == recurring_key("order 12 stuck!")
    assert recurring_key("reset my password") != recurring_key("reset my 2FA device")


def test_budget_left_and_when_it_counts_as_spent() -> None:
    objective = Objective(0.95, 28)

    def budget(decided: int, missed: int) -> Budget:
        return Budget(objective, Counts(decided, missed), burn={}, firing=())

    assert budget(40, 1).left == pytest.approx(0.5)
    assert not budget(40, 1).spent
    assert budget(40, 2).left == pytest.approx(0.0) and budget(40, 2).spent
    assert budget(0, 0).left == 1.0
    # With fewer than 1/(1-95%) = 20 decided requests one miss is not "the budget spent".
    assert budget(19, 1).left < 0 and not budget(19, 1).spent
    assert budget(20, 1).spent


def test_charts_are_png_deterministic_and_follow_the_data() -> None:
    matrix = [[0] * 24 for _ in range(7)]
    matrix[1][16] = 6
    first = heatmap_png(matrix, title="t")
    assert first.startswith(b"\x89PNG") and first == heatmap_png(matrix, title="t")
    matrix[1][16], matrix[4][9] = 0, 6
    assert heatmap_png(matrix, title="t") != first
    bars = per_day_png([("2026-11-23", 3), ("2026-11-24", 0)] + [("2026-11-25", 1)] * 5, title="t")
    assert bars.startswith(b"\x89PNG")


def test_heatmap_cells_are_readable_and_the_scale_counts_whole_requests() -> None:
    from matplotlib.colors import to_hex, to_rgba

    matrix = [[0] * 24 for _ in range(7)]
    matrix[1][16], matrix[1][17], matrix[2][9], matrix[3][3] = 9, 5, 1, 2
    figure = heatmap_figure(matrix, title="Requests by hour of week in #support, 2026-W48")
    axes = figure.axes[0]
    assert "#support" in axes.get_title() and "2026-W48" in axes.get_title()
    image = axes.images[0]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in axes.texts}
    for (day, hour), text in texts.items():
        cell = image.cmap(image.norm(matrix[day][hour]))
        # Every printed count contrasts with its own cell by WCAG's ratio of at least 4.5.
        assert _contrast(cell, to_rgba(text.get_color())) >= 4.5, (day, hour, text.get_color())
    assert texts[(1, 16)].get_color() == "white"  # the busiest cell: dark red, white text
    assert texts[(2, 9)].get_color() == "black"
    # An empty cell is white; a single request is clearly coloured.
    one = image.cmap(image.norm(1))
    assert to_hex(image.cmap.get_bad()) == EMPTY
    assert _contrast(one, to_rgba(EMPTY)) > 1.15 and to_hex(one) != EMPTY
    # The colour scale is ticked in whole requests.
    ticks = [t for t in figure.axes[1].get_yticks() if 1 <= t <= 9]
    assert ticks and all(float(t).is_integer() for t in ticks)


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    def lum(c: tuple[float, ...]) -> float:
        lin = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in c[:3]]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colour_follows_luminance() -> None:
    assert text_colour((0.5, 0.0, 0.15, 1.0)) == "white"  # dark red
    assert text_colour((1.0, 1.0, 0.8, 1.0)) == "black"  # pale yellow


def test_long_messages_become_several_sections_split_between_lines() -> None:
    from bot.content import Content
    from handlers.slack.blocks import render_blocks

    lines = [f"• line {n} " + "x" * 90 for n in range(80)]
    blocks = render_blocks(Content(text="\n".join(lines)), base_url="https://x.slack.com/")
    texts = [b["text"]["text"] for b in blocks]
    assert len(texts) == 3 and all(len(t) <= 3000 for t in texts)
    assert "\n".join(texts).split("\n") == lines  # nothing lost, no line cut
    assert render_blocks(Content(text="short"), base_url="")[0]["text"]["text"] == "short"
