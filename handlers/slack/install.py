"""Many workspaces: Slack's OAuth install flow and each workspace's own bot token.

    oauth = Installs.build(settings=settings, engine=core.db.engine, clock=clock, ...)
    app = AsyncApp(client=client, signing_secret=..., oauth_settings=oauth.bolt_settings)
    token = await oauth.tokens.token("T123")      # what the deliverer sends with

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set, ``/slack/install`` sends the
browser to Slack's consent page and ``/slack/oauth_redirect`` exchanges the code for a
bot token, stored by slack_sdk's async SQLAlchemy installation store in the tables our
migration 0010 creates (never ``create_all`` at runtime). The OAuth ``state`` lives in
slack_sdk's async SQLAlchemy state store, on Firstline's clock so tests can expire it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock
from bot.config import Settings
from handlers.slack import install_messages as say
from handlers.slack.scopes import default_scopes

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)
TOKEN_CACHE_SECONDS = 60.0
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

Remember = Callable[..., Awaitable[None]]


class ClockedStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's SQLAlchemy state store, telling time by Firstline's clock.

    The stock store reads ``time.time()``; ours takes the injected clock so a test can
    let a state expire by advancing a fake clock instead of sleeping.
    """

    def __init__(self, *, engine: AsyncEngine, clock: Clock) -> None:
        super().__init__(
            expiration_seconds=int(STATE_LIFETIME.total_seconds()),
            engine=engine,
            logger=logging.getLogger("slack_sdk.oauth.state_store"),
        )
        self._clock = clock

    def _naive_now(self) -> Any:
        return self._clock.now().replace(tzinfo=None)

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = str(uuid4())
        expire_at = self._naive_now() + STATE_LIFETIME
        async with self.engine.begin() as conn:
            await conn.execute(self.oauth_states.insert(), {"state": state, "expire_at": expire_at})
        return state

    async def async_consume(self, state: str) -> bool:
        c = self.oauth_states.c
        try:
            async with self.engine.begin() as conn:
                found = await conn.execute(
                    self.oauth_states.delete()
                    .where(and_(c.state == state, c.expire_at > self._naive_now()))
                    .returning(c.id)
                )
                return found.first() is not None
        except Exception as error:
            log.warning("OAuth state lookup failed (%s)", type(error).__name__)
            return False


class WorkspaceTokens:
    """Each workspace's bot token, from the installation store, briefly cached."""

    def __init__(self, *, store: AsyncSQLAlchemyInstallationStore) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, str]] = {}

    async def token(self, workspace_id: str) -> str | None:
        cached = self._cache.get(workspace_id)
        if cached is not None and time.monotonic() - cached[0] < TOKEN_CACHE_SECONDS:
            return cached[1]
        bot = await self._store.async_find_bot(enterprise_id=None, team_id=workspace_id)
        token = bot.bot_token if bot is not None else None
        # Only found tokens are cached: "not installed" fails a message for good, so it is
        # never answered from a cache another replica's install may have made stale.
        if token is not None:
            self._cache[workspace_id] = (time.monotonic(), token)
        return token

    def forget(self, workspace_id: str) -> None:
        """Drop the cached token (Slack refused it, or the workspace reinstalled)."""
        self._cache.pop(workspace_id, None)


