"""The postmortem draft: an incident's story in Markdown, ready to edit and file.

    markdown = render_postmortem(data)

Pure: the incident service gathers ``PostmortemData``; this module only writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.durations import format_duration


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    who: str | None
    kind: str
    text: str
    link: str | None = None


@dataclass(frozen=True)
class RoleSpan:
    role: str
    user: str
    assumed_at: datetime
    renounced_at: datetime | None


@dataclass(frozen=True)
class HandoffRecord:
    role: str
    giver: str | None
    taker: str
    requested_at: datetime
    confirmed_at: datetime | None
    note: str = ""


@dataclass(frozen=True)
class ActionItem:
    number: int
    text: str
    owner: str | None
    done: bool


@dataclass(frozen=True)
class PostmortemData:
    title: str
    severity: str
    channel: str
    declared_by: str
    declared_at: datetime
    resolved_at: datetime | None
    summary: str
    tz: str
    original_request: str | None
    original_link: str | None
    sections: dict[str, str]
    whys: list[str]
    actions: list[ActionItem]
    roles: list[RoleSpan]
    handoffs: list[HandoffRecord]
    timeline: list[TimelineItem]
    names: dict[str, str] = field(default_factory=dict)


SECTION_TITLES = (
    ("symptoms", "Symptoms"),
    ("scope", "Scope"),
    ("root_cause", "Root cause(s)"),
    ("fixes_symptoms", "Fixes for symptoms"),
    ("fixes_root_cause", "Fixes for root cause"),
)
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")


def format_span(seconds: float) -> str:
    return format_duration(seconds)


def render_postmortem(data: PostmortemData) -> str:
    zone = ZoneInfo(data.tz)
    spans_days = (
        data.resolved_at is not None
        and data.declared_at.astimezone(zone).date() != data.resolved_at.astimezone(zone).date()
    )

    def name(user: str | None) -> str:
        if not user:
            return "Firstline"
        return data.names.get(user, f"@{user}")

    def plain(text: str) -> str:
        text = _USER.sub(lambda m: name(m.group(1)), text)
        text = _LINK.sub(lambda m: f"[{m.group(2)}]({m.group(1)})", text)
        return _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)

    def when(at: datetime, *, with_date: bool = False) -> str:
        local = at.astimezone(zone)
        return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")

    def cell(text: str) -> str:
        return plain(text).replace("|", "\\|").replace("\n", " ")

    start = data.declared_at.astimezone(zone)
    lines = [f"# Postmortem: {data.title}", ""]
    lines.append(f"- **Severity:** {data.severity.upper()}")
    lines.append(f"- **Channel:** {data.channel}")
    lines.append(
        f"- **Declared:** {start:%Y-%m-%d %H:%M} {start.tzname()} by {name(data.declared_by)}"
    )
    if data.resolved_at is not None:
        lasted = (data.resolved_at - data.declared_at).total_seconds()
        lines.append(
            f"- **Resolved:** {when(data.resolved_at, with_date=True)} "
            f"(after {format_span(lasted)})"
        )
    else:
        lines.append("- **Resolved:** not yet")
    lines += ["", "## Summary", "", plain(data.summary) or "TBD", "", "## Timeline", ""]
    lines += ["| time | who | what |", "|---|---|---|"]
    for item in data.timeline:
        what = cell(item.text)
        if item.link:
            what += f" ([link]({item.link}))"
        lines.append(f"| {when(item.at, with_date=spans_days)} | {cell(name(item.who))} | {what} |")
    lines += ["", "## Roles and handoffs", ""]
    for span in data.roles:
        until = when(span.renounced_at, with_date=spans_days) if span.renounced_at else "the end"
        since = when(span.assumed_at, with_date=spans_days)
        lines.append(f"- **{span.role}**: {name(span.user)} from {since} to {until}")
    for handoff in data.handoffs:
        giver = f" from {name(handoff.giver)}" if handoff.giver else ""
        asked = when(handoff.requested_at, with_date=spans_days)
        if handoff.confirmed_at is not None:
            took = format_span((handoff.confirmed_at - handoff.requested_at).total_seconds())
            state = (
                f"confirmed at {when(handoff.confirmed_at, with_date=spans_days)} (after {took})"
            )
        else:
            state = "never confirmed"
        note = f": {plain(handoff.note)}" if handoff.note else ""
        lines.append(
            f"- Handoff of **{handoff.role}**{giver} to {name(handoff.taker)}, "
            f"asked at {asked}, {state}{note}"
        )
    if not data.roles and not data.handoffs:
        lines.append("No roles were assigned.")
    lines += ["", "## Original request", ""]
    if data.original_request:
        lines += [
            f"> {line}" if line else ">" for line in plain(data.original_request).splitlines()
        ]
        if data.original_link:
            lines += ["", f"[Original message]({data.original_link})"]
    else:
        lines.append("Declared by command; no original message.")
    for key, title in SECTION_TITLES:
        lines += ["", f"## {title}", "", plain(data.sections.get(key, "")) or "TBD"]
    lines += ["", "## Whys", ""]
    lines += [f"{i}. {plain(why)}" for i, why in enumerate(data.whys, 1)] or ["TBD"]
    lines += [
        "",
        "## Prevention / mitigation",
        "",
        plain(data.sections.get("prevention", "")) or "TBD",
    ]
    lines += ["", "## Actions", ""]
    lines += [
        f"- [{'x' if a.done else ' '}] {a.number}. {plain(a.text)}"
        + (f" ({name(a.owner)})" if a.owner else "")
        for a in data.actions
    ] or ["None recorded."]
    return "\n".join(lines) + "\n"
