"""Alert grouping: a repeat of an open alert is another occurrence, not a new clock.

Two alerts are the same when their text matches once numbers, ids and timestamps are
removed: "Error in Job 4711 at 12:03:44 (id 9f2c…)" and "Error in Job 4712 at
12:05:10 (id 77ab…)" are one alert seen twice.
"""

from __future__ import annotations

import re
from datetime import timedelta

REPEAT_WINDOW = timedelta(hours=1)

_NOISE = [
    re.compile(r"<https?://[^>|]+(\|[^>]*)?>"),  # Slack links: targets differ per occurrence
    re.compile(r"https?://\S+"),
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
    re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b"),
    re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b"),
    re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b", re.I),  # hex ids, hashes
    re.compile(r"\d+"),
]
_SPACE = re.compile(r"\s+")


def fingerprint(text: str) -> str:
    """The text with the parts that change between repeats removed, at most 200 characters."""
    value = text.lower()
    for pattern in _NOISE:
        value = pattern.sub("#", value)
    return _SPACE.sub(" ", value).strip()[:200]