class Installs:
    """The OAuth pieces Bolt needs, and the token lookup the deliverer needs."""

    def __init__(
        self,
        *,
        bolt_settings: AsyncOAuthSettings,
        authorize: AsyncInstallationStoreAuthorize,
        tokens: WorkspaceTokens,
        store: AsyncSQLAlchemyInstallationStore,
    ) -> None:
        self.bolt_settings = bolt_settings
        self.authorize = authorize
        self.tokens = tokens
        self.store = store

    async def adopt(self, *, client: AsyncWebClient, token: str, clock: Clock) -> str | None:
        """Switching from one workspace to many: keep serving the workspace of the old
        ``SLACK_BOT_TOKEN`` without a reinstall, unless it has installed since.

        Returns its team id, or None when Slack refuses the token (it is then ignored)."""
        try:
            auth = await client.auth_test(token=token)
        except SlackApiError as error:
            log.warning(
                "SLACK_BOT_TOKEN ignored: Slack refused it (%s)", error.response.get("error")
            )
            return None
        team_id = str(auth.get("team_id") or "")
        if await self.store.async_find_bot(enterprise_id=None, team_id=team_id) is None:
            await self.store.async_save_bot(
                Bot(
                    app_id=str(auth.get("app_id") or ""),
                    team_id=team_id,
                    team_name=str(auth.get("team") or ""),
                    bot_token=token,
                    bot_id=str(auth.get("bot_id") or ""),
                    bot_user_id=str(auth.get("user_id") or ""),
                    installed_at=clock.now().timestamp(),
                )
            )
            log.info("Workspace %s kept from SLACK_BOT_TOKEN", team_id)
        return team_id

    async def uninstalled(self, workspace_id: str, *, bot: bool = True, users: bool = True) -> None:
        """Slack said the app was uninstalled or its tokens revoked: forget the tokens, so
        nothing more is sent with them and the workspace is told to reinstall."""
        if bot:
            await self.store.async_delete_bot(enterprise_id=None, team_id=workspace_id)
        if users:
            await self.store.async_delete_installation(enterprise_id=None, team_id=workspace_id)
        self.tokens.forget(workspace_id)
        log.info("Firstline's tokens for workspace %s were revoked; forgotten", workspace_id)

    @classmethod
    def build(
        cls,
        *,
        settings: Settings,
        engine: AsyncEngine,
        clock: Clock,
        client: AsyncWebClient,
        remember: Remember,
    ) -> Installs:
        assert settings.slack_client_id and settings.slack_client_secret
        store = AsyncSQLAlchemyInstallationStore(
            client_id=settings.slack_client_id,
            engine=engine,
            logger=logging.getLogger("slack_sdk.oauth.installation_store"),
        )
        tokens = WorkspaceTokens(store=store)
        public = settings.public_url.rstrip("/")

        async def success(args: AsyncSuccessArgs) -> BoltResponse:
            installation = args.installation
            team_id = str(installation.team_id or "")
            tokens.forget(team_id)
            url = ""
            try:
                auth = await client.auth_test(token=installation.bot_token)
                url = str(auth.get("url") or "")
            except SlackApiError as error:
                log.warning("auth.test after install failed: %s", error.response.get("error"))
            await remember(
                workspace_id=team_id,
                name=str(installation.team_name or ""),
                url=url,
                bot_user_id=str(installation.bot_user_id or ""),
            )
            log.info("Firstline installed in workspace %s", team_id)
            page = say.installed_page(team=str(installation.team_name or team_id), url=url)
            return _page(200, page)

        async def failure(args: AsyncFailureArgs) -> BoltResponse:
            log.warning("OAuth install failed: %s", args.reason)
            install_url = f"{public}{INSTALL_PATH}" if public else INSTALL_PATH
            status = 500 if args.reason == "storage_error" else 400
            return _page(status, say.failed_page(reason=args.reason, install_url=install_url))

        bolt_settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=settings.slack_scopes or default_scopes(),
            redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            install_page_rendering_enabled=False,
            authorization_url=settings.slack_authorize_url,
            installation_store=store,
            installation_store_bot_only=True,
            state_store=ClockedStateStore(engine=engine, clock=clock),
            state_expiration_seconds=int(STATE_LIFETIME.total_seconds()),
            callback_options=AsyncCallbackOptions(success=success, failure=failure),
            logger=logging.getLogger("slack_bolt.oauth"),
        )
        authorize = AsyncInstallationStoreAuthorize(
            logger=logging.getLogger("slack_bolt.authorize"),
            installation_store=store,
            bot_only=True,
            cache_enabled=True,
        )
        return cls(bolt_settings=bolt_settings, authorize=authorize, tokens=tokens, store=store)


def _page(status: int, body: str) -> BoltResponse:
    return BoltResponse(
        status=status,
        body=body,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )


__all__ = ["INSTALL_PATH", "REDIRECT_PATH", "ClockedStateStore", "Installs", "WorkspaceTokens"]
