"""ISO weeks in a channel's time zone: "2026-W48" and the instants it spans.

    week = IsoWeek.parse("2026-W48")
    since, until = week.bounds("Europe/Berlin")   # local Monday 00:00 to the next one, in UTC

A week is Monday 00:00 to the next Monday 00:00 wall-clock time in the zone, so a week
across a daylight-saving change is 167 or 169 hours long, as people live it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import UsageError

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _WEEK.match(text.strip())
        if match:
            year, week = int(match.group(1)), int(match.group(2))
            try:
                date.fromisocalendar(year, week, 1)
            except ValueError:
                pass
            else:
                return cls(year, week)
        raise UsageError(
            f'"{text}" is not a week. Write it as 2026-W48 (ISO year and week), '
            "or say this or last."
        )

    @classmethod
    def containing(cls, at: datetime, tz: str) -> IsoWeek:
        year, week, _ = at.astimezone(ZoneInfo(tz)).isocalendar()
        return cls(year, week)

    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def days(self) -> list[date]:
        first = self.monday()
        return [first + timedelta(days=i) for i in range(7)]

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(tz)
        first = self.monday()
        start = datetime(first.year, first.month, first.day, tzinfo=zone)
        after = first + timedelta(days=7)
        end = datetime(after.year, after.month, after.day, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def previous(self) -> IsoWeek:
        year, week, _ = (self.monday() - timedelta(days=7)).isocalendar()
        return IsoWeek(year, week)

    def next(self) -> IsoWeek:
        year, week, _ = (self.monday() + timedelta(days=7)).isocalendar()
        return IsoWeek(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"
