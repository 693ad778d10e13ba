"""Business hours: when a channel's desk is open, and how much open time lies between instants.

This module owns the ``hours=``, ``tz=`` and ``holidays=`` settings of a channel: reading
them as a person types them (with a message saying what to type instead when they are
wrong), the canonical text they are stored as, and the arithmetic the rest of Firstline
does with them -- whether an instant is in hours, how many business seconds lie between
two instants, and when a deadline of N business seconds falls.

    hours = BusinessHours.parse("Mon-Fri 10:00-18:00", tz="Europe/Berlin", holidays="DE")
    hours.elapsed(asked_at, answered_at)   # business seconds, a float
    hours.add(asked_at, 300)               # the instant the 5-minute target runs out

Hours are wall-clock times in the team's time zone, recomputed for each calendar day, so
a 10:00-18:00 day stays 10:00-18:00 across daylight-saving changes; when a change falls
inside a window, the window counts the real time that passes. Public holidays (from the
``holidays`` package) close the whole local day. ``always`` means 24x7 and is plain
datetime arithmetic. All instants going in must be timezone-aware; instants coming out
are UTC.
"""

from __future__ import annotations

import difflib
import math
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache

import holidays as holidays_lib

from bot.errors import UsageError

__all__ = ["MAX_CLOSED_DAYS", "BusinessHours"]

#: The longest run of closed days ``add``/``next_opening`` look through before giving up.
MAX_CLOSED_DAYS = 800

ALWAYS = "always"
_ALWAYS_ALIASES = frozenset({"always", "24/7", "24x7"})
_NO_HOLIDAYS = frozenset({"", "none", "off"})  # not "no": that is Norway

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MINUTES_PER_DAY = 24 * 60

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_WINDOW_CACHE_SIZE = 4096

_EXAMPLE = 'Write hours=always or hours="Mon-Fri 10:00-18:00".'
_TZ_EXAMPLE = "Use an IANA name such as tz=Europe/Berlin or tz=America/New_York."
_HOLIDAYS_EXAMPLE = (
    "Use a country code, optionally with a region, such as holidays=DE or holidays=DE-BE "
    "(or holidays=none)."
)

