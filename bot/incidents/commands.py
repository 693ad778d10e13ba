"""`/incident …` commands, parsed (see ``bot.grammar.parse_incident``)."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
ROLES = ("commander", "operations", "communications")


def parse_roles(spec: str) -> dict[str, tuple[str, ...]]:
    """FIRSTLINE_INCIDENT_ROLES: "commander=ic,incident commander;operations=ops;scribe=notes"."""
    from bot.errors import ConfigurationError

    roles: dict[str, tuple[str, ...]] = {}
    for part in spec.split(";"):
        if not part.strip():
            continue
        name, _, aliases = part.partition("=")
        role = name.strip().lower()
        if not role.replace(" ", "").isalpha():
            raise ConfigurationError(
                f"FIRSTLINE_INCIDENT_ROLES: {name!r} is not a role name. Write it like "
                '"commander=ic,incident commander;operations=ops;communications=comms".'
            )
        roles[role] = tuple(a.strip().lower() for a in aliases.split(",") if a.strip())
    if "commander" not in roles:
        raise ConfigurationError(
            "FIRSTLINE_INCIDENT_ROLES must include commander (it receives the update reminders)."
        )
    return roles


SECTIONS = {
    "symptoms": "Symptoms",
    "scope": "Scope",
    "cause": "Root cause(s)",
    "fixes": "Fixes for symptoms",
    "rootfix": "Fixes for root cause",
    "prevention": "Prevention / mitigation",
}


@dataclass(frozen=True)
class Declare:
    title: str
    severity: str = "sev3"
    source: tuple[str, str] | None = None  # (channel, ts) of a message link given with it


@dataclass(frozen=True)
class SetSection:
    section: str
    text: str


@dataclass(frozen=True)
class AddAction:
    text: str
    owner: str | None = None


@dataclass(frozen=True)
class ActionDone:
    number: int


@dataclass(frozen=True)
class AddWhy:
    text: str


@dataclass(frozen=True)
class SetSeverity:
    severity: str


@dataclass(frozen=True)
class AssignRole:
    role: str
    user: str


@dataclass(frozen=True)
class RequestHandoff:
    role: str
    user: str
    note: str = ""


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Update:
    text: str


@dataclass(frozen=True)
class Resolve:
    summary: str = ""


@dataclass(frozen=True)
class ListIncidents:
    pass


@dataclass(frozen=True)
class IncidentHelp:
    pass


IncidentCommand = (
    Declare
    | SetSection
    | AddAction
    | ActionDone
    | AddWhy
    | SetSeverity
    | AssignRole
    | RequestHandoff
    | Note
    | Update
    | Resolve
    | ListIncidents
    | IncidentHelp
)

HELP = "\n".join(
    [
        "*Firstline: /incident*",
        "• `/incident declare <title> [sev1|sev2|sev3|sev4] [message link]`: open "
        "#inc-YYYYMMDD-title, invite the support pair, pin the ticket starting with the linked "
        "request (or react :fire: on a request)",
        "• `/incident set symptoms|scope|cause|fixes|rootfix|prevention <text>`: edit the ticket",
        '• `/incident action add "text" @owner`, `/incident action done 2`, `/incident why "text"`',
        "• `/incident severity sev1`, `/incident update <text>` (a status update), "
        "`/incident note <text>` (timeline; or react :pushpin:)",
        "• `/incident role commander @x`: assign; `/incident handoff commander @x [note]`: "
        "@x confirms with a button before anything changes",
        "• `/incident resolve [summary]`: close it, with a postmortem draft; `/incident list`",
        "Roles: commander (IC), operations (ops), communications (comms).",
    ]
)
