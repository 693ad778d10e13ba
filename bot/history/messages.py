"""What answers from history say: the suggestion, button answers and command replies."""

from __future__ import annotations

from bot.content import Button, Content, message_ref

HELPFUL = "history_helpful"
UNRELATED = "history_unrelated"
SNIPPET = 160


def snippet(text: str, limit: int = SNIPPET) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def suggestion(
    *, suggestion_id: int, channel_id: str, ts: str, question: str, answered_by: str, answer: str
) -> Content:
    link = message_ref(channel_id, ts, f"“{snippet(question, 80)}”")
    return Content(
        text=f"🗂️ This looks like an earlier request in this channel: {link}\n"
        f"<@{answered_by}> answered: “{snippet(answer)}”",
        buttons=(
            Button("Helpful", HELPFUL, value=str(suggestion_id), style="primary"),
            Button("Not related", UNRELATED, value=str(suggestion_id)),
        ),
        context="Suggested by Firstline from this channel's history. Someone from support "
        "will still answer; if this solves it, press Helpful to close your request.",
    )


def gone() -> Content:
    return Content(text="That suggestion no longer exists (its thread was forgotten).")


def already(verdict: str, by: str) -> Content:
    said = "helpful" if verdict == "helpful" else "not related"
    return Content(text=f"<@{by}> already marked this suggestion {said}.")


def marked_unrelated() -> Content:
    return Content(text="Thanks: Firstline will not suggest that thread for this question again.")


def marked_helpful(*, closed: bool) -> Content:
    if closed:
        return Content(text="Thanks: counted as helpful, and your request is closed.")
    return Content(
        text="Thanks: counted as helpful. The request stays open until support answers it "
        "or the requester closes it."
    )


def switched(*, channel_id: str, enabled: bool, threshold: float, threads: int) -> Content:
    if not enabled:
        return Content(text=f"Answers from history are off in <#{channel_id}>.")
    return Content(
        text=f"Answers from history are on in <#{channel_id}>: a new request whose closest "
        f"earlier request scores at least {threshold:g} (of 100) gets it suggested in its "
        f"thread. {threads} answered requests are known here so far; `firstline import` "
        "brings in older ones."
    )


def forgotten(*, channel_id: str, ts: str) -> Content:
    return Content(
        text=f"Forgot {message_ref(channel_id, ts, 'that thread')}: it will not be suggested "
        "again, and its replies are no longer kept."
    )


def stats_line(*, suggested: int, helpful: int, unrelated: int) -> str:
    return (
        f"Answers from history: {suggested} suggested, {helpful} marked helpful, "
        f"{unrelated} not related."
    )
