"""The postmortem draft: an incident's story as Markdown, ready to edit and file.

    markdown = render_postmortem(data)

This module owns the draft's layout, its local times and its escaping. It is pure: the
incident service gathers ``PostmortemData``; nothing here reads the database or Slack.

Layout: a header (severity, declared, resolved, duration, channel, time zone), then
Summary, Timeline (a table), Roles and handoffs (tables), Original request (quoted),
Symptoms, Scope, Root cause(s), Fixes for symptoms, Fixes for root cause, Whys (numbered),
Prevention / mitigation and Actions (a GitHub checklist). Empty parts say "TBD".

Times in the data are aware UTC (naive ones are taken as UTC). They are shown in ``tz``:
HH:MM, with the date when the times shown fall on more than one local day. The zone's
abbreviation is given once, on the declaration; a time whose UTC offset differs from the
declaration's (the incident crossed a DST change) carries its own, so "02:30 CEST" and
"02:30 CET" on the night summer time ends stay apart.

Slack markup becomes Markdown (``<@U1>`` → the person's name, ``<url|label>`` →
``[label](url)``), table cells escape ``|``, and free text cannot start a heading that would
break the draft's structure. The same data always renders the same text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.durations import format_duration


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    who: str | None  # user id; None for Firstline itself
    kind: str  # "declared", "note", "update", "pinned", "role", … (not shown)
    text: str  # Slack markup allowed
    link: str | None = None


@dataclass(frozen=True)
class RoleSpan:
    role: str
    user: str
    assumed_at: datetime
    renounced_at: datetime | None  # None: held to the end


@dataclass(frozen=True)
class HandoffRecord:
    role: str
    giver: str | None
    taker: str
    requested_at: datetime
    confirmed_at: datetime | None  # None: never confirmed
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
    tz: str  # IANA zone for displayed times, e.g. "Europe/Berlin"
    original_request: str | None
    original_link: str | None
    # "symptoms", "scope", "root_cause", "fixes_symptoms", "fixes_root_cause", "prevention"
    sections: dict[str, str]
    whys: list[str]
    actions: list[ActionItem]
    roles: list[RoleSpan]
    handoffs: list[HandoffRecord]
    timeline: list[TimelineItem]
    names: dict[str, str] = field(default_factory=dict)  # user id → "@beth"


TBD = "TBD"
_BEFORE_WHYS = (
    ("symptoms", "Symptoms"),
    ("scope", "Scope"),
    ("root_cause", "Root cause(s)"),
    ("fixes_symptoms", "Fixes for symptoms"),
    ("fixes_root_cause", "Fixes for root cause"),
)
_AFTER_WHYS = (("prevention", "Prevention / mitigation"),)

_SLACK = re.compile(r"<([^<>\n]*)>")
_LINK_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_BLOCK_START = re.compile(r"^(\s{0,3})(#|=+\s*$|-+\s*$|\|)")
_URL_UNSAFE = str.maketrans(
    {" ": "%20", "(": "%28", ")": "%29", "|": "%7C", "<": "%3C", ">": "%3E"}
)


def format_span(seconds: float) -> str:
    """A duration as the draft says it: "45 s", "7 min 12 s", "1 h 25 min", "2 d 3 h"."""
    return format_duration(max(0.0, seconds))


def render_postmortem(data: PostmortemData) -> str:
    """The Markdown draft for ``data`` (raises ``ZoneInfoNotFoundError`` for an unknown tz)."""
    return _Draft(data).render()


class _Draft:
    """One rendering: the zone, the names and the time format shared by every section."""

    def __init__(self, data: PostmortemData) -> None:
        self.data = data
        self.zone = ZoneInfo(data.tz)
        self.start = self.local(data.declared_at)
        shown = [self.local(at) for at in self._times_shown()]
        self.with_date = any(at.date() != self.start.date() for at in shown)

    def render(self) -> str:
        lines = [
            *self.header(),
            *self.section("Summary", [self.prose(self.data.summary)]),
            *self.section("Timeline", self.timeline()),
            *self.section("Roles and handoffs", self.roles()),
            *self.section("Original request", self.original()),
        ]
        for key, title in _BEFORE_WHYS:
            lines += self.section(title, [self.prose(self.data.sections.get(key, ""))])
        whys = [f"{n}. {self.item(why)}" for n, why in enumerate(self.data.whys, 1)]
        lines += self.section("Whys", whys or [TBD])
        for key, title in _AFTER_WHYS:
            lines += self.section(title, [self.prose(self.data.sections.get(key, ""))])
        lines += self.section("Actions", self.actions())
        return "\n".join(lines).rstrip("\n") + "\n"

    # Parts

    def header(self) -> list[str]:
        data = self.data
        declared = f"{self.start:%Y-%m-%d %H:%M} {self.start.tzname()}"
        lines = [
            f"# Postmortem: {self.inline(data.title) or 'Untitled incident'}",
            "",
            f"- **Severity:** {self.inline(data.severity).upper() or TBD}",
            f"- **Declared:** {declared} by {self.name(data.declared_by)}",
        ]
        if data.resolved_at is None:
            lines += ["- **Resolved:** not yet", "- **Duration:** ongoing"]
        else:
            lasted = (_utc(data.resolved_at) - _utc(data.declared_at)).total_seconds()
            lines += [
                f"- **Resolved:** {self.when(data.resolved_at, date=True)}",
                f"- **Duration:** {format_span(lasted)}",
            ]
        lines += [
            f"- **Channel:** {self.inline(data.channel)}",
            f"- **Time zone:** {data.tz}",
        ]
        return lines

    def timeline(self) -> list[str]:
        items = sorted(self.data.timeline, key=lambda item: _utc(item.at))
        if not items:
            return ["Nothing was recorded."]
        rows = ["| time | who | what |", "|---|---|---|"]
        for item in items:
            what = self.cell(item.text)
            if item.link:
                what = f"{what} ([link]({_url(item.link)}))".strip()
            who = self.cell(self.name(item.who)) if item.who else "Firstline"
            rows.append(f"| {self.when(item.at)} | {who} | {what} |")
        return rows

    def roles(self) -> list[str]:
        spans = sorted(self.data.roles, key=lambda span: _utc(span.assumed_at))
        handoffs = sorted(self.data.handoffs, key=lambda handoff: _utc(handoff.requested_at))
        if not spans and not handoffs:
            return ["No roles were assigned."]
        lines: list[str] = []
        if spans:
            lines += ["### Who held each role", ""]
            lines += ["| role | who | from | to | held for |", "|---|---|---|---|---|"]
            for span in spans:
                end = span.renounced_at or self.data.resolved_at
                held = "–" if end is None else format_span(_seconds(span.assumed_at, end))
                if span.renounced_at is not None:
                    until = self.when(span.renounced_at)
                else:
                    until = "still held" if self.data.resolved_at is None else "the end"
                lines.append(
                    f"| {self.cell(span.role)} | {self.cell(self.name(span.user))} "
                    f"| {self.when(span.assumed_at)} | {until} | {held} |"
                )
        if handoffs:
            lines += [""] if lines else []
            lines += ["### Handoffs", ""]
            lines += [
                "| role | from | to | requested | confirmed | took | note |",
                "|---|---|---|---|---|---|---|",
            ]
            for handoff in handoffs:
                if handoff.confirmed_at is None:
                    confirmed, took = "**not confirmed**", "–"
                else:
                    confirmed = self.when(handoff.confirmed_at)
                    took = format_span(_seconds(handoff.requested_at, handoff.confirmed_at))
                giver = self.cell(self.name(handoff.giver)) if handoff.giver else "–"
                taker = self.cell(self.name(handoff.taker))
                lines.append(
                    f"| {self.cell(handoff.role)} | {giver} | {taker} "
                    f"| {self.when(handoff.requested_at)} | {confirmed} | {took} "
                    f"| {self.cell(handoff.note)} |"
                )
        return lines

    def original(self) -> list[str]:
        data = self.data
        lines: list[str] = []
        if data.original_request and data.original_request.strip():
            text = self.plain(data.original_request).strip("\n")
            lines += [f"> {line}".rstrip() for line in text.splitlines()]
        if data.original_link:
            lines += [""] if lines else []
            lines.append(f"[Original message]({_url(data.original_link)})")
        return lines or ["Declared by command; there is no original message."]

    def actions(self) -> list[str]:
        items = sorted(self.data.actions, key=lambda action: action.number)
        return [
            f"- [{'x' if action.done else ' '}] {action.number}. {self.inline(action.text)} "
            + (f"(owner: {self.name(action.owner)})" if action.owner else "(no owner)")
            for action in items
        ] or ["None recorded."]

    # Text

    @staticmethod
    def section(title: str, body: Sequence[str]) -> list[str]:
        return ["", f"## {title}", "", *body]

    def name(self, user: str | None, label: str | None = None) -> str:
        if not user:
            return "Firstline"
        known = self.data.names.get(user)
        if known:
            return known
        return f"@{label.lstrip('@')}" if label else f"@{user}"

    def plain(self, text: str) -> str:
        """Slack markup as Markdown: people and channels by name, links as [label](url)."""
        return _SLACK.sub(self._markup, text or "")

    def _markup(self, match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target[:2] in ("@U", "@W"):
            return self.name(target[1:], label or None)
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):  # <!here>, <!subteam^S1|@oncall>, <!date^…|fallback>
            special = target[1:].split("^", 1)[0]
            if special in ("here", "channel", "everyone"):
                return f"@{special}"
            if special == "subteam":
                return f"@{label.lstrip('@')}" if label else "@group"
            return label or special
        if _LINK_SCHEME.match(target):
            if label and label != target:
                return f"[{_label(label)}]({_url(target)})"
            return f"<{_url(target)}>"
        return match.group(0)

    def prose(self, text: str) -> str:
        """A free-text part: Slack markup converted, no line able to start a heading."""
        body = self.plain(text).strip()
        if not body:
            return TBD
        return "\n".join(_BLOCK_START.sub(r"\1\\\2", line.rstrip()) for line in body.splitlines())

    def inline(self, text: str) -> str:
        """Text that must stay on one line (title, channel, checklist items)."""
        return " ".join(self.plain(text).split())

    def item(self, text: str) -> str:
        """A numbered item's text, which would start a heading if it began with "#"."""
        return _BLOCK_START.sub(r"\1\\\2", self.inline(text))

    def cell(self, text: str) -> str:
        return " ".join(self.plain(text).split()).replace("|", "\\|")

    # Times

    def local(self, at: datetime) -> datetime:
        return _utc(at).astimezone(self.zone)

    def when(self, at: datetime, *, date: bool = False) -> str:
        local = self.local(at)
        shown = local.strftime("%Y-%m-%d %H:%M" if date or self.with_date else "%H:%M")
        if local.utcoffset() != self.start.utcoffset():
            shown += f" {local.tzname()}"
        return shown

    def _times_shown(self) -> Iterable[datetime]:
        data = self.data
        if data.resolved_at is not None:
            yield data.resolved_at
        yield from (item.at for item in data.timeline)
        for span in data.roles:
            yield span.assumed_at
            if span.renounced_at is not None:
                yield span.renounced_at
        for handoff in data.handoffs:
            yield handoff.requested_at
            if handoff.confirmed_at is not None:
                yield handoff.confirmed_at


def _utc(at: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC, never as this machine's local time."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _seconds(start: datetime, end: datetime) -> float:
    return (_utc(end) - _utc(start)).total_seconds()


def _url(url: str) -> str:
    return url.strip().translate(_URL_UNSAFE)


def _label(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")
