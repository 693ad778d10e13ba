"""Service level objectives for first responses, the error budget, and the burn-rate rule.

    budget = await error_budget(session, workspace_id="T1", channel_id="C1",
                                objective=Objective(0.95, 28), now=now)
    budget.left        # 0.4: 40% of the budget is still there

The SLI is the share of requests answered within target (the rules of ``bot.stats``:
a request counts once its first response came, or once its deadline passed unanswered).
Over the rolling window (default 28 days), the budget is the share allowed to miss,
``1 - objective``; ``left = 1 - miss_share / (1 - objective)``, so it reaches 0 when the
window's misses hit the allowance and goes negative after.

Burn rate over a period = that period's miss share / (1 - objective): at 1 the budget
lasts exactly the window. The multi-window rule (after Google's SRE workbook, sized for
support volumes) warns when BOTH a long and a short period burn faster than a rate:

- fast: the last 24 hours and the last 2 hours at 6x or more (the budget gone in < 5 days)
- slow: the last 7 days and the last 24 hours at 2x or more (gone in half the window)

The long period shows the burn is significant, the short one that it is still going on.
A rule needs at least ``MIN_DECIDED`` decided requests in its long period, so a single
late answer on a quiet day does not alarm anyone.

Notices (a warning, "budget spent") also need the window to hold enough requests for
the budget to mean something: at least 1 / (1 - objective) decided requests (20 at 95%).
Below that a single late answer would "spend" the whole budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UsageError
from storage.models import Request, ServiceObjective

MIN_DECIDED = 3
_PERCENT = re.compile(r"^(\d{1,3}(?:\.\d{1,3})?)%$")
_DAYS = re.compile(r"^(\d{1,3})d$", re.IGNORECASE)


@dataclass(frozen=True)
class Objective:
    objective: float = 0.95
    window_days: int = 28

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)

    def describe(self) -> str:
        return (
            f"{_percent(self.objective)} of requests answered within target "
            f"over {self.window_days} days"
        )


DEFAULT = Objective()


@dataclass(frozen=True)
class BurnRule:
    name: str
    long: timedelta
    short: timedelta
    rate: float

    def describe(self) -> str:
        return f"{_span(self.long)} and {_span(self.short)} both at {self.rate:g}x or faster"


RULES = (
    BurnRule("fast", long=timedelta(days=1), short=timedelta(hours=2), rate=6.0),
    BurnRule("slow", long=timedelta(days=7), short=timedelta(days=1), rate=2.0),
)


def parse_objective(args: list[str]) -> Objective:
    """`95% 28d` (either order, either may be left out: 95% and 28 days are the defaults)."""
    objective, window = DEFAULT.objective, DEFAULT.window_days
    form = "Write /support slo set 95% 28d (the share within target, and the window in days)."
    if not args or len(args) > 2:
        raise UsageError(form)
    for token in args:
        if match := _PERCENT.match(token):
            value = float(match.group(1))
            if not 50 <= value < 100:
                raise UsageError(f'"{token}": the objective must be from 50% to below 100%. {form}')
            objective = value / 100
        elif match := _DAYS.match(token):
            window = int(match.group(1))
            if not 1 <= window <= 365:
                raise UsageError(f'"{token}": the window must be 1 to 365 days. {form}')
        else:
            raise UsageError(f'I can\'t read "{token}". {form}')
    return Objective(objective, window)


@dataclass(frozen=True)
class Counts:
    decided: int = 0
    missed: int = 0

    @property
    def miss_share(self) -> float | None:
        return self.missed / self.decided if self.decided else None


@dataclass(frozen=True)
class Budget:
    objective: Objective
    window: Counts
    burn: dict[str, tuple[float | None, float | None]]  # rule -> (long rate, short rate)
    firing: tuple[str, ...]

    @property
    def sli(self) -> float | None:
        share = self.window.miss_share
        return None if share is None else 1 - share

    @property
    def left(self) -> float:
        share = self.window.miss_share
        if share is None:
            return 1.0
        # Rounded so a window exactly at its allowance (2 of 40 at 95%) is spent, not 1e-16 left.
        return round(1 - share / (1 - self.objective.objective), 9)

    @property
    def meaningful(self) -> bool:
        """Enough requests in the window that one miss is not the whole budget."""
        return self.window.decided >= max(
            MIN_DECIDED, math.ceil(1 / (1 - self.objective.objective) - 1e-9)
        )

    @property
    def spent(self) -> bool:
        return self.meaningful and self.window.missed > 0 and self.left <= 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective.objective,
            "window_days": self.objective.window_days,
            "decided": self.window.decided,
            "missed": self.window.missed,
            "sli": None if self.sli is None else round(self.sli, 4),
            "budget_left": round(self.left, 4),
            "spent": self.spent,
            "enough_requests": self.meaningful,
            "burn_rates": {
                name: {"long": _round(long), "short": _round(short)}
                for name, (long, short) in self.burn.items()
            },
            "warning_rules": list(self.firing),
        }


async def objective_of(session: AsyncSession, *, workspace_id: str, channel_id: str) -> Objective:
    row = await objective_row(session, workspace_id=workspace_id, channel_id=channel_id)
    return Objective(row.objective, row.window_days) if row is not None else DEFAULT


async def objective_row(
    session: AsyncSession, *, workspace_id: str, channel_id: str, lock: bool = False
) -> ServiceObjective | None:
    query = select(ServiceObjective).where(
        ServiceObjective.workspace_id == workspace_id, ServiceObjective.channel_id == channel_id
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def error_budget(
    session: AsyncSession,
    *,
    workspace_id: str,
    channel_id: str,
    objective: Objective,
    now: datetime,
) -> Budget:
    spans = sorted({objective.window, *(r.long for r in RULES), *(r.short for r in RULES)})
    # As of ``now``: an answer or a close that came later is not known yet, so a past
    # week's budget reads the same on the Monday after and a month later.
    answered = Request.first_response_seconds.is_not(None) & (Request.first_response_at <= now)
    closed = Request.closed_at.is_not(None) & (Request.closed_at <= now)
    within = answered & (Request.first_response_seconds <= Request.target_seconds)
    missed = (answered & (Request.first_response_seconds > Request.target_seconds)) | (
        ~answered
        & (
            (~closed & (Request.deadline_at <= now))
            | (closed & (Request.deadline_at <= Request.closed_at))
        )
    )
    # One aggregate query (this runs on every refresh): per span, decided and missed counts.
    columns = []
    for span in spans:
        inside = Request.posted_at >= now - span
        columns.append(func.sum(case((inside & (within | missed), 1), else_=0)))
        columns.append(func.sum(case((inside & missed, 1), else_=0)))
    row = (
        await session.execute(
            select(*columns).where(
                Request.workspace_id == workspace_id,
                Request.channel_id == channel_id,
                Request.deleted.is_(False),
                Request.posted_at >= now - spans[-1],
                Request.posted_at < now,
            )
        )
    ).one()
    found = {
        span: Counts(decided=int(row[2 * i] or 0), missed=int(row[2 * i + 1] or 0))
        for i, span in enumerate(spans)
    }

    def counts(span: timedelta) -> Counts:
        return found[span]

    allowance = 1 - objective.objective
    window = counts(objective.window)
    minimum = max(MIN_DECIDED, math.ceil(1 / allowance - 1e-9))
    burn: dict[str, tuple[float | None, float | None]] = {}
    firing = []
    for rule in RULES:
        long, short = counts(rule.long), counts(rule.short)
        long_rate = None if long.miss_share is None else long.miss_share / allowance
        short_rate = None if short.miss_share is None else short.miss_share / allowance
        burn[rule.name] = (long_rate, short_rate)
        if (
            long.decided >= MIN_DECIDED
            and window.decided >= minimum
            and long_rate is not None
            and short_rate is not None
            and long_rate >= rule.rate
            and short_rate >= rule.rate
        ):
            firing.append(rule.name)
    return Budget(objective=objective, window=window, burn=burn, firing=tuple(firing))


def _percent(value: float) -> str:
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def _span(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"last {hours / 24:g} d" if hours >= 24 else f"last {hours:g} h"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def percent(value: float) -> str:
    return _percent(value)
