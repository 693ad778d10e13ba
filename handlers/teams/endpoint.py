"""``POST /api/messages``: botbuilder's ``CloudAdapter`` on Firstline's own aiohttp server.

    teams = await TeamsEndpoint.open(core=core, settings=settings, authenticate=True)
    app.router.add_post("/api/messages", teams.handle)

With an app id configured, a request without a valid Bot Framework token is refused
401 before anything is stored. An activity is processed before it is answered: if the
database is down Teams gets a 500 and retries (the inbox makes the retry harmless).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity
from sqlalchemy import select

from bot.config import Settings
from bot.core import Core
from handlers.teams.bot import RAW_ACTIVITY, TeamsBot
from handlers.teams.chat import TeamsChat
from handlers.teams.directory import Directory
from storage.models import Incident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _AuthConfig:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


class TeamsEndpoint:
    def __init__(
        self, *, core: Core, settings: Settings, adapter: CloudAdapter, auth: Any, app_id: str
    ) -> None:
        self.directory = Directory(db=core.db, clock=core.clock)
        self._adapter = adapter
        self._auth = auth
        self._app_id = app_id
        self._clients: dict[str, Any] = {}
        self.chat = TeamsChat(directory=self.directory, connect=self._connect, home_of=self._home)
        self.bot = TeamsBot(core=core, directory=self.directory, chat=self.chat, settings=settings)
        self._core = core

    @classmethod
    async def open(cls, *, core: Core, settings: Settings, authenticate: bool) -> TeamsEndpoint:
        """``authenticate=False`` (tests and the demo only) accepts unsigned activities."""
        config = _AuthConfig(
            APP_ID=settings.microsoft_app_id or "" if authenticate else "",
            APP_PASSWORD=settings.microsoft_app_password or "" if authenticate else "",
            APP_TYPE=settings.microsoft_app_type,
            APP_TENANTID=settings.microsoft_app_tenant_id or "",
        )
        auth = ConfigurationBotFrameworkAuthentication(config)
        endpoint = cls(
            core=core,
            settings=settings,
            adapter=CloudAdapter(auth),
            auth=auth,
            app_id=config.APP_ID,
        )
        await endpoint.directory.load()
        return endpoint

    async def _connect(self, service_url: str) -> Any:
        client = self._clients.get(service_url)
        if client is None:
            claims = self._adapter.create_claims_identity(self._app_id)
            factory = self._auth.create_connector_factory(claims)
            client = await factory.create(service_url, None)
            self._clients[service_url] = client
        return client

    async def _home(self, workspace_id: str, name: str) -> str | None:
        async with self._core.db.reading() as session:
            return await session.scalar(
                select(Incident.announce_channel)
                .where(Incident.workspace_id == workspace_id, Incident.channel_name == name)
                .order_by(Incident.id.desc())
                .limit(1)
            )

    async def handle(self, request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "send the activity as application/json"}, status=415)
        try:
            body = await request.json()
            activity = Activity().deserialize(body)
        except Exception:
            return web.json_response({"error": "unreadable activity"}, status=400)
        if not isinstance(body, dict) or not activity.type:
            return web.json_response({"error": "an activity needs a type"}, status=400)
        token = RAW_ACTIVITY.set(body)
        try:
            response = await self._adapter.process_activity(
                request.headers.get("Authorization", ""), activity, self.bot.on_turn
            )
        except PermissionError:
            return web.json_response({"error": "unauthorized"}, status=401)
        except Exception:
            log.exception("Teams activity %s failed; Teams will retry it", activity.id)
            return web.json_response({"error": "not processed"}, status=500)
        finally:
            RAW_ACTIVITY.reset(token)
        if response is not None:
            return web.json_response(response.body or {}, status=int(response.status or 200))
        return web.Response(status=200)

    async def close(self) -> None:
        for client in self._clients.values():
            try:
                await client.__aexit__(None, None, None)  # msrest's async clients close so
            except Exception:  # closing is best effort at shutdown
                log.debug("connector client did not close cleanly", exc_info=True)
        self._clients.clear()
