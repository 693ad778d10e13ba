from __future__ import annotations

import pytest

from bot.alerts import fingerprint
from bot.durations import format_duration, parse_duration
from bot.errors import UsageError


def test_repeats_share_a_fingerprint() -> None:
    a = "NoMethodError in OrdersController#show (id 9f2c77ab1e) at 2026-11-23 14:03:44"
    b = "NoMethodError in OrdersController#show (id 77ab90cd3f) at 2026-11-23 14:09:10"
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint("Timeout in PaymentsWorker")
    assert fingerprint("Job 4711 failed <https://x.io/e/1|view>") == fingerprint(
        "Job 4712 failed <https://x.io/e/2|view>"
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("90s", 90), ("1h30m", 5400), ("2H", 7200), ("1d", 86400)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5", "", "m", "5 minutes", "0m", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text)
    assert "target" in caught.value.message


def test_format_duration() -> None:
    assert format_duration(45) == "45 s"
    assert format_duration(432) == "7 min 12 s"
    assert format_duration(7500) == "2 h 5 min"
    assert format_duration(3 * 86400 + 4 * 3600) == "3 d 4 h"
