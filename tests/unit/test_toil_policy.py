"""Both time-off-in-lieu policies against worked examples from the handbooks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.toil.policy import (
    Handling,
    active_hours,
    call_outs,
    policy_a,
    policy_b,
    standby_hours,
)

NIGHT = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)  # a Tuesday night


def handled(minutes: float, *, closed: float | None = None, woke: bool = False) -> Handling:
    """Handled ``minutes`` after 22:00; closed ``closed`` minutes after that (None: not
    closed before the hours opened again)."""
    at = NIGHT + timedelta(minutes=minutes)
    end = None if closed is None else at + timedelta(minutes=closed)
    return Handling(received_at=at, handled_at=at, closed_at=end, woke=woke)


def test_one_alert_handled_awake_is_a_quarter_day() -> None:
    assert policy_a([handled(0)]) == 0.25


def test_one_alert_that_woke_you_is_half_a_day() -> None:
    assert policy_a([handled(0, woke=True)]) == 0.5


def test_four_alerts_in_ten_minutes_count_once() -> None:
    # The handbook's example: "4 alerts for different issues in the space of 10 minutes
    # you can only claim 0.25 days TOIL and not 1 day".
    alerts = [handled(0), handled(3), handled(7), handled(10)]
    assert len(call_outs(alerts)) == 1
    assert policy_a(alerts) == 0.25


def test_an_alert_an_hour_after_the_first_claims_again() -> None:
    assert policy_a([handled(0), handled(59)]) == 0.25
    assert policy_a([handled(0), handled(60)]) == 0.5


def test_the_hour_runs_from_the_first_alert_not_the_latest() -> None:
    # 22:50 is within the hour of 22:00; 23:40 is not (though within an hour of 22:50).
    alerts = [handled(0), handled(50), handled(100)]
    assert [len(c.handlings) for c in call_outs(alerts)] == [2, 1]
    assert policy_a(alerts) == 0.5


def test_woken_once_makes_the_whole_call_out_half_a_day() -> None:
    assert policy_a([handled(0, woke=True), handled(20)]) == 0.5


def test_work_beyond_the_first_hour_adds_a_quarter_day_per_hour() -> None:
    # Woken at 22:00, worked until 00:30: 1.5 hours beyond the first.
    assert policy_a([handled(0, closed=150, woke=True)]) == pytest.approx(0.5 + 0.25 * 1.5)
    # Exactly one hour of work earns nothing extra.
    assert policy_a([handled(0, closed=60)]) == 0.25


def test_without_a_close_a_call_out_has_no_worked_time() -> None:
    # dana acks at 04:05 and replies to another at 04:16, closes neither: 0 h worked, so
    # policy (b) owes the standby alone (not 3 × 0.183 h on top).
    at = datetime(2026, 11, 26, 4, 5, tzinfo=UTC)
    alerts = [
        Handling(received_at=at, handled_at=at),
        Handling(received_at=at + timedelta(minutes=10), handled_at=at + timedelta(minutes=11)),
    ]
    assert active_hours(alerts) == 0.0
    assert policy_b(standby=131.5, active=active_hours(alerts)) == pytest.approx(16.4375)
    # Under (a) handlings spread over two hours earn no extra without a close.
    assert policy_a([handled(0), handled(50), handled(55)]) == 0.25


def test_worked_time_runs_to_the_latest_close_not_the_latest_handling() -> None:
    # First handled 22:00, second handled 22:40 and never closed; the first closed 22:20.
    alerts = [handled(0, closed=20), handled(40)]
    assert active_hours(alerts) == pytest.approx(20 / 60)
    # The later handling closed at 23:40 makes the call-out 1 h 40 min: 40 min beyond.
    alerts = [handled(0), handled(40, closed=60)]
    assert active_hours(alerts) == pytest.approx(100 / 60)
    assert policy_a(alerts) == pytest.approx(0.25 + 0.25 * 40 / 60)


def test_a_call_out_lasts_from_its_first_handling_to_its_last_end() -> None:
    # Two alerts in one call-out; the second's work ends 3 hours after the first handling.
    alerts = [handled(0, closed=30), handled(30, closed=150)]
    assert active_hours(alerts) == pytest.approx(3.0)
    assert policy_a(alerts) == pytest.approx(0.25 + 0.25 * 2)


def test_policy_b_standby_week_outside_the_core_day() -> None:
    # A support week Wed 09:00 to Wed 09:00 (UTC), working days Mon-Fri, no holidays:
    # Wed 15 h on duty less 7.5 = 7.5; Thu, Fri, Mon, Tue 16.5 each; Sat and Sun 24 each;
    # the last Wednesday 9 h less 7.5 = 1.5. Total 123 h, at 0.125 = 15.375 h.
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    hours = standby_hours(
        [(start, start + timedelta(days=7))],
        tz="UTC",
        working_days=frozenset(range(5)),
        is_holiday=lambda day: False,
        since=datetime(2026, 11, 1, tzinfo=UTC),
        until=datetime(2026, 12, 31, tzinfo=UTC),
    )
    assert hours == pytest.approx(123.0)
    assert policy_b(standby=hours, active=0) == pytest.approx(15.375)
    # Two hours of active work add 3 hours each.
    assert policy_b(standby=hours, active=2) == pytest.approx(21.375)


def test_policy_b_holidays_count_whole_and_the_month_cuts_the_week() -> None:
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    thursday = date(2026, 11, 26)
    hours = standby_hours(
        [(start, start + timedelta(days=7))],
        tz="UTC",
        working_days=frozenset(range(5)),
        is_holiday=lambda day: day == thursday,
        since=datetime(2026, 11, 1, tzinfo=UTC),
        until=datetime(2026, 12, 1, tzinfo=UTC),  # November only: Wed 25 to Mon 30
    )
    # Wed 7.5 + Thu (holiday) 24 + Fri 16.5 + Sat 24 + Sun 24 + Mon 16.5
    assert hours == pytest.approx(112.5)


def test_policy_b_days_are_taken_in_the_team_zone_across_dst() -> None:
    # Sunday 25 October 2026 has 25 hours in Berlin: a day off, all of it standby.
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # Sun 00:00 CEST
    end = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Mon 00:00 CET
    hours = standby_hours(
        [(start, end)],
        tz="Europe/Berlin",
        working_days=frozenset(range(5)),
        is_holiday=lambda day: False,
        since=start,
        until=end,
    )
    assert hours == pytest.approx(25.0)
