"""Business hours: reading hours=/tz=/holidays=, and the open-time arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.hours import MAX_CLOSED_DAYS, BusinessHours

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)
HOUR = 3600.0


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def desk(spec: str = "Mon-Fri 10:00-18:00", holidays: str | None = "DE") -> BusinessHours:
    return BusinessHours.parse(spec, tz="Europe/Berlin", holidays=holidays)


# --------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Mon-Fri 10:00-18:00", "Mon-Fri 10:00-18:00"),
        ("Mon-Thu 09:00-17:30, Fri 09:00-15:00", "Mon-Thu 09:00-17:30, Fri 09:00-15:00"),
        ("Mon,Wed,Fri 8:00-12:00", "Mon,Wed,Fri 08:00-12:00"),
        ("Sat-Sun 10:00-14:00", "Sat-Sun 10:00-14:00"),
        ("mon-FRI 9:00-17:00", "Mon-Fri 09:00-17:00"),
        ("Monday-Friday 09:00-17:00", "Mon-Fri 09:00-17:00"),
        ("Tues,Thurs 9-17", "Tue,Thu 09:00-17:00"),
        ("Mon - Fri 9:00 - 17:00", "Mon-Fri 09:00-17:00"),
        ("Mon-Fri 9.30-17", "Mon-Fri 09:30-17:00"),
        ("Mon-Fri 00:00-24:00", "Mon-Fri 00:00-24:00"),
        ("Mon-Fri 9-17 Sat 10-14", "Mon-Fri 09:00-17:00, Sat 10:00-14:00"),
        ("Mon-Fri 9-12; Mon-Fri 13-17", "Mon-Fri 09:00-12:00, Mon-Fri 13:00-17:00"),
        ("Mon-Fri 9-12, Mon-Fri 12-17", "Mon-Fri 09:00-17:00"),
        ("Fri-Mon 10-18", "Mon,Fri-Sun 10:00-18:00"),
        ("Mon-Wed,Fri 9-17", "Mon-Wed,Fri 09:00-17:00"),
        ('"Mon\u2013Fri 10:00-18:00"', "Mon-Fri 10:00-18:00"),
        ("\u201cMon-Fri 10:00-18:00\u201d", "Mon-Fri 10:00-18:00"),
    ],
)
def test_parse_reads_variants_and_stores_canonical_text(typed: str, stored: str) -> None:
    hours = BusinessHours.parse(typed)
    assert hours.spec == stored
    assert not hours.always
    assert BusinessHours.parse(hours.spec).spec == stored


@pytest.mark.parametrize("typed", ["always", "ALWAYS", '"always"', "24/7", "24x7", " always "])
def test_parse_always(typed: str) -> None:
    hours = BusinessHours.parse(typed, tz="Europe/Berlin", holidays="DE")
    assert hours.always
    assert hours.spec == "always"
    assert hours.describe() == "always"


def test_parse_defaults() -> None:
    hours = BusinessHours.parse()
    assert (hours.always, hours.spec, hours.tz, hours.holidays_code) == (
        True,
        "always",
        "UTC",
        None,
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", 'hours: nothing given. Write hours=always or hours="Mon-Fri 10:00-18:00".'),
        (
            "Mon-Fry 10-18",
            'hours: I can\'t read "Mon-Fry 10-18": "Fry" isn\'t a day. Use Mon, Tue, Wed, Thu, '
            'Fri, Sat, Sun or full names, e.g. hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "xyz",
            'hours: I can\'t read "xyz". Write hours=always or hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri 9-17, xyz 1",
            'hours: I can\'t read "Mon-Fri 9-17, xyz 1" at "xyz 1". '
            'Write hours=always or hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri 9-17, Bob",
            'hours: I can\'t read "Mon-Fri 9-17, Bob" at "Bob". '
            'Write hours=always or hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri",
            'hours: I can\'t read "Mon-Fri": "Mon-Fri" has no times. Add them, e.g. '
            'hours="Mon-Fri 10:00-18:00", or write hours=always.',
        ),
        (
            "Mon-Fri 9-17, Sat",
            'hours: I can\'t read "Mon-Fri 9-17, Sat": "Sat" has no times. Add them, e.g. '
            'hours="Mon-Fri 10:00-18:00", or write hours=always.',
        ),
        (
            "Mon-Fri 10:00-25:00",
            'hours: I can\'t read "Mon-Fri 10:00-25:00": "25:00" isn\'t a time of day '
            '(use 00:00 to 24:00). Write hours=always or hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri 10:60-12:00",
            'hours: I can\'t read "Mon-Fri 10:60-12:00": "10:60" isn\'t a time of day '
            '(use 00:00 to 24:00). Write hours=always or hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri 10:00-24:30",
            'hours: I can\'t read "Mon-Fri 10:00-24:30": "24:30" isn\'t a time of day '
            '(use 00:00 to 24:00). Write hours=always or hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri 24:00-24:00",
            "hours: I can't read \"Mon-Fri 24:00-24:00\": a day can't open at 24:00 "
            "(24:00 only closes one). Write hours=always or "
            'hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri 10:00-10:00",
            'hours: I can\'t read "Mon-Fri 10:00-10:00": 10:00-10:00 is empty, the end must '
            'come after the start. Write hours=always or hours="Mon-Fri 10:00-18:00".',
        ),
        (
            "Mon-Fri 22:00-06:00",
            'hours: I can\'t read "Mon-Fri 22:00-06:00": 22:00-06:00 runs past midnight, and '
            "hours must end on the day they start. Split it at midnight, e.g. "
            'hours="Mon-Fri 22:00-24:00, Tue-Sat 00:00-06:00".',
        ),
        (
            "Mon-Fri 9-17, Fri 9-15",
            'hours: I can\'t read "Mon-Fri 9-17, Fri 9-15": Fri has overlapping hours '
            '("Fri 9-15" and "Mon-Fri 9-17"). Give each day its hours once, e.g. '
            'hours="Mon-Thu 09:00-17:30, Fri 09:00-15:00".',
        ),
    ],
)
def test_parse_rejects_bad_hours_with_a_message(typed: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        BusinessHours.parse(typed)
    assert caught.value.message == message


def test_parse_rejects_single_letter_day() -> None:
    with pytest.raises(UsageError, match='"M" isn\'t a day'):
        BusinessHours.parse("M-T 9-17")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "Europe/Berln",
            'tz: I don\'t know the time zone "Europe/Berln". Did you mean tz=Europe/Berlin? '
            "Use an IANA name such as tz=Europe/Berlin or tz=America/New_York.",
        ),
        (
            "Berlin",
            'tz: I don\'t know the time zone "Berlin". Did you mean tz=Europe/Berlin? '
            "Use an IANA name such as tz=Europe/Berlin or tz=America/New_York.",
        ),
        (
            "Mars/Olympus_Mons",
            'tz: I don\'t know the time zone "Mars/Olympus_Mons". '
            "Use an IANA name such as tz=Europe/Berlin or tz=America/New_York.",
        ),
        (
            "",
            'tz: I don\'t know the time zone "". '
            "Use an IANA name such as tz=Europe/Berlin or tz=America/New_York.",
        ),
        (
            "../etc/passwd",
            'tz: I don\'t know the time zone "../etc/passwd". '
            "Use an IANA name such as tz=Europe/Berlin or tz=America/New_York.",
        ),
        (
            "Europe",
            'tz: I don\'t know the time zone "Europe". '
            "Use an IANA name such as tz=Europe/Berlin or tz=America/New_York.",
        ),
    ],
)
def test_parse_rejects_bad_time_zone_with_a_message(typed: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        BusinessHours.parse("Mon-Fri 10:00-18:00", tz=typed)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("America/New York", "America/New_York"),
        ("UTC", "UTC"),
    ],
)
def test_parse_accepts_time_zones_ignoring_case(typed: str, zone: str) -> None:
    assert BusinessHours.parse(tz=typed).tz == zone


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("DE-BE", "DE-BE"),
        ("de-be", "DE-BE"),
        ("GB-SCT", "GB-SCT"),
        ("US-CA", "US-CA"),
        (None, None),
        ("", None),
        ("none", None),
        ("NO", "NO"),  # Norway, not "no holidays"
        ("DE-augsburg", "DE-Augsburg"),
    ],
)
def test_parse_accepts_holiday_codes(typed: str | None, code: str | None) -> None:
    assert desk(holidays=typed).holidays_code == code


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "XX",
            'holidays: I don\'t know the country code "XX". Use a country code, optionally '
            "with a region, such as holidays=DE or holidays=DE-BE (or holidays=none).",
        ),
        (
            "Germany",
            'holidays: I don\'t know the country code "Germany". Use a country code, optionally '
            "with a region, such as holidays=DE or holidays=DE-BE (or holidays=none).",
        ),
        (
            "xx-by",
            'holidays: I don\'t know the country code "XX" in "xx-by". Use a country code, '
            "optionally with a region, such as holidays=DE or holidays=DE-BE (or holidays=none).",
        ),
        (
            "IS-1",
            'holidays: IS has no regions in the holiday calendar, so "IS-1" can\'t be used. '
            "Write holidays=IS.",
        ),
    ],
)
def test_parse_rejects_bad_holiday_codes_with_a_message(typed: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        desk(holidays=typed)
    assert caught.value.message == message


def test_parse_rejects_unknown_region_listing_the_known_ones() -> None:
    with pytest.raises(UsageError) as caught:
        desk(holidays="DE-XY")
    message = caught.value.message
    assert message.startswith('holidays: DE has no region "XY". Its regions are ')
    assert "BE" in message and "BY" in message
    assert message.endswith("or holidays=DE.")


def test_describe_and_stored_round_trip() -> None:
    hours = desk()
    assert hours.describe() == "Mon-Fri 10:00-18:00 Europe/Berlin, closed on DE public holidays"
    assert desk(holidays=None).describe() == "Mon-Fri 10:00-18:00 Europe/Berlin"
    stored = hours.to_dict()
    assert stored == {"spec": "Mon-Fri 10:00-18:00", "tz": "Europe/Berlin", "holidays": "DE"}
    again = BusinessHours.from_stored(**stored)  # type: ignore[arg-type]
    assert again == hours
    assert hash(again) == hash(hours)
    assert BusinessHours.from_stored(**stored) is again  # type: ignore[arg-type]


def test_from_stored_puts_holiday_codes_in_canonical_form() -> None:
    hours = BusinessHours.from_stored("Mon-Fri 10:00-18:00", "Europe/Berlin", "de-augsburg")
    assert hours.holidays_code == "DE-Augsburg"
    saturday = BusinessHours.from_stored("Sat 10:00-18:00", "Europe/Berlin", "DE-AUGSBURG")
    assert not saturday.is_open(berlin(2026, 8, 8, 12))  # Augsburg's Peace Festival


def test_from_stored_always_keeps_settings() -> None:
    hours = BusinessHours.from_stored("always", "Europe/Berlin", "")
    assert hours.always
    assert hours.tz == "Europe/Berlin"
    assert hours.holidays_code is None


# --------------------------------------------------------------------- is_open


def test_is_open_boundaries() -> None:
    hours = desk()
    monday = (2026, 11, 23)
    assert hours.is_open(berlin(*monday, 10, 0))
    assert not hours.is_open(berlin(*monday, 10, 0) - US)
    assert hours.is_open(berlin(*monday, 18, 0) - US)
    assert not hours.is_open(berlin(*monday, 18, 0))
    assert not hours.is_open(berlin(2026, 11, 22, 12, 0))  # Sunday
    assert not hours.is_open(berlin(2026, 12, 25, 12, 0))  # Christmas, a Friday
    assert hours.is_open(berlin(2026, 12, 25, 12, 0).astimezone(UTC) - timedelta(days=1))


def test_is_open_until_midnight_with_24_00() -> None:
    hours = desk("Mon 00:00-24:00", holidays=None)
    assert hours.is_open(berlin(2026, 11, 23, 0, 0))
    assert hours.is_open(berlin(2026, 11, 24, 0, 0) - US)
    assert not hours.is_open(berlin(2026, 11, 24, 0, 0))
    assert not hours.is_open(berlin(2026, 11, 23, 0, 0) - US)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 23, 12, 0)
    aware = naive.replace(tzinfo=UTC)
    for hours in (desk(), BusinessHours.parse()):
        with pytest.raises(ValueError, match="naive"):
            hours.is_open(naive)
        with pytest.raises(ValueError, match="naive"):
            hours.elapsed(naive, aware)
        with pytest.raises(ValueError, match="naive"):
            hours.elapsed(aware, naive)
        with pytest.raises(ValueError, match="naive"):
            hours.add(naive, 60)
        with pytest.raises(ValueError, match="naive"):
            hours.next_opening(naive)


# --------------------------------------------------------------------- elapsed


@pytest.mark.parametrize(
    ("start", "end", "hours_open"),
    [
        (berlin(2026, 11, 23, 11, 0), berlin(2026, 11, 23, 12, 30), 1.5),  # within a day
        (berlin(2026, 11, 23, 17, 0), berlin(2026, 11, 24, 11, 0), 2),  # across a night
        (berlin(2026, 11, 20, 17, 0), berlin(2026, 11, 23, 11, 0), 2),  # across a weekend
        (berlin(2026, 11, 21, 9, 0), berlin(2026, 11, 22, 20, 0), 0),  # all weekend
        (berlin(2026, 11, 23, 6, 0), berlin(2026, 11, 23, 22, 0), 8),  # a whole day
        (berlin(2026, 11, 23, 6, 0), berlin(2026, 11, 30, 6, 0), 40),  # a whole week
        (berlin(2026, 12, 24, 17, 0), berlin(2026, 12, 28, 11, 0), 2),  # Christmas Friday
        (berlin(2025, 10, 2, 17, 0), berlin(2025, 10, 6, 11, 0), 2),  # Unity Day, a Friday
        (berlin(2026, 3, 27, 17, 0), berlin(2026, 3, 30, 11, 0), 2),  # clocks go forward
        (berlin(2026, 10, 23, 17, 0), berlin(2026, 10, 26, 11, 0), 2),  # clocks go back
    ],
)
def test_elapsed(start: datetime, end: datetime, hours_open: float) -> None:
    assert desk().elapsed(start, end) == hours_open * HOUR


def test_elapsed_is_zero_when_end_is_not_after_start() -> None:
    moment = berlin(2026, 11, 23, 12, 0)
    for hours in (desk(), BusinessHours.parse()):
        assert hours.elapsed(moment, moment) == 0.0
        assert hours.elapsed(moment, moment - timedelta(hours=3)) == 0.0


def test_elapsed_accepts_any_aware_zone() -> None:
    start = berlin(2026, 11, 23, 11, 0)
    end = berlin(2026, 11, 23, 12, 0)
    assert desk().elapsed(start.astimezone(NEW_YORK), end.astimezone(UTC)) == HOUR


def test_german_unity_day_on_a_saturday_closes_a_saturday_desk() -> None:
    friday, monday = berlin(2026, 10, 2, 17, 0), berlin(2026, 10, 5, 11, 0)
    assert desk("Mon-Sat 10:00-18:00").elapsed(friday, monday) == 2 * HOUR
    assert desk("Mon-Sat 10:00-18:00", holidays=None).elapsed(friday, monday) == 10 * HOUR


@pytest.mark.parametrize(
    ("code", "day", "hours_open"),
    [
        ("DE", (2027, 3, 8), 8),  # Women's Day is a holiday in Berlin only
        ("DE-BE", (2027, 3, 8), 0),
        ("GB-ENG", (2026, 1, 2), 8),  # 2 January is a holiday in Scotland only
        ("GB-SCT", (2026, 1, 2), 0),
        (None, (2026, 12, 25), 8),
    ],
)
def test_regional_holidays(code: str | None, day: tuple[int, int, int], hours_open: int) -> None:
    start = berlin(*day, 0, 0)
    assert desk(holidays=code).elapsed(start, start + timedelta(days=1)) == hours_open * HOUR


def test_dst_days_keep_their_wall_hours() -> None:
    hours = desk("Mon-Sun 10:00-18:00", holidays=None)
    for day in ((2026, 3, 29), (2026, 10, 25)):
        assert hours.elapsed(berlin(*day, 0, 0), berlin(*day, 23, 0)) == 8 * HOUR
        assert hours.next_opening(berlin(*day, 0, 0)) == berlin(*day, 10, 0)
        assert hours.add(berlin(*day, 0, 0), 8 * HOUR) == berlin(*day, 18, 0)


@pytest.mark.parametrize(
    ("spec", "day", "hours_open"),
    [
        ("Sun 00:00-24:00", (2026, 3, 29), 23),
        ("Sun 00:00-24:00", (2026, 10, 25), 25),
        ("Sun 01:00-04:00", (2026, 3, 29), 2),
        ("Sun 01:00-04:00", (2026, 10, 25), 4),
        ("Sun 02:30-03:30", (2026, 3, 29), 0.5),  # 02:30 doesn't exist: opens at 03:00
        ("Sun 02:30-03:30", (2026, 10, 25), 2),  # 02:30 happens twice: opens at the first
    ],
)
def test_dst_change_inside_a_window_counts_real_time(
    spec: str, day: tuple[int, int, int], hours_open: float
) -> None:
    hours = desk(spec, holidays=None)
    start = berlin(*day, 0, 0) - timedelta(days=1)
    assert hours.elapsed(start, start + timedelta(days=3)) == hours_open * HOUR


def test_opening_in_a_dst_gap_is_when_the_clocks_jump() -> None:
    hours = desk("Sun 02:30-03:30", holidays=None)
    jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
    assert hours.next_opening(datetime(2026, 3, 28, tzinfo=UTC)) == jump
    assert not hours.is_open(jump - US)
    assert hours.is_open(jump)


def test_new_york_dst() -> None:
    hours = BusinessHours.parse("Sun 00:00-24:00", tz="America/New_York")
    for day, hours_open in (((2026, 3, 8), 23), ((2026, 11, 1), 25)):
        start = datetime(*day, tzinfo=NEW_YORK)
        assert hours.elapsed(start, start + timedelta(days=2)) == hours_open * HOUR


# --------------------------------------------------------------------- add / next_opening


def test_add_from_out_of_hours_lands_after_the_next_opening() -> None:
    hours = desk()
    friday = berlin(2026, 11, 20, 17, 58)
    due = hours.add(friday, 300)
    assert due == berlin(2026, 11, 23, 10, 3)
    assert due.tzinfo is UTC
    assert hours.add(berlin(2026, 11, 21, 12, 0), 300) == berlin(2026, 11, 23, 10, 5)
    assert hours.add(berlin(2026, 11, 23, 7, 0), 300) == berlin(2026, 11, 23, 10, 5)


def test_add_running_out_at_closing_gives_the_closing_instant() -> None:
    hours = desk()
    assert hours.add(berlin(2026, 11, 20, 17, 58), 120) == berlin(2026, 11, 20, 18, 0)
    just_after_opening = berlin(2026, 11, 23, 10, 0) + US
    assert hours.add(berlin(2026, 11, 20, 17, 58), 120.000001) == just_after_opening


def test_add_zero_is_next_opening() -> None:
    hours = desk()
    for at in (
        berlin(2026, 11, 20, 17, 58),
        berlin(2026, 11, 20, 18, 0),
        berlin(2026, 11, 21, 3, 0),
        berlin(2026, 12, 24, 19, 0),
    ):
        assert hours.add(at, 0) == hours.next_opening(at)
    assert hours.next_opening(berlin(2026, 11, 20, 17, 58)) == berlin(2026, 11, 20, 17, 58)
    assert hours.next_opening(berlin(2026, 11, 20, 18, 0)) == berlin(2026, 11, 23, 10, 0)
    assert hours.next_opening(berlin(2026, 12, 24, 19, 0)) == berlin(2026, 12, 28, 10, 0)


def test_add_skips_holidays_and_dst() -> None:
    hours = desk()
    assert hours.add(berlin(2026, 12, 24, 17, 0), 2 * HOUR) == berlin(2026, 12, 28, 11, 0)
    assert hours.add(berlin(2026, 3, 27, 17, 0), 2 * HOUR) == berlin(2026, 3, 30, 11, 0)


def test_add_refuses_negative_and_non_finite_amounts() -> None:
    for hours in (desk(), BusinessHours.parse()):
        for seconds in (-1.0, math.nan, math.inf):
            with pytest.raises(ValueError, match="seconds"):
                hours.add(berlin(2026, 11, 23, 12, 0), seconds)


def test_add_gives_up_after_max_closed_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BusinessHours, "_is_holiday", lambda self, day: True)
    hours = desk()
    with pytest.raises(ValueError, match=f"no open time within {MAX_CLOSED_DAYS} days"):
        hours.next_opening(berlin(2026, 11, 23, 12, 0))


def test_always_is_plain_arithmetic_and_ignores_holidays() -> None:
    hours = BusinessHours.parse("always", tz="Europe/Berlin", holidays="DE")
    christmas = berlin(2026, 12, 25, 3, 0)
    assert hours.is_open(christmas)
    assert hours.elapsed(christmas, christmas + timedelta(days=2)) == 2 * 86400.0
    assert hours.add(christmas, 90.5) == christmas + timedelta(seconds=90.5)
    assert hours.add(christmas, 90.5).tzinfo is UTC
    assert hours.next_opening(christmas) == christmas
    assert hours.next_opening(christmas).tzinfo is UTC


# --------------------------------------------------------------------- properties

SCHEDULES = [
    BusinessHours.parse("Mon-Fri 10:00-18:00", tz="Europe/Berlin", holidays="DE"),
    BusinessHours.parse("Mon-Fri 9-12, Mon-Fri 13-17:30", tz="America/New_York", holidays="US"),
    BusinessHours.parse("Sun 01:00-04:00, Wed 02:30-03:00", tz="Europe/Berlin"),
    BusinessHours.parse("Mon-Sun 00:00-24:00", tz="Australia/Lord_Howe", holidays="AU-NSW"),
    BusinessHours.parse("always"),
]
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC)
)
amounts = st.floats(min_value=0, max_value=3 * 86400, allow_nan=False)


@pytest.mark.parametrize("hours", SCHEDULES, ids=lambda h: h.describe())
@settings(deadline=None)
@given(start=instants, seconds=amounts)
def test_add_then_elapsed_round_trips(
    hours: BusinessHours, start: datetime, seconds: float
) -> None:
    due = hours.add(start, seconds)
    assert due >= start
    assert due.tzinfo is UTC
    assert abs(hours.elapsed(start, due) - seconds) <= 1e-6
    if seconds >= 1e-3:  # and it's the earliest such instant
        assert hours.elapsed(start, due - US) < seconds


@pytest.mark.parametrize("hours", SCHEDULES, ids=lambda h: h.describe())
@settings(deadline=None)
@given(start=instants, a=amounts, b=amounts)
def test_add_is_monotonic(hours: BusinessHours, start: datetime, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert hours.next_opening(start) <= hours.add(start, low) <= hours.add(start, high)


@pytest.mark.parametrize("hours", SCHEDULES, ids=lambda h: h.describe())
@settings(deadline=None)
@given(
    a=instants,
    gaps=st.tuples(
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)),
    ),
)
def test_elapsed_is_additive_and_agrees_with_is_open(
    hours: BusinessHours, a: datetime, gaps: tuple[timedelta, timedelta]
) -> None:
    b = a + gaps[0]
    c = b + gaps[1]
    assert math.isclose(
        hours.elapsed(a, c), hours.elapsed(a, b) + hours.elapsed(b, c), abs_tol=1e-6
    )
    assert hours.is_open(a) == (hours.elapsed(a, a + US) > 0)
    opening = hours.next_opening(a)
    assert hours.is_open(opening)
    assert hours.elapsed(a, opening) == 0
