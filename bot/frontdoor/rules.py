"""Who may do what: one rule per command and per button, and the table docs/permissions.md
is generated from (``python -m bot.frontdoor.rules > docs/permissions.md``).

A rule names the people who may use it (any of them will do) and what the command needs
around it. The router (``bot.frontdoor.router``) enforces these rules and nothing else does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum


class Who(StrEnum):
    ANYONE = "anyone"  # anyone in the channel where it is typed or pressed
    RESPONDER = "responder"  # a responder of the request's channel (not its requester)
    MEMBER = "member"  # an active member of this channel's rota
    LEAD = "lead"  # the rota's lead (lead=@x)
    PICKED = "picked"  # the people a pick suggests, and the pair on support now
    PAIRS = "pairs"  # the incoming and the outgoing pair of a support week
    NAMED = "named"  # the person (or people) a button was addressed to
    HOLDER = "holder"  # the current holder of that incident role (anyone while nobody is)
    COMMANDER = "commander"  # the current incident commander
    ADMIN = "admin"  # workspace admins and owners, and FIRSTLINE_ADMINS


class Needs(StrEnum):
    NOTHING = "nothing"
    CHANNEL = "channel"  # a channel, not a 1:1 chat
    WATCHED = "watched"  # a channel Firstline watches
    ROTA = "rota"  # a channel with a rota
    INCIDENT = "incident"  # an incident's channel


WHO_SAYS = {
    Who.ANYONE: "anyone in the channel",
    Who.RESPONDER: "the channel's responders (not the person who asked)",
    Who.MEMBER: "members of this rota",
    Who.LEAD: "the rota's lead",
    Who.PICKED: "the suggested people and the pair on support now",
    Who.PAIRS: "the incoming and the outgoing pair",
    Who.NAMED: "the people it was addressed to (the two named in a swap, the taker, the one woken)",
    Who.HOLDER: "the current holder of that role (anyone while nobody holds it)",
    Who.COMMANDER: "the current incident commander",
    Who.ADMIN: "admins",
}

NEEDS_SAYS = {
    Needs.NOTHING: "",
    Needs.CHANNEL: "a channel",
    Needs.WATCHED: "a watched channel",
    Needs.ROTA: "a channel with a rota",
    Needs.INCIDENT: "an incident channel",
}


@dataclass(frozen=True)
class Rule:
    key: str  # "rota choose", "button rota_accept"
    form: str  # how people type or press it
    does: str  # what it does, as in "Only … can {does}"
    who: tuple[Who, ...]
    needs: Needs = Needs.NOTHING
    changes_home: bool = False  # Home shows what it changes
    checks: str = ""  # what a button checks about the object it names, before anything

    @property
    def anyone(self) -> bool:
        return Who.ANYONE in self.who


A, ADMIN, LEAD = (Who.ANYONE,), Who.ADMIN, Who.LEAD


def _command(
    group: str,
    verb: str,
    form: str,
    does: str,
    *who: Who,
    needs: Needs = Needs.NOTHING,
    changes_home: bool = False,
) -> Rule:
    return Rule(
        key=f"{group} {verb}",
        form=form,
        does=does,
        who=who,
        needs=needs,
        changes_home=changes_home,
    )


WATCHED, ROTA, INCIDENT, CHANNEL = Needs.WATCHED, Needs.ROTA, Needs.INCIDENT, Needs.CHANNEL

COMMAND_RULES: tuple[Rule, ...] = (
    _command("support", "help", "/support help", "read the help", *A),
    _command("support", "status", "/support status", "see open requests", *A, needs=WATCHED),
    _command("support", "stats", "/support stats [7d]", "see the figures", *A, needs=CHANNEL),
    _command(
        "support", "responders", "/support responders", "see the responders", *A, needs=WATCHED
    ),
    _command("support", "report", "/support report [last]", "post the report", *A, needs=WATCHED),
    _command("support", "slo", "/support slo", "see the objective", *A, needs=WATCHED),
    _command("support", "faq", "/support faq add|list|remove", "edit the FAQ", *A, needs=CHANNEL),
    _command(
        "support", "template", "/support template …", "edit triage replies", *A, needs=CHANNEL
    ),
    _command(
        "support",
        "watch",
        "/support watch …",
        "change what Firstline watches",
        ADMIN,
        needs=CHANNEL,
        changes_home=True,
    ),
    _command(
        "support",
        "unwatch",
        "/support unwatch",
        "change what Firstline watches",
        ADMIN,
        needs=CHANNEL,
        changes_home=True,
    ),
    _command(
        "support",
        "responders set",
        "/support responders @a @b",
        "change the responders",
        ADMIN,
        needs=WATCHED,
    ),
    _command(
        "support",
        "slo set",
        "/support slo set 95% 28d",
        "change the objective",
        ADMIN,
        needs=WATCHED,
        changes_home=True,
    ),
    _command(
        "support",
        "faq switch",
        "/support faq on|off",
        "turn suggested answers on or off",
        ADMIN,
        needs=CHANNEL,
    ),
    _command(
        "support",
        "suggest switch",
        "/support suggest on|off [threshold=35]",
        "turn answers from history on or off",
        ADMIN,
        needs=CHANNEL,
    ),
    _command(
        "support",
        "suggest forget",
        "/support suggest forget <link>",
        "keep a thread out of answers from history",
        *A,
        needs=CHANNEL,
    ),
    _command("rota", "help", "/rota help", "read the help", *A),
    _command("rota", "who", "/rota who", "see who is on support", *A, needs=ROTA),
    _command("rota", "show", "/rota show", "see the rota", *A, needs=ROTA),
    _command("rota", "history", "/rota history", "see the rota's history", *A, needs=ROTA),
    _command("rota", "plan", "/rota plan 12", "see a plan", *A, needs=ROTA),
    _command("rota", "calendar", "/rota calendar", "get the calendar link", *A, needs=ROTA),
    _command("rota", "toil", "/rota toil [2026-11]", "see time off in lieu", *A, needs=ROTA),
    _command(
        "rota",
        "away",
        "/rota away @name 2026-12-01..2026-12-05",
        "record leave",
        *A,
        needs=ROTA,
        changes_home=True,
    ),
    _command(
        "rota",
        "config",
        "/rota config … [toil=a|b|off]",
        "change the rota",
        LEAD,
        ADMIN,
        needs=CHANNEL,
        changes_home=True,
    ),
    _command("rota", "add", "/rota add @name [prod]", "change the rota", LEAD, ADMIN, needs=ROTA),
    _command("rota", "remove", "/rota remove @name", "change the rota", LEAD, ADMIN, needs=ROTA),
    _command("rota", "set", "/rota set @name prod=yes", "change the rota", LEAD, ADMIN, needs=ROTA),
    _command(
        "rota",
        "swap",
        "/rota swap @out @in [2026-12-02]",
        "propose a swap",
        Who.MEMBER,
        LEAD,
        ADMIN,
        needs=ROTA,
    ),
    _command(
        "rota",
        "choose",
        "/rota choose @a @b [fallback=@c]",
        "choose the pair by hand",
        LEAD,
        ADMIN,
        needs=ROTA,
        changes_home=True,
    ),
    _command("incident", "help", "/incident help", "read the help", *A),
    _command("incident", "list", "/incident list", "list incidents", *A),
    _command(
        "incident",
        "declare",
        "/incident declare <title> [sev2]",
        "declare an incident",
        *A,
        needs=CHANNEL,
    ),
    *(
        _command("incident", verb, form, "edit the incident", *A, needs=INCIDENT)
        for verb, form in (
            ("set", "/incident set <section> <text>"),
            ("action", "/incident action add|done …"),
            ("why", '/incident why "text"'),
            ("severity", "/incident severity sev1"),
            ("role", "/incident role commander @x"),
            ("note", "/incident note <text>"),
            ("update", "/incident update <text>"),
            ("resolve", "/incident resolve [summary]"),
        )
    ),
    _command(
        "incident",
        "handoff",
        "/incident handoff commander @x",
        "hand this role over",
        Who.HOLDER,
        Who.COMMANDER,
        ADMIN,
        needs=INCIDENT,
    ),
)


def _button(
    action_id: str, form: str, does: str, *who: Who, checks: str, changes_home: bool = False
) -> Rule:
    return Rule(
        key=action_id, form=form, does=does, who=who, checks=checks, changes_home=changes_home
    )


PICK = (Who.PICKED, LEAD, ADMIN)
SUGGESTED = "the week is still a suggestion and has not started"
PENDING = "the handoff is pending and the incident open"

BUTTON_RULES: tuple[Rule, ...] = (
    _button(
        "desk_on_it", "I'm on it (nudge)", "give this first response", Who.RESPONDER,
        checks="the request is watched, not deleted, in this workspace", changes_home=True,
    ),
    _button(
        "rota_accept", "Accept (pick)", "decide this pick", *PICK,
        checks=SUGGESTED, changes_home=True,
    ),
    _button("rota_another", "Suggest another (pick)", "decide this pick", *PICK, checks=SUGGESTED),
    _button(
        "rota_choose", "Choose… (pick, and its dialog)", "decide this pick", *PICK,
        checks=SUGGESTED + "; the dialog decides only the week of its own rota",
    ),
    _button(
        "rota_handoff_done", "Handoff done (week start)", "mark the handoff done", Who.PAIRS,
        LEAD, ADMIN, checks="the week exists in this workspace",
    ),
    _button(
        "rota_swap_confirm", "Confirm swap", "confirm this swap", Who.NAMED,
        checks="the swap is still pending", changes_home=True,
    ),
    _button(
        "incident_take_over", "I'm taking over (handoff)", "take this role", Who.NAMED,
        checks=PENDING,
    ),
    _button(
        "incident_not_now", "Not now (handoff)", "answer this handoff", Who.NAMED,
        checks=PENDING,
    ),
    _button(
        "incident_snooze", "Snooze (update reminder)", "snooze this reminder", Who.COMMANDER,
        ADMIN, checks="the incident is open and is the one whose channel it was pressed in",
    ),
    _button(
        "incident_declare_from_message", "Declare incident (:fire: offer)",
        "declare an incident from this request", *A,
        checks="the request exists in this workspace; no incident was declared from it yet",
    ),
    _button(
        "incident_link_request", "Link this request (after /incident declare)",
        "start the incident's ticket with this request", *A,
        checks="the incident is open and it and the request are in this workspace",
    ),
    _button(
        "history_helpful", "Helpful (answer from history)", "judge this suggestion", *A,
        checks="the suggestion exists in this workspace and was not judged yet",
        changes_home=True,
    ),
    _button(
        "history_unrelated", "Not related (answer from history)", "judge this suggestion", *A,
        checks="the suggestion exists in this workspace and was not judged yet",
    ),
    _button(
        "toil_woke", "It woke me (out-of-hours DM)", "say it woke them", Who.NAMED,
        checks="the out-of-hours record exists in this workspace",
    ),
    _button(
        "triage", "Triage (message menu, and its dialog)", "triage this request", *A,
        checks="the request is tracked in this workspace",
    ),
)  # fmt: skip

RULES = {rule.key: rule for rule in (*COMMAND_RULES, *BUTTON_RULES)}


def who_text(rule: Rule) -> str:
    names = [WHO_SAYS[w] for w in rule.who]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def permissions_markdown() -> str:
    """docs/permissions.md, from the rules above (a test checks the file agrees)."""

    def table(rules: tuple[Rule, ...], first: str, last: str) -> list[str]:
        rows = [f"| {first} | Who may | {last} |", "| --- | --- | --- |"]
        for rule in rules:
            form = rule.form.replace("|", "\\|")
            needs = rule.checks or NEEDS_SAYS[rule.needs] or "–"
            rows.append(f"| `{form}` | {who_text(rule)} | {needs} |")
        return rows

    return "\n".join(
        [
            "# Who may do what",
            "",
            "Every command and button goes through one front door (`bot/frontdoor/`), which",
            "checks these rules before anything changes. Anyone refused gets a private answer",
            "(ephemeral in Slack, a 1:1 message in Teams) naming why and who may do it; nothing",
            "changes. On Teams, type `@Firstline support …` where Slack has `/support …`.",
            "",
            "*Admins* are the workspace's admins and owners on Slack, and on both platforms",
            "the people listed in `FIRSTLINE_ADMINS` (Slack user ids, Teams or Entra ids).",
            "A button also checks that what it names exists, belongs to this workspace and",
            "is still in a state where pressing it makes sense.",
            "",
            "This file is generated: `python -m bot.frontdoor.rules > docs/permissions.md`",
            "(`tests/unit/test_frontdoor_rules.py` fails when it and the rules disagree), and",
            "`tests/e2e/test_frontdoor.py` tries every row as an admin, the person it allows,",
            "another member and a user of another workspace, on Slack and on Teams.",
            "",
            "## Commands",
            "",
            *table(COMMAND_RULES, "Command", "Needs"),
            "",
            "## Buttons and dialogs",
            "",
            *table(BUTTON_RULES, "Button", "Checked first"),
            "",
        ]
    )


if __name__ == "__main__":
    sys.stdout.write(permissions_markdown())
