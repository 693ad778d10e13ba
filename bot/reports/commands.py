"""The report commands as parsed: `/support report …` and `/support slo …`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportCommand:
    """`/support report [2026-W48|this|last]`, `/support slo`, `/support slo set 95% 28d`."""

    verb: str  # "report" | "slo" | "slo_set"
    week: str | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportContext:
    workspace_id: str
    channel_id: str
    user: str
    is_admin: bool
