"""Durations as people type them ("5m", "90s", "1h30m") and as Firstline says them."""

from __future__ import annotations

import re

from bot.errors import UsageError

_PART = re.compile(r"(\d+)\s*(d|h|m|s)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(\d+\s*[dhms]\s*)+$", re.IGNORECASE)
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str, *, name: str = "target") -> int:
    """Seconds in ``text``: "5m" → 300, "1h30m" → 5400. Bare numbers are refused (which unit?)."""
    if not _WHOLE.match(text or ""):
        raise UsageError(
            f'{name}: I can\'t read "{text}" as a duration. '
            f"Write it with a unit, e.g. {name}=5m, {name}=90s or {name}=1h30m."
        )
    seconds = sum(int(n) * _UNIT[u.lower()] for n, u in _PART.findall(text))
    if seconds <= 0:
        raise UsageError(f"{name}: must be longer than zero, e.g. {name}=5m.")
    return seconds


def format_duration(seconds: float) -> str:
    """Readable duration: "45 s", "7 min 12 s", "2 h 5 min", "3 d 4 h"."""
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"
