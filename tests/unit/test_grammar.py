"""The command grammar: what it accepts, and that every rejection says what to type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import SupportHelp, SupportResponders, SupportStats, SupportWatch
from bot.errors import UsageError
from bot.grammar import parse_support


def test_watch_with_quoted_hours_and_smart_quotes() -> None:
    cmd = parse_support("watch requests target=5m hours=“Mon-Fri 10:00-18:00” tz=Europe/Berlin")
    assert isinstance(cmd, SupportWatch)
    assert cmd.options == {"target": "5m", "hours": "Mon-Fri 10:00-18:00", "tz": "Europe/Berlin"}


def test_responders_accepts_escaped_mentions() -> None:
    cmd = parse_support("responders <@U123|anna>, <@U456>")
    assert cmd == SupportResponders(users=("U123", "U456"))


def test_stats_windows() -> None:
    assert parse_support("stats") == SupportStats(days=7)
    assert parse_support("stats 30d") == SupportStats(days=30)
    since = parse_support("stats since 2026-11-01")
    assert isinstance(since, SupportStats) and since.since is not None and since.days is None


def test_empty_is_help() -> None:
    assert isinstance(parse_support(""), SupportHelp)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("watch", "Say what to watch"),
        ("watch tickets", '"tickets" is not something I watch'),
        ("watch requests target", 'I don\'t understand "target"'),
        ("watch requests size=3", '"size" is not an option'),
        ("watch requests target=5m target=6m", "given twice"),
        ('watch requests hours="Mon-Fri', "quote is not closed"),
        ("responders anna", '"anna" is not a person'),
        ("status now", "takes no arguments"),
        ("stats yesterday", "as a period"),
        ("stats since 1st", "is not a date"),
        ("launch", 'I don\'t know "/support launch"'),
    ],
)
def test_rejections_name_the_token(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_support(text)
    assert fragment in caught.value.message


@given(st.text(max_size=200))
def test_no_input_escapes_with_anything_but_a_usage_error(text: str) -> None:
    try:
        parse_support(text)
    except UsageError as error:
        assert error.message
