"""Everything Firstline says, in one place, so wording stays consistent and testable."""

from __future__ import annotations

from bot.content import Button, Content, message_ref
from bot.durations import format_duration

ON_IT = "desk_on_it"


def nudge_dm(
    *, channel_id: str, ts: str, waited: float, target: int, kind: str, late: float | None = None
) -> Content:
    noun = "An alert" if kind == "alerts" else "A request"
    return Content(
        context=_late(late),
        text=(
            f"⏳ {noun} in <#{channel_id}> has waited {format_duration(waited)} without a first "
            f"response (target {format_duration(target)}): "
            f"{message_ref(channel_id, ts, 'open it')}"
        ),
        buttons=(Button("I'm on it", ON_IT, value=f"{channel_id}:{ts}", style="primary"),),
    )


def breach(
    *, target: int, mentions: list[str], kind: str, late: float | None, on_it: str
) -> Content:
    who = " ".join(mentions) if mentions else "Nobody is set to respond here"
    noun = "alert" if kind == "alerts" else "request"
    text = (
        f"🚨 This {noun} has had no first response for {format_duration(target)} "
        f"(the target). {who}: can you take it?"
    )
    return Content(text=text, context=_late(late), buttons=_on_it_button(on_it))


def second_line(
    *,
    target: int,
    mentions: list[str],
    escalate: str | None,
    kind: str,
    late: float | None,
    on_it: str,
) -> Content:
    noun = "alert" if kind == "alerts" else "request"
    first = " ".join(mentions) if mentions else "nobody"
    target_text = (
        f"Escalated to {escalate}." if escalate else "No second line is set (escalate=@someone)."
    )
    text = (
        f"🚨🚨 This {noun} has had no first response for {format_duration(2 * target)}, twice "
        f"the target of {format_duration(target)}. Asked first: {first}. {target_text}"
    )
    return Content(text=text, context=_late(late), buttons=_on_it_button(on_it))


def second_line_ping(*, escalate: str, channel_id: str, ts: str, target: int) -> Content:
    return Content(
        text=(
            f"{escalate}: a request in <#{channel_id}> has had no first response for "
            f"{format_duration(2 * target)}: {message_ref(channel_id, ts, 'open it')}"
        )
    )


def answered(*, responder: str, seconds: float, target: int, via: str) -> Content:
    mark = "✅" if seconds <= target else "☑️"
    how = {"reaction": "acknowledged", "done": "closed"}.get(via, "answered")
    return Content(
        text=(
            f"{mark} First response: <@{responder}> {how} it after {format_duration(seconds)} "
            f"(target {format_duration(target)})."
        )
    )


def plain(text: str) -> Content:
    return Content(text=text)


def withdrawn() -> Content:
    return Content(text="The message was deleted, so this request is withdrawn from the figures.")


def unknown_button() -> Content:
    return Content(text="That button is from an older Firstline version; nothing was changed.")


def _late(late: float | None) -> str | None:
    if late is None or late < 60:
        return None
    return f"Sent {format_duration(late)} late: Firstline was not running when this was due."


def _on_it_button(value: str) -> tuple[Button, ...]:
    return (Button("I'm on it", ON_IT, value=value, style="primary"),)
