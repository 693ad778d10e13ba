"""UTCDateTime's fast SQLite bind processor writes exactly what SQLAlchemy's would."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from storage.types import UTCDateTime


def sqlalchemy_text(value: datetime) -> str:
    """What the generic TypeDecorator path gives: UTC, naive, then SQLite's DATETIME text."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    process = DateTime().dialect_impl(sqlite_dialect()).bind_processor(sqlite_dialect())
    assert process is not None
    return str(process(naive))


def test_the_fast_processor_matches_sqlalchemys_text() -> None:
    process = UTCDateTime().dialect_impl(sqlite_dialect()).bind_processor(sqlite_dialect())
    assert process is not None
    rng = random.Random(7)
    zones = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))]
    values = [
        datetime(2026, 11, 30, 9, 15, 30, tzinfo=UTC),  # no microseconds
        datetime(2026, 11, 30, 9, 15, 30, 1, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),  # a year of three digits
        datetime(2026, 3, 29, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # the day before
    ]
    values += [
        datetime(2000, 1, 1, tzinfo=UTC).astimezone(rng.choice(zones))
        + timedelta(
            seconds=rng.randrange(0, 40 * 365 * 86400),
            microseconds=rng.choice([0, rng.randrange(10**6)]),
        )
        for _ in range(2000)
    ]
    for value in values:
        assert process(value) == sqlalchemy_text(value), value
    assert process(None) is None
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 1, 1))