_DAY = r"[a-z]+\.?"
_DAY_RANGE = rf"{_DAY}(?:\s*-\s*{_DAY})?"
_TIME = r"\d{1,2}(?:[:.]\d{2})?"
_SEGMENT = re.compile(
    rf"""
    \s*(?P<days>{_DAY_RANGE}(?:\s*,\s*{_DAY_RANGE})*)
    \s+(?P<start>{_TIME})\s*-\s*(?P<end>{_TIME})
    (?:\s*[,;]\s*|\s+|\s*$)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_DAYS_ONLY = re.compile(rf"{_DAY_RANGE}(?:\s*,\s*{_DAY_RANGE})*", re.IGNORECASE)
_TIME_PARTS = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?")
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"

# Minutes after local midnight, start inclusive, end exclusive; end may be 24:00 (1440).
_Span = tuple[int, int]
# One tuple of spans per weekday, Monday first.
_Week = tuple[tuple[_Span, ...], ...]
# An open window as microseconds since the Unix epoch, start inclusive, end exclusive.
_Window = tuple[int, int]


class BusinessHours:
    """A channel's opening hours in its time zone, closed on its country's public holidays.

    Build one with :meth:`parse` (from what a person typed, validated) or
    :meth:`from_stored` (from :meth:`to_dict` fields, trusted). Instances are immutable
    apart from internal caches and safe to share.
    """

    __slots__ = (
        "_holiday_calendar",
        "_week",
        "_windows",
        "_zone",
        "always",
        "holidays_code",
        "spec",
        "tz",
    )

    always: bool
    spec: str
    tz: str
    holidays_code: str | None

    def __init__(
        self, week: _Week | None, zone: zoneinfo.ZoneInfo, holidays_code: str | None
    ) -> None:
        """Internal: use :meth:`parse` or :meth:`from_stored`. ``week=None`` means always."""
        self.always = week is None
        self.spec = ALWAYS if week is None else _render_week(week)
        self.tz = zone.key
        self.holidays_code = holidays_code
        self._week: _Week = () if week is None else week
        self._zone = zone
        self._holiday_calendar: holidays_lib.HolidayBase | None = None
        self._windows: dict[int, tuple[_Window, ...]] = {}

    # ----------------------------------------------------------------- construction

    @classmethod
    def parse(
        cls, spec: str = ALWAYS, *, tz: str = "UTC", holidays: str | None = None
    ) -> BusinessHours:
        """Read settings as a person typed them; raise UsageError saying what to type instead.

        ``spec`` is ``always`` or day ranges with times, e.g. ``Mon-Fri 10:00-18:00`` or
        ``Mon-Thu 09:00-17:30, Fri 09:00-15:00``. ``tz`` is an IANA zone name. ``holidays``
        is None/empty or a country code with an optional region (``DE``, ``DE-BE``).
        """
        week = _parse_spec(spec)
        zone = _parse_zone(tz)
        code = _parse_holidays(holidays)
        return cls(week, zone, code)

    @classmethod
    def from_stored(cls, spec: str, tz: str, holidays: str | None) -> BusinessHours:
        """Rebuild from fields written by :meth:`to_dict`; shares instances.

        Meant for stored, once-validated settings: it doesn't look for suggestions, and
        it caches one instance per distinct (spec, tz, holidays), so calling it per event
        costs a dictionary lookup and keeps the per-day window cache warm.
        """
        return _from_stored(spec, tz, holidays or None)

    def to_dict(self) -> dict[str, str | None]:
        """The fields to store; :meth:`from_stored` takes them back."""
        return {"spec": self.spec, "tz": self.tz, "holidays": self.holidays_code}

    def describe(self) -> str:
        """One line for people, e.g. ``Mon-Fri 10:00-18:00 Europe/Berlin, closed on DE ...``."""
        if self.always:
            return ALWAYS
        text = f"{self.spec} {self.tz}"
        if self.holidays_code:
            text += f", closed on {self.holidays_code} public holidays"
        return text

    def __repr__(self) -> str:
        return (
            f"BusinessHours(spec={self.spec!r}, tz={self.tz!r}, "
            f"holidays_code={self.holidays_code!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessHours):
            return NotImplemented
        return (self.spec, self.tz, self.holidays_code) == (
            other.spec,
            other.tz,
            other.holidays_code,
        )

    def __hash__(self) -> int:
        return hash((self.spec, self.tz, self.holidays_code))

    # ----------------------------------------------------------------- arithmetic

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` is in hours. An opening instant is open, a closing instant is not."""
        if self.always:
            _require_aware(at)
            return True
        point = _to_us(at)
        return any(
            start <= point < end for start, end in self._day_windows(self._local_ordinal(at))
        )

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds in ``[start, end)``; 0.0 if ``end <= start``."""
        if self.always:
            _require_aware(start)
            _require_aware(end)
            return max(0.0, (end - start).total_seconds())
        lo = _to_us(start)
        hi = _to_us(end)
        if hi <= lo:
            return 0.0
        total = 0
        for ordinal in range(self._local_ordinal(start), self._local_ordinal(end) + 1):
            for open_at, close_at in self._day_windows(ordinal):
                overlap = min(close_at, hi) - max(open_at, lo)
                if overlap > 0:
                    total += overlap
        return total / 1_000_000

    def add(self, start: datetime, seconds: float) -> datetime:
        """The earliest instant ``t`` with ``elapsed(start, t) == seconds`` (to the microsecond).

        ``add(start, 0)`` is :meth:`next_opening`; a positive amount that runs out exactly
        at a closing time gives that closing instant. Raises ValueError for negative or
        non-finite ``seconds``, and when the hours stay closed for MAX_CLOSED_DAYS days.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0, not {seconds!r}")
        if self.always:
            _require_aware(start)
            return (start + timedelta(seconds=seconds)).astimezone(UTC)
        return _from_us(self._advance(start, round(seconds * 1_000_000)))

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) if open, else the next instant the hours open."""
        if self.always:
            _require_aware(at)
            return at.astimezone(UTC)
        return _from_us(self._advance(at, 0))

    # ----------------------------------------------------------------- internals

    def _advance(self, start: datetime, remaining: int) -> int:
        """Walk open windows from ``start`` until ``remaining`` microseconds are used up."""
        point = _to_us(start)
        ordinal = self._local_ordinal(start)
        closed_days = 0
        while closed_days <= MAX_CLOSED_DAYS:
            used_today = False
            for open_at, close_at in self._day_windows(ordinal):
                if close_at <= point:
                    continue
                used_today = True
                begin = max(open_at, point)
                if remaining <= close_at - begin:
                    return begin + remaining
                remaining -= close_at - begin
                point = close_at
            closed_days = 0 if used_today else closed_days + 1
            ordinal += 1
        raise ValueError(
            f"{self.describe()} has no open time within {MAX_CLOSED_DAYS} days after "
            f"{_from_us(point).isoformat()}"
        )

    def _local_ordinal(self, at: datetime) -> int:
        return at.astimezone(self._zone).toordinal()

    def _day_windows(self, ordinal: int) -> tuple[_Window, ...]:
        """Open windows of one local calendar day, as UTC microseconds; cached."""
        windows = self._windows.get(ordinal)
        if windows is not None:
            return windows
        day = date.fromordinal(ordinal)
        spans = self._week[day.weekday()]
        if not spans or self._is_holiday(day):
            windows = ()
        else:
            bounds = (
                (_wall_to_us(day, s, self._zone), _wall_to_us(day, e, self._zone)) for s, e in spans
            )
            windows = tuple((lo, hi) for lo, hi in bounds if hi > lo)
        if len(self._windows) >= _WINDOW_CACHE_SIZE:
            self._windows.clear()
        self._windows[ordinal] = windows
        return windows

    def is_holiday(self, day: date) -> bool:
        """Is ``day`` a public holiday where these hours apply (False without a country)?"""
        return self._is_holiday(day)

    def _is_holiday(self, day: date) -> bool:
        if not self.holidays_code:
            return False
        if self._holiday_calendar is None:
            country, _, region = self.holidays_code.partition("-")
            self._holiday_calendar = holidays_lib.country_holidays(country, subdiv=region or None)
        return day in self._holiday_calendar


# --------------------------------------------------------------------- instants


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}; business hours need aware instants")


def _to_us(at: datetime) -> int:
    _require_aware(at)
    return (at - _EPOCH) // _MICROSECOND


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _wall_to_us(day: date, minute: int, zone: zoneinfo.ZoneInfo) -> int:
    """The first instant at which the clock on the wall in ``zone`` reads ``day`` + ``minute``.

    Ambiguous wall times (clocks going back) give the first of the two instants; wall
    times that do not exist (clocks going forward) give the instant the clocks jump.
    """
    wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    us = (wall.replace(tzinfo=zone) - _EPOCH) // _MICROSECOND
    if _from_us(us).astimezone(zone).replace(tzinfo=None) == wall:
        return us
    # In a gap: fold=1 reads the wall time with the offset after the jump, giving an
    # instant before it; fold=0 (``us``) gives one after it. Bisect for the jump.
    lo = (wall.replace(tzinfo=zone, fold=1) - _EPOCH) // _MICROSECOND
    hi = us
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _from_us(mid).astimezone(zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------- hours= spec


@dataclass(frozen=True)
class _Segment:
    text: str
    days: tuple[int, ...]
    span: _Span


def _parse_spec(spec: str) -> _Week | None:
    text = _unquote(spec)
    if not text:
        raise UsageError(f"hours: nothing given. {_EXAMPLE}")
    if text.lower() in _ALWAYS_ALIASES:
        return None
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)  # dashes Slack or phones may substitute
    segments: list[_Segment] = []
    pos = 0
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None:
            rest = text[pos:].strip(" ,;")
            if _DAYS_ONLY.fullmatch(rest) and all(
                _day_index(word) is not None for word in re.split(r"[\s,-]+", rest)
            ):
                raise UsageError(
                    f'hours: I can\'t read "{text}": "{rest}" has no times. Add them, e.g. '
                    f'hours="Mon-Fri 10:00-18:00", or write hours=always.'
                )
            where = "" if rest == text else f' at "{rest}"'
            raise UsageError(f'hours: I can\'t read "{text}"{where}. {_EXAMPLE}')
        segments.append(_read_segment(text, match))
        pos = match.end()
    return _build_week(text, segments)


def _read_segment(text: str, match: re.Match[str]) -> _Segment:
    days: list[int] = []
    for part in match["days"].split(","):
        first, _, last = part.partition("-")
        a = _read_day(text, first)
        b = _read_day(text, last) if last.strip() else a
        days.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    start = _read_time(text, match["start"])
    end = _read_time(text, match["end"])
    times = f"{_hhmm(start)}-{_hhmm(end)}"
    if start == _MINUTES_PER_DAY:
        raise UsageError(
            f"hours: I can't read \"{text}\": a day can't open at 24:00 (24:00 only closes "
            f"one). {_EXAMPLE}"
        )
    if end == start:
        raise UsageError(
            f'hours: I can\'t read "{text}": {times} is empty, the end must come after the '
            f"start. {_EXAMPLE}"
        )
    if end < start:
        raise UsageError(
            f'hours: I can\'t read "{text}": {times} runs past midnight, and hours must end on '
            f"the day they start. Split it at midnight, e.g. "
            f'hours="Mon-Fri 22:00-24:00, Tue-Sat 00:00-06:00".'
        )
    return _Segment(match.group(0).strip(" ,;"), tuple(dict.fromkeys(days)), (start, end))


def _day_index(word: str) -> int | None:
    """Monday=0 for a day name: any prefix of at least two letters of its full name."""
    name = word.strip().rstrip(".").lower()
    if len(name) >= 2:
        for index, full in enumerate(_FULL_DAY_NAMES):
            if full.startswith(name):
                return index
    return None


def _read_day(text: str, word: str) -> int:
    index = _day_index(word)
    if index is not None:
        return index
    raise UsageError(
        f'hours: I can\'t read "{text}": "{word.strip()}" isn\'t a day. Use '
        f'{", ".join(_DAY_NAMES)} or full names, e.g. hours="Mon-Fri 10:00-18:00".'
    )


def _read_time(text: str, token: str) -> int:
    parts = _TIME_PARTS.fullmatch(token)
    assert parts is not None  # _SEGMENT only lets such tokens through
    hour, minute = int(parts[1]), int(parts[2] or 0)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise UsageError(
            f'hours: I can\'t read "{text}": "{token}" isn\'t a time of day (use 00:00 to '
            f"24:00). {_EXAMPLE}"
        )
    return hour * 60 + minute


def _build_week(text: str, segments: list[_Segment]) -> _Week:
    week: list[list[tuple[int, int, str]]] = [[] for _ in range(7)]
    for segment in segments:
        for day in segment.days:
            week[day].append((*segment.span, segment.text))
    merged: list[tuple[_Span, ...]] = []
    for day, entries in enumerate(week):
        entries.sort()
        spans: list[_Span] = []
        previous = ""
        for start, end, source in entries:
            if spans and start < spans[-1][1]:
                raise UsageError(
                    f'hours: I can\'t read "{text}": {_DAY_NAMES[day]} has overlapping hours '
                    f'("{previous}" and "{source}"). Give each day its hours once, e.g. '
                    f'hours="Mon-Thu 09:00-17:30, Fri 09:00-15:00".'
                )
            if spans and start == spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
            previous = source
        merged.append(tuple(spans))
    return tuple(merged)


def _render_week(week: _Week) -> str:
    """Canonical text: one segment per distinct span, ordered by first day then start."""
    days_by_span: dict[_Span, list[int]] = {}
    for day, spans in enumerate(week):
        for span in spans:
            days_by_span.setdefault(span, []).append(day)
    ordered = sorted(days_by_span.items(), key=lambda item: (item[1][0], item[0]))
    return ", ".join(
        f"{_render_days(days)} {_hhmm(start)}-{_hhmm(end)}" for (start, end), days in ordered
    )


def _render_days(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        _DAY_NAMES[run[0]] if len(run) == 1 else f"{_DAY_NAMES[run[0]]}-{_DAY_NAMES[run[-1]]}"
        for run in runs
    )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _unquote(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


# --------------------------------------------------------------------- tz=


def _parse_zone(name: str) -> zoneinfo.ZoneInfo:
    key = _unquote(name)
    try:
        return zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    known = _zone_keys_by_lower()
    canonical = known.get(key.replace(" ", "_").lower())
    if canonical is not None:
        return zoneinfo.ZoneInfo(canonical)
    suggestion = _suggest_zone(key, known)
    hint = f" Did you mean tz={suggestion}?" if suggestion else ""
    raise UsageError(f'tz: I don\'t know the time zone "{key}".{hint} {_TZ_EXAMPLE}')


@cache
def _zone_keys_by_lower() -> dict[str, str]:
    return {key.lower(): key for key in zoneinfo.available_timezones()}


def _suggest_zone(key: str, known: dict[str, str]) -> str | None:
    lowered = key.replace(" ", "_").lower()
    if not lowered:
        return None
    by_city = [zone for low, zone in known.items() if low.rsplit("/", 1)[-1] == lowered]
    if by_city:
        return sorted(by_city)[0]
    close = difflib.get_close_matches(lowered, list(known), n=1, cutoff=0.75)
    return known[close[0]] if close else None


# --------------------------------------------------------------------- holidays=


def _parse_holidays(code: str | None) -> str | None:
    text = _unquote(code or "")
    if text.lower() in _NO_HOLIDAYS:
        return None
    country, dash, region = text.partition("-")
    country = country.strip().upper()
    region = region.strip()
    supported: dict[str, list[str]] = holidays_lib.list_supported_countries()
    if country not in supported:
        named = f'"{text}"' if country == text.upper() else f'"{country}" in "{text}"'
        raise UsageError(f"holidays: I don't know the country code {named}. {_HOLIDAYS_EXAMPLE}")
    if not dash:
        return country
    regions = supported[country]
    for known in regions:
        if known.lower() == region.lower():
            return f"{country}-{known}"
    if not regions:
        raise UsageError(
            f'holidays: {country} has no regions in the holiday calendar, so "{text}" can\'t '
            f"be used. Write holidays={country}."
        )
    listed = ", ".join(regions[:40]) + (", ..." if len(regions) > 40 else "")
    raise UsageError(
        f'holidays: {country} has no region "{region}". Its regions are {listed}; '
        f"write e.g. holidays={country}-{regions[0]} or holidays={country}."
    )


@lru_cache(maxsize=256)
def _from_stored(spec: str, tz: str, holidays: str | None) -> BusinessHours:
    # The holidays code is put back in canonical form ("de-be" -> "DE-BE"), which the
    # holidays package needs; after the first call in a process that costs microseconds.
    return BusinessHours(_parse_spec(spec), zoneinfo.ZoneInfo(tz), _parse_holidays(holidays))
