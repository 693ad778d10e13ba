"""`firstline doctor`: the setup mistakes an operator makes, found before users notice.

One line per check, ✓ or ✗ with what to do; the exit status is 1 when anything failed.
Checks: the settings for the chosen mode (HTTP, Socket Mode, many workspaces, Teams); the
database answers and is at the latest migration; for each Slack token, that Slack accepts
it (``auth.test``), that it holds every scope in ``handlers/slack/scopes.py`` (Slack lists
the granted ones in the ``x-oauth-scopes`` header), that the bot is a member of every
watched channel (reading one message needs membership; Slack sends no events otherwise),
and that this server's clock agrees with Slack's ``Date`` header (Slack's request
signatures are refused beyond five minutes of skew).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.errors import ConfigurationError
from handlers.operator_errors import explain, slack_failure
from handlers.slack.membership import is_member
from handlers.slack.scopes import BOT_SCOPES, granted
from storage.engine import Database, DatabaseLocationError
from storage.migrate import alembic_config
from storage.models import WatchedChannel

log = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300.0  # Slack refuses request signatures older than five minutes
WARN_SKEW_SECONDS = 30.0


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, whether it passed, and what to do if not."""

    ok: bool
    text: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


@dataclass(frozen=True)
class Watched:
    workspace_id: str
    channel_id: str
    kind: str


