"""Settings from the environment, with messages that say what is missing and what to do."""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.errors import ConfigurationError
from bot.incidents.commands import parse_roles
from storage.engine import DEFAULT_URL

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    port: int = 3000
    host: str = "0.0.0.0"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str = ""  # SLACK_SCOPES; empty: the manifest's (handlers/slack/scopes.py)
    slack_authorize_url: str | None = None
    admins: frozenset[str] = field(default_factory=frozenset)
    support_command: str = "/support"
    incident_command: str = "/incident"
    rota_command: str = "/rota"
    public_url: str = ""
    incident_roles: dict[str, tuple[str, ...]] | None = None
    log_level: str = "INFO"
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_project: str | None = None
    jira_issue_type: str = "Task"
    ticket_webhook: str | None = None
    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_tenant_id: str | None = None
    microsoft_app_type: str = "MultiTenant"
    microsoft_login_url: str | None = None  # stands in for Microsoft sign-in (demo, tests)
    teams_bot_name: str = "Firstline"
    outbox_lease_seconds: int = 15
    outbox_pace_seconds: float = 1.0  # posts per channel: Slack allows about one a second
    drain_seconds: float = 3.0
    api_token: str = ""  # FIRSTLINE_API_TOKEN: bearer token for GET /api/stats
    # FIRSTLINE_PAGERDUTY_* and FIRSTLINE_WEBHOOK_*: paging targets, read by handlers/paging.py.
    paging_env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        port_text = env.get("PORT", "3000")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigurationError(
                f"PORT={port_text!r} is not a port number; use e.g. PORT=3000."
            )
        command = env.get("FIRSTLINE_SUPPORT_COMMAND", "/support")
        if not command.startswith("/"):
            raise ConfigurationError(
                f"FIRSTLINE_SUPPORT_COMMAND={command!r} must start with a slash, e.g. /support."
            )
        lease_text = env.get("FIRSTLINE_OUTBOX_LEASE", "15")
        if not lease_text.isdigit() or int(lease_text) < 2:
            raise ConfigurationError(
                f"FIRSTLINE_OUTBOX_LEASE={lease_text!r} must be whole seconds, at least 2 "
                "(default 15): how soon another replica takes over a dead one's sends."
            )
        log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in LOG_LEVELS:
            raise ConfigurationError(
                f"LOG_LEVEL={env.get('LOG_LEVEL')!r} is not a log level; use one of "
                f"{', '.join(LOG_LEVELS)}, e.g. LOG_LEVEL=INFO."
            )
        database_url = env.get("DATABASE_URL") or DEFAULT_URL
        check_database_url(database_url)
        pace = _seconds(
            "FIRSTLINE_OUTBOX_PACE",
            env.get("FIRSTLINE_OUTBOX_PACE", "1"),
            most=60,
            hint="(default 1: Slack allows about one message a second per channel).",
        )
        drain = _seconds(
            "FIRSTLINE_DRAIN_SECONDS",
            env.get("FIRSTLINE_DRAIN_SECONDS", "3"),
            most=300,
            hint=", e.g. FIRSTLINE_DRAIN_SECONDS=5.",
        )
        return cls(
            outbox_lease_seconds=int(lease_text),
            outbox_pace_seconds=pace,
            drain_seconds=drain,
            database_url=database_url,
            port=int(port_text),
            host=env.get("HOST", "0.0.0.0"),
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_api_url=env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            slack_client_id=env.get("SLACK_CLIENT_ID") or None,
            slack_client_secret=env.get("SLACK_CLIENT_SECRET") or None,
            slack_scopes=env.get("SLACK_SCOPES") or "",
            slack_authorize_url=env.get("SLACK_AUTHORIZE_URL") or None,
            admins=frozenset(re.split(r"[\s,]+", env.get("FIRSTLINE_ADMINS", "").strip())) - {""},
            support_command=command,
            incident_command=env.get("FIRSTLINE_INCIDENT_COMMAND", "/incident"),
            rota_command=env.get("FIRSTLINE_ROTA_COMMAND", "/rota"),
            public_url=env.get("FIRSTLINE_PUBLIC_URL", ""),
            incident_roles=parse_roles(env["FIRSTLINE_INCIDENT_ROLES"])
            if env.get("FIRSTLINE_INCIDENT_ROLES")
            else None,
            log_level=log_level,
            **_ticket_settings(env),
            paging_env=tuple(
                sorted(
                    (k, v)
                    for k, v in env.items()
                    if k.startswith(("FIRSTLINE_PAGERDUTY_", "FIRSTLINE_WEBHOOK_"))
                )
            ),
            microsoft_app_id=env.get("MICROSOFT_APP_ID") or None,
            microsoft_app_password=env.get("MICROSOFT_APP_PASSWORD") or None,
            microsoft_app_tenant_id=env.get("MICROSOFT_APP_TENANT_ID") or None,
            microsoft_app_type=env.get("MICROSOFT_APP_TYPE") or "MultiTenant",
            microsoft_login_url=env.get("MICROSOFT_LOGIN_URL") or None,
            teams_bot_name=env.get("FIRSTLINE_TEAMS_NAME") or "Firstline",
            api_token=env.get("FIRSTLINE_API_TOKEN", ""),
        )

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token) or self.many_workspaces

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id)

    @property
    def many_workspaces(self) -> bool:
        """OAuth mode: workspaces install Firstline at /slack/install, each with its token."""
        return bool(self.slack_client_id or self.slack_client_secret)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value set: none of them may ever appear in a log line."""
        password = make_url_password(self.database_url)
        values = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.microsoft_app_password,
            self.jira_api_token,
            self.ticket_webhook,
            self.api_token,
            password,
            # Routing keys, webhook URLs (they may carry tokens) and signing secrets.
            *(value for name, value in self.paging_env if not name.endswith("_EVENTS_URL")),
        )
        return tuple(v for v in values if v)

    def require_slack(self) -> None:
        if self.many_workspaces:
            self._require_oauth()
            return
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                # Socket Mode needs no signing secret: nothing arrives over HTTP from Slack.
                ("SLACK_SIGNING_SECRET", self.slack_app_token or self.slack_signing_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"Missing {' and '.join(missing)}. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
                "(HTTP mode) or SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode); see "
                "docs/deploying.md. For Microsoft Teams only, set MICROSOFT_APP_ID and "
                "MICROSOFT_APP_PASSWORD instead (docs/teams.md). To try Firstline "
                "without either, run: firstline demo"
            )

    def require_teams(self) -> None:
        """With an app id, what Teams needs to talk back (the Bot Connector wants a token)."""
        kind = self.microsoft_app_type.lower()
        if kind not in ("multitenant", "singletenant", "userassignedmsi"):
            raise ConfigurationError(
                f"MICROSOFT_APP_TYPE={self.microsoft_app_type!r} is not a bot type; use "
                "MultiTenant (the default), SingleTenant or UserAssignedMSI."
            )
        if kind != "userassignedmsi" and not self.microsoft_app_password:
            raise ConfigurationError(
                "MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is missing: create a client "
                "secret for the bot (Azure portal → your bot → Configuration → Manage Password)."
            )
        if kind != "multitenant" and not self.microsoft_app_tenant_id:
            raise ConfigurationError(
                f"MICROSOFT_APP_TYPE={self.microsoft_app_type} needs MICROSOFT_APP_TENANT_ID "
                "(your directory's tenant id)."
            )

    def _require_oauth(self) -> None:
        missing = [
            name
            for name, value in (
                ("SLACK_CLIENT_ID", self.slack_client_id),
                ("SLACK_CLIENT_SECRET", self.slack_client_secret),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"Missing {' and '.join(missing)}. Many workspaces (OAuth install) need "
                "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET from the app's "
                "Basic Information page; see docs/deploying.md, 'Many workspaces'."
            )
        if self.slack_app_token:
            raise ConfigurationError(
                "SLACK_APP_TOKEN (Socket Mode) serves one workspace; the OAuth install needs "
                "HTTP mode. Unset SLACK_APP_TOKEN, or unset SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET to serve one workspace."
            )

    def redacted(self) -> dict[str, str]:
        """The settings as safe to log: secrets shown only as set or not."""
        return {
            "database": _redact_url(self.database_url),
            "port": str(self.port),
            "slack_api_url": self.slack_api_url,
            "mode": "socket"
            if self.slack_app_token
            else ("oauth" if self.many_workspaces else "http"),
            "bot_token": "set" if self.slack_bot_token else "missing",
            "signing_secret": "set" if self.slack_signing_secret else "missing",
            "admins": str(len(self.admins)),
            "tickets": "jira" if self.jira_url else ("webhook" if self.ticket_webhook else "off"),
            "teams": "on" if self.microsoft_app_id else "off",
            "teams_password": "set" if self.microsoft_app_password else "missing",
            "api_token": "set" if self.api_token else "missing",
        }


def _ticket_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Jira (all four variables) or a webhook; a partial Jira setup names what is missing."""
    jira = {
        name: env.get(name) or None
        for name in ("JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_PROJECT")
    }
    given = [name for name, value in jira.items() if value]
    if given and len(given) < len(jira):
        missing = [name for name, value in jira.items() if not value]
        raise ConfigurationError(
            f"Jira tickets need {', '.join(jira)}; {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing. Set them all, or none to use "
            "FIRSTLINE_TICKET_WEBHOOK (or no tickets)."
        )
    return {
        "jira_url": jira["JIRA_URL"],
        "jira_email": jira["JIRA_EMAIL"],
        "jira_api_token": jira["JIRA_API_TOKEN"],
        "jira_project": jira["JIRA_PROJECT"],
        "jira_issue_type": env.get("JIRA_ISSUE_TYPE") or "Task",
        "ticket_webhook": env.get("FIRSTLINE_TICKET_WEBHOOK") or None,
    }


