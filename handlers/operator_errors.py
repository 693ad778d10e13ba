"""One line for each mistake an operator can make, instead of a traceback.

``explain`` turns an exception raised while starting or running a command into the line
to print (what is wrong, what to type), or ``None`` for a bug, which keeps its traceback.
``slack_failure`` tells a Slack that cannot be reached from one that refuses the token;
``cli_wording`` rewrites the core's slash-command hints into the shell's syntax; the id
types let argparse refuse ``firstline watch not-a-channel`` before anything runs.
"""

from __future__ import annotations

import argparse
import re
import socket
import sqlite3
from collections.abc import Callable, Iterator

from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from bot.errors import FirstlineError
from storage.engine import DatabaseLocationError

_TOKEN_ERRORS = {
    "invalid_auth": "it is not a valid token",
    "not_authed": "no token was sent",
    "account_inactive": "the app was uninstalled or its bot deactivated",
    "token_revoked": "the token was revoked",
    "token_expired": "the token expired (token rotation is on: turn it off for a bot token)",
    "not_allowed_token_type": "it is not a bot token (xoxb-…)",
}


def slack_failure(error: BaseException, *, api_url: str) -> str:
    """Why auth.test failed, in words an operator can act on."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or error.response.status_code)
        reason = _TOKEN_ERRORS.get(code, code)
        return (
            f"Slack refused the bot token: {reason} ({code}). Copy the Bot User OAuth Token "
            "(xoxb-…) from the app's OAuth & Permissions page into SLACK_BOT_TOKEN."
        )
    return (
        f"Could not reach Slack at {api_url} ({type(error).__name__}: {error or 'no answer'}). "
        "Check the network, a proxy (HTTPS_PROXY) or SLACK_API_URL; the token was not checked."
    )


def explain(error: BaseException, *, database_url: str) -> str | None:
    """The one line for an operator's mistake, or None when it is a bug."""
    if isinstance(error, FirstlineError | DatabaseLocationError):
        return error.message
    where = _database_place(database_url)
    for cause in _chain(error):
        if isinstance(cause, NoSuchModuleError | ArgumentError):
            return f"DATABASE_URL is not usable ({cause}); see firstline serve --help."
        if isinstance(cause, ModuleNotFoundError) and cause.name in ("asyncpg", "aiosqlite"):
            return (
                f"The {cause.name} driver is not installed: pip install '.[postgres]' "
                "(or pip install asyncpg)."
                if cause.name == "asyncpg"
                else "The aiosqlite driver is missing: pip install -e . again."
            )
        name = type(cause).__name__
        if name == "InvalidPasswordError" or "password authentication failed" in str(cause):
            return f"The database at {where} refused the user or password in DATABASE_URL."
        if name == "InvalidCatalogNameError":
            return (
                f"The database named in DATABASE_URL does not exist at {where}: create it "
                "(createdb NAME) or fix the name."
            )
        if isinstance(cause, socket.gaierror):
            return f"Cannot find the database host {where} (DNS: {cause}); fix DATABASE_URL."
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"Nothing answers at {where}: is the database running, and are the host and "
                "port in DATABASE_URL right?"
            )
        if isinstance(cause, TimeoutError) and isinstance(error, DBAPIError | OSError):
            return f"The database at {where} did not answer in time; check DATABASE_URL."
        if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
            return (
                f"Cannot open the SQLite database {where}: check the file's permissions, or "
                "fix DATABASE_URL."
            )
        if isinstance(cause, OSError) and isinstance(error, DBAPIError | OSError):
            return f"Cannot connect to the database at {where} ({cause}); check DATABASE_URL."
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            yield orig
        current = current.__cause__ or current.__context__


def _database_place(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "DATABASE_URL"
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


# -- the shell's syntax --------------------------------------------------------------------

_OPTION = re.compile(r"\b(target|responders|hours|tz|holidays|escalate|ack|done)=")


_SLASH_TO_SHELL = (
    ("/support watch requests", "firstline watch CHANNEL_ID --kind requests"),
    ("/support watch alerts", "firstline watch CHANNEL_ID --kind alerts"),
    ("/support watch", "firstline watch"),
    ("/support responders @a @b", "firstline responders CHANNEL_ID U… U…"),
    ("/support responders", "firstline responders"),
)


def cli_wording(message: str) -> str:
    """The core speaks slash-command syntax; the shell has options and ids instead."""
    for slash, shell in _SLASH_TO_SHELL:
        message = message.replace(slash, shell)
    message = re.sub(r"escalate=@[\w-]+", "--escalate S0123ABCD", message)
    return _OPTION.sub(lambda m: f"--{m.group(1)} ", message)


def _id_type(pattern: str, what: str, example: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(text: str) -> str:
        value = text.strip()
        if not compiled.fullmatch(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}, e.g. {example}")
        return value

    check.__name__ = what
    return check


channel_id = _id_type(
    r"[CG][A-Z0-9]+",
    "a channel id",
    "C0123ABCD (in Slack: the channel's name → About → Channel ID)",
)
user_id = _id_type(
    r"[UW][A-Z0-9]+", "a user id", "U0123ABCD (in Slack: the profile → ⋯ → Copy member ID)"
)
escalation_id = _id_type(
    r"[UWS][A-Z0-9]+", "a user id (U…) or user group id (S…)", "--escalate S0123ABCD"
)
workspace_id = _id_type(r"[TE][A-Z0-9]+", "a workspace id", "T0123ABCD")