class Doctor:
    """Runs every check against the live services named by the settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.now = now
        self.timeout = timeout
        self.checks: list[Check] = []

    def say(self, ok: bool, text: str) -> None:
        self.checks.append(Check(ok, text))

    async def run(self) -> list[Check]:
        self._mode()
        watched, tokens = await self._database()
        if self.settings.slack_bot_token and not self.settings.many_workspaces:
            tokens = {"": self.settings.slack_bot_token}
        if self.settings.slack_enabled:
            async with aiohttp.ClientSession() as session:
                for workspace, token in tokens.items():
                    await self._slack(session, token=token, workspace=workspace, watched=watched)
        if self.settings.teams_enabled:
            self._teams()
        return self.checks

    # -- settings ----------------------------------------------------------------------------

    def _mode(self) -> None:
        s = self.settings
        if not s.slack_enabled and not s.teams_enabled:
            self.say(
                False,
                "No chat platform is configured: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
                "(Slack, HTTP mode), SLACK_APP_TOKEN too for Socket Mode, or MICROSOFT_APP_ID "
                "and MICROSOFT_APP_PASSWORD (Teams). To try Firstline without: firstline demo",
            )
            return
        if not s.slack_enabled:
            return
        try:
            s.require_slack()
        except ConfigurationError as error:
            self.say(False, error.message)
            return
        if s.many_workspaces:
            self.say(
                True, "Many workspaces (OAuth): client id, client secret and signing secret set"
            )
        elif s.slack_app_token:
            if not s.slack_app_token.startswith("xapp-"):
                self.say(
                    False,
                    "SLACK_APP_TOKEN does not start with xapp-: create an app-level token with "
                    "connections:write (Basic Information → App-Level Tokens).",
                )
            else:
                self.say(True, "Socket Mode: app-level token (xapp-…) set")
        else:
            self.say(True, "HTTP mode: signing secret set (requests from Slack are verified)")
        if s.slack_bot_token and not s.slack_bot_token.startswith("xoxb-"):
            self.say(
                False,
                "SLACK_BOT_TOKEN does not start with xoxb-: use the Bot User OAuth Token from "
                "OAuth & Permissions, not a user (xoxp-) or app-level (xapp-) token.",
            )

    def _teams(self) -> None:
        try:
            self.settings.require_teams()
        except ConfigurationError as error:
            self.say(False, error.message)
            return
        try:
            import microsoft_agents.hosting.aiohttp  # noqa: F401
        except ImportError:
            self.say(
                False,
                "MICROSOFT_APP_ID is set but the Teams extra is not installed: "
                "pip install '.[teams]'",
            )
            return
        self.say(True, f"Microsoft Teams: app {self.settings.microsoft_app_id} configured")

    # -- database ----------------------------------------------------------------------------

    async def _database(self) -> tuple[list[Watched], dict[str, str]]:
        """Reachable and migrated; returns the watched channels and any installed tokens."""
        try:
            db = Database.connect(self.settings.database_url, create=False)
        except DatabaseLocationError as error:
            if error.folder_missing:
                self.say(False, error.message)
            else:  # a first start creates the file, which is fine
                self.say(
                    True,
                    f"No database yet at {error.path}: firstline serve (or firstline migrate) "
                    "creates it there",
                )
            return [], {}
        except Exception as error:
            self.say(False, _one_line(error, self.settings.database_url))
            return [], {}
        try:
            current = await asyncio.wait_for(_revision(db), self.timeout)
        except Exception as error:
            await db.close()
            self.say(False, _one_line(error, self.settings.database_url))
            return [], {}
        try:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            where = _redacted(self.settings.database_url)
            if current == head:
                self.say(True, f"Database {where} answers and is at the latest migration ({head})")
            elif current is None:
                self.say(
                    False,
                    f"Database {where} answers but has no Firstline tables: run firstline migrate "
                    "(firstline serve does it too).",
                )
                return [], {}
            else:
                self.say(
                    False,
                    f"Database {where} is at migration {current}, the latest is {head}: run "
                    "firstline migrate (firstline serve does it too).",
                )
            watched = await _watched(db)
            tokens = (
                await self._installed_tokens(db, watched) if self.settings.many_workspaces else {}
            )
            return watched, tokens
        finally:
            await db.close()

    async def _installed_tokens(self, db: Database, watched: list[Watched]) -> dict[str, str]:
        from slack_sdk.oauth.installation_store.sqlalchemy import (
            AsyncSQLAlchemyInstallationStore,
        )

        store = AsyncSQLAlchemyInstallationStore(
            client_id=str(self.settings.slack_client_id), engine=db.engine
        )
        tokens: dict[str, str] = {}
        for workspace in sorted({w.workspace_id for w in watched}):
            bot = await store.async_find_bot(enterprise_id=None, team_id=workspace)
            if bot is None or not bot.bot_token:
                self.say(
                    False,
                    f"Workspace {workspace} has watched channels but no installation: an admin "
                    "there opens https://YOUR-HOST/slack/install",
                )
            else:
                tokens[workspace] = bot.bot_token
        return tokens

    # -- Slack -------------------------------------------------------------------------------

    async def _slack(
        self,
        session: aiohttp.ClientSession,
        *,
        token: str,
        workspace: str,
        watched: list[Watched],
    ) -> None:
        client = AsyncWebClient(
            token=token,
            base_url=self.settings.slack_api_url,
            session=session,
            timeout=int(self.timeout),
            retry_handlers=[],  # one answer is the finding; a retry would only log noise
        )
        try:
            auth = await client.auth_test()
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            self.say(False, slack_failure(error, api_url=self.settings.slack_api_url))
            return
        team = str(auth.get("team_id") or workspace)
        self.say(
            True,
            f"Slack accepts the bot token: @{auth.get('user')} in {auth.get('team')} ({team})",
        )
        self._scopes(_header(auth.headers, "x-oauth-scopes"), team=team)
        self._clock(_header(auth.headers, "date"))
        channels = [w for w in watched if w.workspace_id == team]
        for channel in channels:
            if await is_member(client, channel_id=channel.channel_id):
                self.say(True, f"Member of watched channel {channel.channel_id} ({channel.kind})")
            else:
                self.say(
                    False,
                    f"Not a member of watched channel {channel.channel_id} ({channel.kind}), so "
                    "Slack sends nothing from it: type /invite @Firstline in that channel.",
                )
        if not channels:
            self.say(
                True,
                f"No channel watched in {team} yet: /support watch requests in your support "
                "channel",
            )

    def _scopes(self, header: str | None, *, team: str) -> None:
        if header is None:
            self.say(False, "Slack did not say which scopes the token has (no x-oauth-scopes)")
            return
        missing = [scope for scope in BOT_SCOPES if scope not in granted(header)]
        if not missing:
            self.say(True, f"The token has all {len(BOT_SCOPES)} scopes Firstline uses")
            return
        why = "; ".join(f"{scope} ({BOT_SCOPES[scope]})" for scope in missing)
        self.say(
            False,
            f"The token in {team} lacks {len(missing)} scope(s): {why}. Add them under OAuth & "
            "Permissions → Scopes (or paste manifest.yml again) and reinstall the app.",
        )

    def _clock(self, header: str | None) -> None:
        if not header:
            self.say(False, "Slack sent no Date header, so the clock could not be compared")
            return
        try:
            slack_now = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            self.say(False, f"Slack's Date header {header!r} could not be read")
            return
        skew = (self.now() - slack_now).total_seconds()
        direction = "ahead of" if skew > 0 else "behind"
        if abs(skew) > MAX_SKEW_SECONDS:
            self.say(
                False,
                f"This server's clock is {abs(skew):.0f} s {direction} Slack's: Slack's "
                "signatures are refused beyond 300 s. Synchronise the clock (NTP: "
                "timedatectl set-ntp true, or chrony).",
            )
        elif abs(skew) > WARN_SKEW_SECONDS:
            self.say(
                True,
                f"Clock {abs(skew):.0f} s {direction} Slack's (refused beyond 300 s): enable NTP",
            )
        else:
            self.say(True, "This server's clock agrees with Slack's (within 30 s)")


async def _revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def _watched(db: Database) -> list[Watched]:
    async with db.reading() as session:
        rows = await session.execute(
            select(WatchedChannel.workspace_id, WatchedChannel.channel_id, WatchedChannel.kind)
            .where(WatchedChannel.active.is_(True))
            .order_by(WatchedChannel.workspace_id, WatchedChannel.channel_id)
        )
        return [Watched(*row) for row in rows.all()]


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


def _one_line(error: BaseException, url: str) -> str:
    line = explain(error, database_url=url)
    if line is None:
        log.debug("database check failed", exc_info=error)
        line = f"The database at {_redacted(url)} did not answer ({type(error).__name__}: {error})"
    return line


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def run_doctor(settings: Settings, *, out: Any = None) -> int:
    """Print the checks; 0 when all passed, 1 otherwise."""
    stream = out or sys.stdout
    checks = await Doctor(settings).run()
    for check in checks:
        print(check.line(), file=stream)
    failed = sum(not c.ok for c in checks)
    print(
        f"{failed} problem(s) found." if failed else "Everything checked is in order.",
        file=stream,
    )
    return 1 if failed else 0
