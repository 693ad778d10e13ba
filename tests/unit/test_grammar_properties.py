"""Hostile input for every command grammar: nothing but a UsageError with a message escapes.

Random text rarely gets past the verb, so commands are also built from the grammar's
own words (verbs, options, mentions, dates, numbers, quotes) mixed with junk.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.grammar import parse_incident, parse_rota, parse_support

WORDS = [
    # verbs of /support, /incident and /rota
    "watch",
    "unwatch",
    "responders",
    "status",
    "stats",
    "help",
    "declare",
    "role",
    "handoff",
    "update",
    "summary",
    "resolve",
    "action",
    "why",
    "export",
    "add",
    "done",
    "who",
    "show",
    "history",
    "calendar",
    "plan",
    "choose",
    "config",
    "remove",
    "set",
    "away",
    "swap",
    # their arguments
    "requests",
    "alerts",
    "commander",
    "communications",
    "sev1",
    "sev2",
    "since",
    "30d",
    "prod",
    "new",
    "fallback=<@U2>",
    "target=5m",
    "hours=Mon-Fri",
    "tz=Europe/Berlin",
    "tz=Mars/Olympus",
    "days=Mon-Thu",
    "start=Wed 09:00",
    "pick=Mon",
    "lead=<@U1>",
    "group=<!subteam^S1|sup>",
    "2026-12-01",
    "2026-12-01..2026-11-01",
    "2026-02-30",
    "<@U123>",
    "<@U123|anna>",
    "<@W1>",
    "<#C1|general>",
    "@anna",
    "0",
    "1",
    "26",
    "27",
    "²",
    "١",
    "99999999999999999999",
    "-3",
    '"',
    "“",
    "”",
    "'",
    "=",
    "==",
    "a=b=c",
    "",
]
command_text = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), min_size=1, max_size=8).map(
    " ".join
)
anything = st.text(max_size=300) | command_text


def rejected_with_a_message(parse: object, text: str) -> None:
    try:
        parse(text)  # type: ignore[operator]
    except UsageError as error:
        assert error.message.strip(), text


@settings(max_examples=150)
@given(anything)
def test_support_grammar(text: str) -> None:
    rejected_with_a_message(parse_support, text)


@settings(max_examples=150)
@given(anything)
def test_incident_grammar(text: str) -> None:
    rejected_with_a_message(parse_incident, text)


@settings(max_examples=150)
@given(anything)
def test_rota_grammar(text: str) -> None:
    rejected_with_a_message(parse_rota, text)


def test_numbers_that_are_digits_only_to_unicode_are_refused_with_a_message() -> None:
    for text in ("action done ²", "action done 99999999999999999999"):
        rejected_with_a_message(parse_incident, text)
    for text in ("plan ²", "plan ١", "plan 99999999999999999999"):
        rejected_with_a_message(parse_rota, text)
