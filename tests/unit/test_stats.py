"""Percentiles as numpy computes them, and the breach rule for unanswered requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bot.stats import Figures, percentile

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@given(
    st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=1, max_size=60),
    st.sampled_from([0, 10, 50, 90, 99, 100]),
)
def test_percentile_matches_numpy_default(values: list[float], q: int) -> None:
    assert percentile(values, q) == __import__("pytest").approx(
        float(np.percentile(values, q)), rel=1e-9, abs=1e-6
    )


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 50) is None


def row(**kw: object) -> SimpleNamespace:
    base = dict(
        first_response_seconds=None,
        target_seconds=300,
        deadline_at=NOW,
        closed_at=None,
        close_seconds=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def test_breach_rules() -> None:
    f = Figures()
    f.add(row(first_response_seconds=300.0), NOW)  # exactly on target: within
    f.add(row(first_response_seconds=300.5), NOW)  # later: breached
    f.add(row(deadline_at=NOW - timedelta(seconds=1)), NOW)  # unanswered, target passed
    f.add(row(deadline_at=NOW + timedelta(seconds=1)), NOW)  # unanswered, still in time
    f.add(row(deadline_at=NOW - timedelta(minutes=1), closed_at=NOW - timedelta(minutes=2)), NOW)
    data = f.to_dict()
    assert data["requests"] == 5 and data["responded"] == 2
    assert data["within_target"] == 1 and data["breached"] == 2
    assert data["within_target_ratio"] == 0.3333
    assert data["first_response_seconds"] == {"p50": 300.25, "p90": 300.45, "max": 300.5}


def test_a_request_answered_but_not_closed_is_not_unanswered() -> None:
    figures = Figures()
    answered = SimpleNamespace(
        first_response_seconds=60.0,
        target_seconds=300,
        deadline_at=NOW,
        closed_at=None,
        close_seconds=None,
    )
    waiting = SimpleNamespace(
        first_response_seconds=None,
        target_seconds=300,
        deadline_at=NOW + timedelta(hours=1),
        closed_at=None,
        close_seconds=None,
    )
    for row in (answered, answered, waiting):
        figures.add(row, NOW)
    data = figures.to_dict()
    assert (data["responded"], data["unanswered"], data["closed"], data["not_closed"]) == (
        2,
        1,
        0,
        3,
    )
    assert "open" not in data  # ambiguous: "not answered" or "not closed"?


def test_stats_dates_are_whole_days_in_the_channel_zone() -> None:
    import pytest

    from bot.errors import UsageError
    from bot.stats import window_bound

    berlin = "Europe/Berlin"
    assert window_bound("2026-11-01", tz=berlin, end=False) == datetime(
        2026, 10, 31, 23, 0, tzinfo=UTC
    )
    # --until's day is included: up to the next midnight in Berlin.
    assert window_bound("2026-11-30", tz=berlin, end=True) == datetime(
        2026, 11, 30, 23, 0, tzinfo=UTC
    )
    assert window_bound("2026-11-30T12:00", tz=berlin, end=True) == datetime(
        2026, 11, 30, 11, 0, tzinfo=UTC
    )
    assert window_bound("2026-11-30T12:00+00:00", tz=berlin, end=True) == datetime(
        2026, 11, 30, 12, 0, tzinfo=UTC
    )
    with pytest.raises(UsageError, match="2026-11-01"):
        window_bound("yesterday", tz=berlin, end=False)
