"""Settings from the environment, with messages that say what is missing and what to do."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import ConfigurationError
from bot.incidents.commands import parse_roles
from storage.engine import DEFAULT_URL

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    port: int = 3000
    host: str = "0.0.0.0"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    admins: frozenset[str] = field(default_factory=frozenset)
    support_command: str = "/support"
    incident_command: str = "/incident"
    rota_command: str = "/rota"
    public_url: str = ""
    incident_roles: dict[str, tuple[str, ...]] | None = None
    log_level: str = "INFO"
    api_token: str = ""  # FIRSTLINE_API_TOKEN: bearer token for GET /api/stats

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
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_URL,
            port=int(port_text),
            host=env.get("HOST", "0.0.0.0"),
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_api_url=env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            admins=frozenset(re.split(r"[\s,]+", env.get("FIRSTLINE_ADMINS", "").strip())) - {""},
            support_command=command,
            incident_command=env.get("FIRSTLINE_INCIDENT_COMMAND", "/incident"),
            rota_command=env.get("FIRSTLINE_ROTA_COMMAND", "/rota"),
            public_url=env.get("FIRSTLINE_PUBLIC_URL", ""),
            incident_roles=parse_roles(env["FIRSTLINE_INCIDENT_ROLES"])
            if env.get("FIRSTLINE_INCIDENT_ROLES")
            else None,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            api_token=env.get("FIRSTLINE_API_TOKEN", ""),
        )

    def require_slack(self) -> None:
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
                "(HTTP mode) or SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode); see README, "
                "'Create the Slack app'. To try Firstline without Slack, run: firstline demo"
            )

    def redacted(self) -> dict[str, str]:
        """The settings as safe to log: secrets shown only as set or not."""
        return {
            "database": _redact_url(self.database_url),
            "port": str(self.port),
            "slack_api_url": self.slack_api_url,
            "mode": "socket" if self.slack_app_token else "http",
            "bot_token": "set" if self.slack_bot_token else "missing",
            "signing_secret": "set" if self.slack_signing_secret else "missing",
            "admins": str(len(self.admins)),
            "api_token": "set" if self.api_token else "missing",
        }


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
