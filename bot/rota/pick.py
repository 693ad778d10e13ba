"""Choosing a support week's pair fairly, and explaining a choice that breaks the rules.

    pick = suggest(candidates, days=week_days(date(2026, 11, 25), holidays=de), history=history)

Rules: two people, at least one with production access, both available every working
day of the week (leave, working days and public holidays considered); days the pair can't
cover get a fallback; at most one observer, a new member who has not observed yet.
Fairness: fewest support weeks in the last twelve, then longest since the last, then
alphabetical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.errors import UsageError

FAIRNESS_WEEKS = 12


@dataclass(frozen=True)
class Candidate:
    user: str
    prod: bool = False
    new: bool = False
    observed: bool = False
    weekdays: frozenset[int] = frozenset(range(5))  # 0 = Monday
    leave: tuple[tuple[date, date], ...] = ()

    def available(self, day: date) -> bool:
        if day.weekday() not in self.weekdays:
            return False
        return not any(first <= day <= last for first, last in self.leave)

    @property
    def may_support(self) -> bool:
        return not self.new or self.observed


@dataclass(frozen=True)
class Pick:
    first: str
    second: str
    fallback: str | None = None
    fallback_days: tuple[date, ...] = ()
    observer: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pair(self) -> frozenset[str]:
        return frozenset((self.first, self.second))


def week_days(start: date, *, is_holiday: Callable[[date], bool] | None = None) -> list[date]:
    """The working days (Mon–Fri, not public holidays) of the week starting on ``start``."""
    days = [start + timedelta(days=i) for i in range(7)]
    return [d for d in days if d.weekday() < 5 and not (is_holiday is not None and is_holiday(d))]


def fairness_order(
    candidates: Iterable[Candidate], *, history: Mapping[str, list[date]], week_start: date
) -> list[Candidate]:
    horizon = week_start - timedelta(weeks=FAIRNESS_WEEKS)

    def key(c: Candidate) -> tuple[int, int, str]:
        weeks = [w for w in history.get(c.user, []) if w < week_start]
        recent = sum(1 for w in weeks if w >= horizon)
        since = (week_start - max(weeks)).days if weeks else 10**6
        return (recent, -since, c.user)

    return sorted(candidates, key=key)


def suggest(
    candidates: Iterable[Candidate],
    *,
    days: list[date],
    history: Mapping[str, list[date]],
    week_start: date,
    skip: Iterable[frozenset[str]] = (),
) -> Pick:
    """The fairest pair that satisfies the rules (none in ``skip``), with fallback, observer."""
    people = list(candidates)
    order = fairness_order(
        [c for c in people if c.may_support], history=history, week_start=week_start
    )
    if len(order) < 2:
        raise UsageError(
            "The rota needs at least two people who can be on support (new members observe a "
            "week first). Add people with /rota add @name [prod]."
        )
    if not any(c.prod for c in order):
        raise UsageError(
            "Nobody on the rota has production access, and a pair needs at least one. "
            "Mark someone with /rota set @name prod=yes."
        )
    skipped = set(skip)
    observer = next(
        (c.user for c in sorted(people, key=lambda c: c.user) if c.new and not c.observed), None
    )
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]
    for a, b in pairs:
        if frozenset((a.user, b.user)) in skipped or not (a.prod or b.prod):
            continue
        if all(a.available(d) and b.available(d) for d in days):
            return Pick(a.user, b.user, observer=observer)
    for a, b in pairs:
        if frozenset((a.user, b.user)) in skipped or not (a.prod or b.prod):
            continue
        gaps = tuple(d for d in days if not (a.available(d) and b.available(d)))
        fallback = next(
            (
                c
                for c in order
                if c.user not in (a.user, b.user) and all(c.available(d) for d in gaps)
            ),
            None,
        )
        if fallback is not None:
            return Pick(a.user, b.user, fallback.user, gaps, observer)
    raise UsageError(
        "No pair with production access is available for the whole week, and nobody can "
        "fill the gaps. Check leave with /rota show, or choose a pair yourself."
    )


def problems(pick: Pick, candidates: Mapping[str, Candidate], *, days: list[date]) -> list[str]:
    """Why a chosen pair breaks the rules (empty when it doesn't)."""
    found = []
    names = [pick.first, pick.second]
    if pick.first == pick.second:
        return ["A pair is two different people."]
    for user in names + ([pick.fallback] if pick.fallback else []):
        if user not in candidates:
            found.append(f"<@{user}> is not on the rota (add them with /rota add <@{user}>).")
    if found:
        return found
    a, b = candidates[pick.first], candidates[pick.second]
    for c in (a, b):
        if not c.may_support:
            found.append(f"<@{c.user}> is new and observes a week before supporting.")
    if not (a.prod or b.prod):
        found.append("Neither has production access; at least one must.")
    covered = candidates[pick.fallback] if pick.fallback else None
    for day in days:
        missing = [c.user for c in (a, b) if not c.available(day)]
        if missing and not (covered and covered.available(day)):
            who = " and ".join(f"<@{u}>" for u in missing)
            found.append(f"{who} can't work {day:%a %d %b} and no fallback covers it.")
    return found
