"""What Firstline says about incidents: the ticket, handoffs, nudges, announcements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.content import Button, Content, message_ref
from bot.durations import format_duration
from bot.incidents.commands import ROLES, SECTIONS

CONFIRM_HANDOFF = "incident_take_over"
DECLINE_HANDOFF = "incident_not_now"
SNOOZE = "incident_snooze"
DECLARE_FROM_MESSAGE = "incident_declare_from_message"
LINK_REQUEST = "incident_link_request"
ROLE_LABEL = {"commander": "Commander", "operations": "Operations", "communications": "Comms"}


def roles_line(holders: dict[str, str], roles: Sequence[str] = ROLES) -> str:
    def label(role: str) -> str:
        return ROLE_LABEL.get(role, role.capitalize())

    return " · ".join(
        f"{label(r)}: <@{holders[r]}>" if r in holders else f"{label(r)}: –" for r in roles
    )


def topic(
    *, severity: str, holders: dict[str, str], resolved: bool, roles: Sequence[str] = ROLES
) -> str:
    state = "Resolved" if resolved else f"🔥 {severity.upper()}"
    return f"{state} · {roles_line(holders, roles)}"[:250]


def ticket(
    *,
    title: str,
    severity: str,
    status: str,
    source_text: str | None,
    source_channel: str | None,
    source_ts: str | None,
    sections: dict[str, str],
    actions: list[tuple[int, str, str | None, bool]],
    whys: list[str],
) -> Content:
    lines = [f"*🎫 Production support ticket: {title}* ({severity.upper()}, {status})", ""]
    lines.append("*Original request*")
    if source_channel and source_ts:
        # A linked message Firstline never saw (not a request) has a link but no text.
        if source_text:
            lines += [f"> {line}" for line in source_text.splitlines()[:6]]
        lines.append(message_ref(source_channel, source_ts, "original message"))
    else:
        lines.append(
            "_Declared by command; no original message. Link one with /incident declare … "
            "<message link>, or the button offered when it was declared._"
        )
    order = ["symptoms", "scope", "cause"]
    for key in order:
        lines += ["", f"*{SECTIONS[key]}*", sections.get(key) or "TBD"]
    lines += ["", "*Next actions*"]
    lines += [
        f"{'☑' if done else '☐'} {n}. {text}" + (f" (<@{owner}>)" if owner else "")
        for n, text, owner, done in actions
    ] or ['None yet: /incident action add "…" @owner']
    for key in ("fixes", "rootfix"):
        lines += ["", f"*{SECTIONS[key]}*", sections.get(key) or "TBD"]
    lines += ["", "*Whys*"]
    lines += [f"{i}. {why}" for i, why in enumerate(whys, 1)] or ['TBD: /incident why "…"']
    lines += ["", f"*{SECTIONS['prevention']}*", sections.get("prevention") or "TBD"]
    return Content(text="\n".join(lines))


def announcement(*, channel_id: str, title: str, severity: str, declared_by: str) -> Content:
    return Content(
        text=f"🔥 Incident declared by <@{declared_by}>: *{title}* ({severity.upper()}). "
        f"Follow and help in <#{channel_id}>."
    )


def welcome(
    *, title: str, declared_by: str, holders: dict[str, str], roles: Sequence[str] = ROLES
) -> Content:
    return Content(
        text=f"🔥 *{title}*: declared by <@{declared_by}>. {roles_line(holders, roles)}.\n"
        "Assign roles with `/incident role operations @x`; hand one over with "
        "`/incident handoff commander @x`. Post updates with `/incident update …`; "
        "react :pushpin: to put a message on the timeline."
    )


def handoff_request(
    *,
    handoff_id: int,
    role: str,
    giver: str | None,
    taker: str,
    running: float,
    holders: dict[str, str],
    updates: list[str],
    open_actions: list[str],
    note: str,
    roles: Sequence[str] = ROLES,
) -> Content:
    who = f"<@{giver}> hands" if giver else "Handing"
    fields: tuple[tuple[str, str], ...] = (
        ("Running for", format_duration(running)),
        ("Roles now", roles_line(holders, roles)),
        ("Latest updates", "\n".join(updates[-3:]) or "none yet"),
        ("Open actions", "\n".join(open_actions) or "none"),
    )
    if note:
        fields = (*fields, ("Note", note))
    return Content(
        text=f"🤝 {who} *{role}* to <@{taker}>. Nothing changes until <@{taker}> confirms.",
        fields=fields,
        buttons=(
            Button(f"I'm taking over as {role}", CONFIRM_HANDOFF, str(handoff_id), "primary"),
        ),
    )


def handoff_done(*, role: str, taker: str, giver: str | None, at: datetime, took: float) -> Content:
    from_text = f" from <@{giver}>" if giver else ""
    return Content(
        text=f"✅ <@{taker}> took over as *{role}*{from_text} at {at:%H:%M} UTC "
        f"(confirmed after {format_duration(took)})."
    )


def handoff_prompt(
    *, handoff_id: int, role: str, giver: str | None, taker: str, phrase: str
) -> Content:
    source = f"“{phrase}”"
    if giver:
        text = f"{source}: confirm that you, <@{taker}>, take over as *{role}* from <@{giver}>?"
    else:
        text = f"{source}: confirm that you, <@{taker}>, take over as *{role}*?"
    return Content(
        text=text,
        buttons=(
            Button(f"I'm taking over as {role}", CONFIRM_HANDOFF, str(handoff_id), "primary"),
            Button("Not now", DECLINE_HANDOFF, str(handoff_id)),
        ),
    )


def handoff_unconfirmed(*, role: str, taker: str, channel_id: str) -> Content:
    return Content(
        text=f"⏰ <@{taker}> has not confirmed taking over as *{role}* in <#{channel_id}> after "
        "10 minutes. You still hold the role: ask them again or hand it to someone else."
    )


def update_nudge(*, incident_id: int, channel_id: str, quiet_for: float) -> Content:
    return Content(
        text=f"📣 No update in <#{channel_id}> for {format_duration(quiet_for)}. Post one with "
        "`/incident update …` (what changed, what's next, when the next update comes).",
        buttons=(
            Button("Snooze 15 min", SNOOZE, f"{incident_id}:15"),
            Button("Snooze 30 min", SNOOZE, f"{incident_id}:30"),
        ),
    )


def stakeholder_nudge(*, channel_id: str, quiet_for: float) -> Content:
    return Content(
        text=f"📣 Stakeholders have heard nothing about <#{channel_id}> for "
        f"{format_duration(quiet_for)}: please send them an update."
    )


def resolved(*, channel_id: str, title: str, summary: str, lasted: float, roles: str) -> Content:
    text = f"✅ Resolved: *{title}* in <#{channel_id}> after {format_duration(lasted)}."
    if summary:
        text += f"\n{summary}"
    return Content(text=text, context=f"Roles at the end: {roles}")


def link_offer(*, incident_id: int, request_id: int, requester: str, text: str) -> Content:
    """Declared by command where a request is open: start the ticket with it?"""
    snippet = " ".join(text.split())
    snippet = snippet[:100] + ("…" if len(snippet) > 100 else "")
    return Content(
        text=f"The latest open request here, from <@{requester}>: “{snippet}”. "
        "Start the ticket with it?",
        buttons=(Button("Link this request", LINK_REQUEST, f"{incident_id}:{request_id}"),),
    )


def already_declared(
    *, channel_id: str | None, channel_name: str, title: str, status: str
) -> Content:
    """A :fire: on a request that already has an incident: point there, no second one."""
    where = f"<#{channel_id}>" if channel_id else f"#{channel_name}"
    state = "resolved" if status == "resolved" else "open"
    return Content(
        text=f"🔥 This request already has an incident: {where} (*{title}*, {state}). "
        "Follow it there."
    )


def declare_offer(*, channel_id: str, ts: str) -> Content:
    return Content(
        text=f"🔥 Declare an incident from {message_ref(channel_id, ts, 'this message')}? "
        "Firstline opens a channel, invites the support pair and pins the ticket.",
        buttons=(Button("Declare incident", DECLARE_FROM_MESSAGE, f"{channel_id}:{ts}", "danger"),),
    )
