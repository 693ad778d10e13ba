"""The /support faq and template, and /rota toil grammar: each form, and each mistake
answered with what to type instead."""

from __future__ import annotations

import pytest

from bot.errors import UsageError
from bot.grammar import parse_rota, parse_support
from bot.rota.commands import RotaCommand
from bot.support_ops import FaqAdd, FaqList, FaqRemove, FaqSwitch, TemplateList, TemplateSet
from bot.toil.service import parse_policy
from bot.triage.categories import CATEGORIES, DEFAULT_TEMPLATES, fill, parse_category


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'faq add "How do I reset?" "Settings → Reset"',
            FaqAdd("How do I reset?", "Settings → Reset"),
        ),
        ("faq add “Curly quotes?” “Work too”", FaqAdd("Curly quotes?", "Work too")),
        ("faq list", FaqList()),
        ("faq remove 3", FaqRemove(3)),
        ("faq remove #3", FaqRemove(3)),
        ("faq on", FaqSwitch(enabled=True)),
        ("faq on threshold=90", FaqSwitch(enabled=True, threshold=90)),
        ("faq off", FaqSwitch(enabled=False)),
        ("template", TemplateList()),
        (
            'template documented "See https://docs.example"',
            TemplateSet("documented", "See https://docs.example"),
        ),
        ('template quick question "Answer it"', TemplateSet("quick_question", "Answer it")),
        ("template Admin-Panel off", TemplateSet("admin_panel", "")),
        ("template bug default", TemplateSet("bug", None)),
    ],
)
def test_support_ops_forms(text: str, expected: object) -> None:
    assert parse_support(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("faq", 'faq add "question" "answer"'),
        ('faq add "only a question"', "each in quotes"),
        ("faq remove three", "faq remove 3"),
        ("faq on threshold=101", "from 50 to 100"),
        ("faq on level=9", '"level" is not an option'),
        ("faq purge", '"purge" is not a faq action'),
        ('template features "x"', "Categories: bug, error, quick_question"),
        ("template documented", "Give the reply for documented"),
    ],
)
def test_support_ops_mistakes(text: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_support(text)
    assert hint in caught.value.message


def test_rota_toil_forms_and_mistakes() -> None:
    assert parse_rota("toil") == RotaCommand("toil")
    assert parse_rota("toil 2026-11") == RotaCommand("toil", options={"month": "2026-11"})
    assert parse_rota("config toil=b").options == {"toil": "b"}
    for text, hint in (("toil 11/2026", "2026-11"), ("toil 2026-11 2026-12", "/rota toil 2026-11")):
        with pytest.raises(UsageError) as caught:
            parse_rota(text)
        assert hint in caught.value.message
    with pytest.raises(UsageError) as caught:
        parse_policy("c")
    assert "toil=a" in caught.value.message and "toil=b" in caught.value.message


def test_every_category_has_a_template_and_parses_from_its_label() -> None:
    assert len(CATEGORIES) == 9
    for key, label in CATEGORIES.items():
        assert parse_category(label) == key
        assert key in DEFAULT_TEMPLATES
    assert fill("Hi {requester} {not a field}", requester="U1") == "Hi <@U1> {not a field}"
    assert "recreating" in DEFAULT_TEMPLATES["manual_data_change"]
    assert "documentation" in DEFAULT_TEMPLATES["documented"]
    assert "admin panel" in DEFAULT_TEMPLATES["admin_panel"]
