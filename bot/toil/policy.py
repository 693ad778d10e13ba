"""The two time-off-in-lieu policies from the handbooks, as pure arithmetic.

    days = policy_a([Handling(received_at=t, handled_at=t, closed_at=None, woke=False)])  # 0.25

Policy (a), per call-out (dxw): 0.25 day for an alert handled while awake, 0.5 day for
one that woke you, 0.25 day more per hour worked beyond the first; alerts received
within an hour of the first one of a call-out count once. Policy (b), standby (CDS, CS
group contract): 0.125 hour per hour of standby outside the core 7.5-hour day, and 3
hours per hour of active work. README ("Time off in lieu") states the choices made where
the handbooks are silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CALL_OUT_WINDOW = timedelta(hours=1)
AWAKE_DAYS = 0.25
WOKE_DAYS = 0.5
EXTRA_DAYS_PER_HOUR = 0.25
CORE_DAY_HOURS = 7.5
STANDBY_RATE = 0.125
ACTIVE_RATE = 3.0


@dataclass(frozen=True)
class Handling:
    """One out-of-hours handling: when the alert arrived, was handled, and was closed
    (``closed_at`` is None unless it was closed before the hours opened again)."""

    received_at: datetime
    handled_at: datetime
    closed_at: datetime | None = None
    woke: bool = False


@dataclass
class CallOut:
    """Handlings whose alerts arrived within an hour of the first one: counted once."""

    first_received_at: datetime
    handlings: list[Handling] = field(default_factory=list)

    @property
    def woke(self) -> bool:
        return any(h.woke for h in self.handlings)

    @property
    def worked_hours(self) -> float:
        """From the first handling to the latest close; zero when nothing was closed, since
        a handling alone says nothing about how long the work went on."""
        closes = [h.closed_at for h in self.handlings if h.closed_at is not None]
        if not closes:
            return 0.0
        start = min(h.handled_at for h in self.handlings)
        return max(0.0, (max(closes) - start).total_seconds() / 3600)

    @property
    def days(self) -> float:
        """Policy (a): the base for the call-out, plus 0.25 day per hour beyond the first."""
        base = WOKE_DAYS if self.woke else AWAKE_DAYS
        return base + EXTRA_DAYS_PER_HOUR * max(0.0, self.worked_hours - 1.0)


def call_outs(handlings: Iterable[Handling]) -> list[CallOut]:
    """Group handlings: a new call-out starts with the first alert an hour or more after
    the current call-out's first alert ("if after an hour you receive another alert")."""
    result: list[CallOut] = []
    for handling in sorted(handlings, key=lambda h: (h.received_at, h.handled_at)):
        if result and handling.received_at - result[-1].first_received_at < CALL_OUT_WINDOW:
            result[-1].handlings.append(handling)
        else:
            result.append(CallOut(first_received_at=handling.received_at, handlings=[handling]))
    return result


def policy_a(handlings: Iterable[Handling]) -> float:
    """Days of time off owed under policy (a)."""
    return sum(c.days for c in call_outs(handlings))


def active_hours(handlings: Iterable[Handling]) -> float:
    """Hours of active out-of-hours work: each call-out from its first handling to its
    latest close."""
    return sum(c.worked_hours for c in call_outs(handlings))


def standby_hours(
    duties: Iterable[tuple[datetime, datetime]],
    *,
    tz: str,
    working_days: frozenset[int],
    is_holiday: Callable[[date], bool],
    since: datetime,
    until: datetime,
) -> float:
    """Hours on standby outside the core day: every hour of duty in [since, until), less up
    to 7.5 hours on each of the person's working days (weekday in ``working_days``, not a
    holiday), days taken in the team's time zone."""
    zone = ZoneInfo(tz)
    total = 0.0
    for start, end in duties:
        start, end = max(start, since), min(end, until)
        if end <= start:
            continue
        day = start.astimezone(zone).date()
        while True:
            day_start = datetime.combine(day, time(0), zone)
            day_end = datetime.combine(day + timedelta(days=1), time(0), zone)
            if day_start >= end:
                break
            covered = (min(end, day_end) - max(start, day_start)).total_seconds() / 3600
            if covered > 0:
                working = day.weekday() in working_days and not is_holiday(day)
                total += covered - (min(CORE_DAY_HOURS, covered) if working else 0.0)
            day += timedelta(days=1)
    return total


def policy_b(*, standby: float, active: float) -> float:
    """Hours of time off owed under policy (b)."""
    return STANDBY_RATE * standby + ACTIVE_RATE * active
