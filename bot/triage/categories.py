"""The handbook's list of request categories, and the reply each one starts from.

    category = parse_category("quick question")   # "quick_question"

The defaults follow the handbook ("What makes a proper support request?"): a bug is
verified and ticketed, documented answers get a link, admin-panel jobs a pointer to the
page, manual data changes a risk estimate and a preference for recreating. Each channel
can replace any of them with ``/support template <category> "text"``.
"""

from __future__ import annotations

import re

from bot.errors import UsageError

CATEGORIES: dict[str, str] = {
    "bug": "Bug",
    "error": "Error",
    "quick_question": "Quick question",
    "training_gap": "Training gap",
    "documented": "Documented",
    "not_ours": "Not ours",
    "self_serve_data": "Self-serve data",
    "admin_panel": "Admin panel",
    "manual_data_change": "Manual data change",
}

DEFAULT_TEMPLATES: dict[str, str] = {
    "bug": (
        "Thanks {requester}: this looks like a bug. We are reproducing it and will create a bug "
        "ticket; updates follow in this thread."
    ),
    "error": (
        "Thanks {requester}: we are finding out what causes this error and will explain it here."
    ),
    "quick_question": "",
    "training_gap": (
        "{requester}, this is something a short training session covers well: we will suggest "
        "one. Until then we answer here."
    ),
    "documented": (
        "📖 {requester}, this is answered in the documentation: we will link the relevant "
        "section in this thread."
    ),
    "not_ours": (
        "{requester}, this is not about the systems we maintain, so the right people for it "
        "are elsewhere: please ask the team that owns it."
    ),
    "self_serve_data": (
        "{requester}, you can get this data yourself from the system's own exports and "
        "reports; tell us here if you get stuck."
    ),
    "admin_panel": (
        "{requester}, this can be done in the admin panel: we will point you to the page in "
        "this thread."
    ),
    "manual_data_change": (
        "{requester}, changing data by hand is risky: we first estimate the difficulty and the "
        "risk, and prefer restarting or recreating the record to editing it. We will come back "
        "with the safest option here."
    ),
}

_SEPARATORS = re.compile(r"[\s\-]+")


def parse_category(text: str) -> str:
    """A category id from "quick question", "Quick-Question" or "quick_question"."""
    key = _SEPARATORS.sub("_", text.strip().lower())
    if key in CATEGORIES:
        return key
    raise UsageError(
        f'"{text}" is not a category. Categories: {", ".join(CATEGORIES)} '
        '(spaces work too, e.g. "quick question").'
    )


def fill(template: str, *, requester: str) -> str:
    """The template with ``{requester}`` replaced by a mention (other braces stay as typed)."""
    return template.replace("{requester}", f"<@{requester}>")
