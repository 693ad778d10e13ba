"""The production-support ticket: the handbook's sections, filled from the request.

    text = description(original="Scanner app down", link=url, requester="U1", ..., style="jira")

Everything but the original request starts as TBD, as the handbook says; the ticket
then becomes the one place the incident's information radiates from.
"""

from __future__ import annotations

from datetime import datetime

SECTIONS = (
    ("The Original Request", None),
    ("The Symptoms", "TBD"),
    ("Scope", "TBD"),
    ("Root Cause(s)", "TBD"),
    ("Next Actions", "- Look into the problem"),
    ("Fixes for Symptoms", "TBD"),
    ("Fixes for the Root Cause", "TBD"),
    ('"Whys"', "TBD"),
    ("Prevention / Mitigation suggestions", "TBD"),
)


def summary(text: str, limit: int = 120) -> str:
    """The ticket's title: the request's first line, shortened."""
    first = " ".join((text or "").strip().splitlines()[0].split()) if text.strip() else ""
    first = first or "Support request"
    return first if len(first) <= limit else first[: limit - 1] + "…"


def description(
    *,
    original: str,
    link: str,
    requester: str,
    channel: str,
    posted_at: datetime,
    reported_by: str,
    style: str = "jira",
) -> str:
    """Jira wiki markup (``style="jira"``) or Markdown (``style="markdown"``)."""
    heading = "h4. " if style == "jira" else "#### "
    quote = (
        "{quote}\n" + original.strip() + "\n{quote}"
        if style == "jira"
        else "\n".join("> " + line for line in original.strip().splitlines())
    )
    origin = (
        f"Asked by {requester} in {channel} at {posted_at.strftime('%Y-%m-%d %H:%M UTC')}"
        + (f": {link}" if link else "")
        + f". Ticket requested by {reported_by} from Slack."
    )
    parts = []
    for title, body in SECTIONS:
        parts.append(heading + title)
        parts.append(f"{quote}\n{origin}" if body is None else body)
    return "\n\n".join(parts) + "\n"
