"""The rule table: docs/permissions.md is generated from it, every command the grammar
reads and every button Firstline draws has a rule, and the wording is the platform's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.frontdoor import messages
from bot.frontdoor.router import command_key
from bot.frontdoor.rules import BUTTON_RULES, COMMAND_RULES, RULES, Who, permissions_markdown
from bot.grammar import parse_incident, parse_rota, parse_support

ROOT = Path(__file__).resolve().parents[2]


def test_docs_permissions_is_the_rule_table() -> None:
    written = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert written == permissions_markdown(), (
        "docs/permissions.md is out of date: python -m bot.frontdoor.rules > docs/permissions.md"
    )


def test_every_rule_is_in_the_table_once() -> None:
    keys = [rule.key for rule in (*COMMAND_RULES, *BUTTON_RULES)]
    assert len(keys) == len(set(keys)) == len(RULES)
    for rule in RULES.values():
        assert rule.who, rule.key
        assert f"`{rule.form.replace('|', chr(92) + '|')}`" in permissions_markdown()


SUPPORT = [
    "help", "status", "stats 30d", "responders", "responders <@U1>", "report last", "slo",
    "slo set 95% 28d", "faq list", 'faq add "q" "a"', "faq remove 1", "faq on", "faq off",
    "template", "template bug off", "watch requests", "unwatch",
]  # fmt: skip
ROTA = [
    "help", "who", "show", "history", "plan 4", "calendar", "toil", "config tz=UTC",
    "add <@U1>", "remove <@U1>", "set <@U1> prod=yes", "away <@U1> 2026-12-01",
    "swap <@U1> <@U2>", "choose <@U1> <@U2>",
]  # fmt: skip
INCIDENT = [
    "help", "list", "declare Down", "set scope EU", 'action add "x"', "action done 1",
    'why "x"', "severity sev1", "role commander <@U1>", "handoff commander <@U1>",
    "note x", "update x", "resolve",
]  # fmt: skip


@pytest.mark.parametrize(
    ("group", "text"),
    [("support", t) for t in SUPPORT] + [("rota", t) for t in ROTA]
    + [("incident", t) for t in INCIDENT],
)  # fmt: skip
def test_every_command_the_grammar_reads_has_a_rule(group: str, text: str) -> None:
    parse = {"support": parse_support, "rota": parse_rota, "incident": parse_incident}[group]
    assert command_key(group, parse(text)) in RULES


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def test_every_button_firstline_draws_has_a_rule() -> None:
    action_ids = set()
    for path in (ROOT / "bot").rglob("*.py"):
        action_ids |= {
            value
            for value in _string_constants(path)
            if value.startswith(("rota_", "incident_", "desk_", "toil_"))
        }
    assert action_ids and action_ids <= set(RULES), action_ids - set(RULES)


def test_refusals_say_admins_in_each_platforms_words() -> None:
    rule = RULES["support watch"]
    slack = messages.not_allowed(rule, platform="slack").text
    teams = messages.not_allowed(rule, platform="teams").text
    assert "workspace admins and owners" in slack and "nothing changed" in slack
    assert "workspace" not in teams and "FIRSTLINE_ADMINS" in teams
    named = messages.not_allowed(RULES["rota_swap_confirm"], platform="teams", people={
        Who.NAMED: frozenset({"UB", "UA"})
    }).text  # fmt: skip
    assert named == "Only <@UA> and <@UB> can confirm this swap; nothing changed."
    typed = messages.needs(rule, need=rule.needs, prefix="@Firstline ").text
    assert "`@Firstline support watch`" in typed and "/support" not in typed