def make_url_password(url: str) -> str | None:
    """The password in a database URL, if any (so it can be kept out of logs)."""
    match = re.search(r"//[^:/@]+:([^@]*)@", url)
    return match.group(1) if match and match.group(1) else None


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def check_database_url(url: str) -> None:
    """Refuse the DATABASE_URL forms people paste from elsewhere, saying what to write."""
    scheme, sep, rest = url.partition("://")
    example_pg = "postgresql+asyncpg://user:password@host:5432/firstline"
    if not sep:
        raise ConfigurationError(
            f"DATABASE_URL={_redact_url(url)!r} is not a database URL; use e.g. "
            f"DATABASE_URL=sqlite+aiosqlite:///firstline.db or DATABASE_URL={example_pg}."
        )
    backend, _, driver = scheme.lower().partition("+")
    if backend in ("postgres", "postgresql", "pgsql"):
        if driver != "asyncpg":
            raise ConfigurationError(
                f"DATABASE_URL starts with {scheme}://, but Firstline talks to PostgreSQL "
                f"through asyncpg: write postgresql+asyncpg:{_redact_url('//' + rest)}."
            )
        if importlib.util.find_spec("asyncpg") is None:
            raise ConfigurationError(
                "DATABASE_URL names PostgreSQL, but the asyncpg driver is not installed: "
                "pip install '.[postgres]' (or pip install asyncpg)."
            )
        return
    if backend == "sqlite":
        if driver != "aiosqlite":
            raise ConfigurationError(
                f"DATABASE_URL starts with {scheme}://, but Firstline needs the async driver: "
                f"write sqlite+aiosqlite://{rest}."
            )
        return
    raise ConfigurationError(
        f"DATABASE_URL starts with {scheme}://; Firstline runs on SQLite "
        f"(sqlite+aiosqlite:///firstline.db) or PostgreSQL ({example_pg})."
    )


def _seconds(name: str, text: str, *, most: float, hint: str) -> float:
    """A setting in seconds between 0 and ``most``, or a clear error naming it."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:
        separator = "" if hint.startswith(",") else " "
        raise ConfigurationError(
            f"{name}={text!r} must be seconds between 0 and {most:g}{separator}{hint}"
        )
    return value
