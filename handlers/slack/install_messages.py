"""What the browser shows after an install attempt: one place for the install pages' wording.

Everything interpolated is HTML-escaped: a workspace name is chosen by its admins.
"""

from __future__ import annotations

from html import escape

_FAILURES = {
    "invalid_state": (
        "This install link has expired or was already used",
        "Install links work once and for 10 minutes.",
    ),
    "invalid_browser": (
        "This install was started in another browser",
        "Finish the install in the browser you started it in (Firstline checks a cookie "
        "it set there), or start again here.",
    ),
    "access_denied": (
        "The install was cancelled",
        "Slack says the install was not allowed; nothing was installed.",
    ),
    "missing_code": (
        "Slack did not confirm the install",
        "The address Slack sent you back to had no confirmation code.",
    ),
    "invalid_code": (
        "Slack did not confirm the install",
        "Slack refused the confirmation code (it was used already, has expired, or the "
        "app's SLACK_CLIENT_ID / SLACK_CLIENT_SECRET are wrong).",
    ),
    "storage_error": (
        "Firstline could not save the install",
        "The database refused it; nothing was installed. Try again in a minute, and if it "
        "keeps failing ask whoever runs Firstline to check its logs.",
    ),
}


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · Firstline</title></head>"
        f'<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def installed_page(*, team: str, url: str) -> str:
    opened = f' <a href="{escape(url)}">Open {escape(team)} in Slack</a>.' if url else ""
    return _document(
        "Firstline is installed",
        f"<p>Firstline is now installed in <b>{escape(team)}</b>.{opened}</p>"
        "<p>Next: invite <code>@firstline</code> to your support channel and type "
        "<code>/support watch requests</code> there.</p>",
    )


def failed_page(*, reason: str, install_url: str) -> str:
    title, why = _FAILURES.get(
        reason,
        ("The install did not finish", f"Slack reported: {reason}. Nothing was installed."),
    )
    return _document(
        title,
        f'<p>{escape(why)}</p><p><a href="{escape(install_url)}">Start the install again</a>.</p>',
    )


NOT_INSTALLED = (
    "Firstline is not installed in this workspace (or its install was removed). "
    "Ask a workspace admin to install it again from Firstline's /slack/install page."
)
