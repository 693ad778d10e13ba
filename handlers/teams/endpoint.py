"""``POST /api/messages``: the Microsoft 365 Agents SDK's ``CloudAdapter`` on Firstline's own
aiohttp server.

    teams = await TeamsEndpoint.open(core=core, settings=settings)
    app.router.add_post("/api/messages", teams.handle)

Every request is authenticated (``handlers/teams/auth.py``): without a valid Bot Connector
token it is refused 401, with one WARNING line, before anything is stored. An activity is
processed before it is answered: if the database is down Teams gets a 500 and retries
(the inbox makes the retry harmless).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.aiohttp import CloudAdapter
from pydantic import ValidationError
from sqlalchemy import select

from bot.config import Settings
from bot.core import Core
from handlers.teams.auth import Refused, TeamsAuth
from handlers.teams.bot import RAW_ACTIVITY, TeamsBot
from handlers.teams.chat import TeamsChat
from handlers.teams.directory import Directory
from storage.models import Incident

log = logging.getLogger(__name__)


class TeamsEndpoint:
    def __init__(self, *, core: Core, settings: Settings, auth: TeamsAuth) -> None:
        self.directory = Directory(db=core.db, clock=core.clock)
        self.auth = auth
        self._adapter = CloudAdapter(connection_manager=auth.connections)
        # Without a handler, a failed turn reaches ``handle`` (a 500, so Teams retries)
        # instead of the SDK's default, which posts the exception text into the chat.
        self._adapter.on_turn_error = None
        self.chat = TeamsChat(directory=self.directory, token=auth.token, home_of=self._home)
        self.bot = TeamsBot(core=core, directory=self.directory, chat=self.chat, settings=settings)
        self._core = core

    @classmethod
    async def open(cls, *, core: Core, settings: Settings) -> TeamsEndpoint:
        endpoint = cls(core=core, settings=settings, auth=TeamsAuth.from_settings(settings))
        await endpoint.directory.load()
        return endpoint

    async def _home(self, workspace_id: str, name: str) -> str | None:
        async with self._core.db.reading() as session:
            return await session.scalar(
                select(Incident.announce_channel)
                .where(Incident.workspace_id == workspace_id, Incident.channel_name == name)
                .order_by(Incident.id.desc())
                .limit(1)
            )

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        service_url = str(body.get("serviceUrl") or "") if isinstance(body, dict) else ""
        try:
            # Authentication first: a stranger learns nothing from how the body is wrong.
            claims = await self.auth.check(request.headers.get("Authorization"), service_url)
        except Refused:
            return web.json_response({"error": "unauthorized"}, status=401)
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "send the activity as application/json"}, status=415)
        if not isinstance(body, dict):
            return web.json_response({"error": "unreadable activity"}, status=400)
        try:
            activity = Activity.model_validate(body)
        except ValidationError:
            return web.json_response({"error": "unreadable activity"}, status=400)
        if not activity.type:
            return web.json_response({"error": "an activity needs a type"}, status=400)
        if activity.conversation is None or not activity.conversation.id:
            return web.json_response({"error": "an activity needs a conversation id"}, status=400)
        token = RAW_ACTIVITY.set(body)
        try:
            response = await self._adapter.process_activity(claims, activity, self.bot.on_turn)
        except Exception:
            log.exception("Teams activity %s failed; Teams will retry it", activity.id)
            return web.json_response({"error": "not processed"}, status=500)
        finally:
            RAW_ACTIVITY.reset(token)
        if response is not None:
            return web.json_response(response.body or {}, status=int(response.status or 200))
        return web.Response(status=200)

    async def close(self) -> None:
        self.auth.close()
