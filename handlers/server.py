"""The HTTP server: Slack's endpoint, health and metrics, and the background loops.

    app = await build_server(settings)           # `firstline serve`
    web.run_app(app, port=settings.port)

Resources (database, HTTP session, scheduler) are opened and closed by the aiohttp
application's ``cleanup_ctx``, never at import time.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.core import Core
from bot.errors import ConfigurationError, FirstlineError
from handlers.slack.app import LinkBase, build_bolt_app
from handlers.slack.chat import SlackChat
from schedules.deliverer import Deliverer
from schedules.runner import Runner
from storage.engine import Database

log = logging.getLogger(__name__)

CORE: web.AppKey[Core] = web.AppKey("core", Core)
RUNNER: web.AppKey[Runner] = web.AppKey("runner", Runner)
BOLT: web.AppKey[AsyncApp] = web.AppKey("bolt", AsyncApp)


@dataclass
class ServerOptions:
    """What tests and the demo change; production uses the defaults."""

    clock: Clock | None = None
    start_loops: bool = True
    retry_handlers: list[AsyncRetryHandler] | None = None


def build_server(settings: Settings, options: ServerOptions | None = None) -> web.Application:
    options = options or ServerOptions()
    settings.require_slack()
    app = web.Application(client_max_size=1024**2)
    state: dict[str, object] = {}

    async def resources(app: web.Application) -> AsyncIterator[None]:
        clock = options.clock or SystemClock()
        db = Database.connect(settings.database_url, background_checkpoints=True)
        core = Core(db=db, clock=clock)
        await core.start()
        session = aiohttp.ClientSession()
        handlers: list[AsyncRetryHandler] = (
            options.retry_handlers
            if options.retry_handlers is not None
            else [AsyncConnectionErrorRetryHandler(max_retry_count=2)]
        )
        client = AsyncWebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            session=session,
            retry_handlers=handlers,
        )
        links = LinkBase()
        try:
            auth = await client.auth_test()
        except Exception as error:
            await session.close()
            await core.close()
            raise ConfigurationError(
                f"Slack refused the bot token ({error}). Check SLACK_BOT_TOKEN and SLACK_API_URL."
            ) from error
        links.url = str(auth.get("url") or links.url)
        await core.remember_workspace(
            workspace_id=str(auth.get("team_id")),
            name=str(auth.get("team") or ""),
            url=links.url,
            bot_user_id=str(auth.get("user_id") or ""),
        )
        chat = SlackChat(client=client, base_url=links.url)
        deliverer = Deliverer(db=core.db, clock=clock, chats={"slack": chat}, metrics=core.metrics)
        deliverer.on_delivered("inc:", core.incidents.channel_created)
        core.rota.public_url = settings.public_url or f"http://localhost:{settings.port}"
        if settings.incident_roles:
            core.incidents.roles = settings.incident_roles
        runner = Runner(core=core, deliverer=deliverer)
        bolt = build_bolt_app(core=core, settings=settings, client=client, links=links)
        app[CORE], app[RUNNER], app[BOLT] = core, runner, bolt
        socket = None
        if settings.slack_app_token:
            from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

            socket = AsyncSocketModeHandler(bolt, settings.slack_app_token)
            await socket.connect_async()
        if options.start_loops:
            runner.start()
        state["ready"] = True
        log.info("Firstline is up: %s", settings.redacted())
        try:
            yield
        finally:
            state["ready"] = False
            if socket is not None:
                await socket.close_async()
            await runner.stop(drain=True)
            await session.close()
            await core.close()

    app.cleanup_ctx.append(resources)
    # Checked before the body is parsed, so unsigned garbage is a 401, not a parse error.
    verifier = (
        SignatureVerifier(settings.slack_signing_secret) if settings.slack_signing_secret else None
    )

    async def slack_events(request: web.Request) -> web.StreamResponse:
        if not state.get("ready"):
            return web.json_response({"error": "starting"}, status=503)
        body = await request.text()  # too large: aiohttp answers 413
        if verifier is not None and not verifier.is_valid(
            body=body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
        ):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as error:
            log.warning("unreadable Slack request body (%s)", type(error).__name__)
            return web.json_response({"error": "unreadable body"}, status=400)
        try:
            bolt_response = await app[BOLT].async_dispatch(bolt_request)
        except Exception:
            log.exception("Slack request could not be dispatched")
            return web.json_response({"error": "bad request"}, status=400)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        if state.get("ready") and await app[CORE].db.ping():
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "database": "unreachable"}, status=503)

    async def metrics(request: web.Request) -> web.Response:
        body = app[CORE].metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    async def rota_current(request: web.Request) -> web.Response:
        """`/rota who` for scripts (the pair also deploys): Authorization: Bearer <team token>."""
        team = request.match_info["team"]
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else request.query.get("token", "")
        if not team.isdigit() or not token:
            return web.json_response({"error": "send the team's token as Bearer"}, status=401)
        answer = await app[CORE].rota.api_current(int(team), token)
        if answer is None:
            return web.json_response({"error": "unknown team or wrong token"}, status=401)
        return web.json_response(answer)

    async def rota_calendar(request: web.Request) -> web.Response:
        team = request.match_info["team"]
        token = request.query.get("token", "")
        body = await app[CORE].rota.calendar(int(team), token) if team.isdigit() and token else None
        if body is None:
            return web.Response(status=401, text="unknown team or wrong token\n")
        return web.Response(body=body, content_type="text/calendar", charset="utf-8")

    async def api_stats(request: web.Request) -> web.Response:
        """First-response figures for scripts: Authorization: Bearer $FIRSTLINE_API_TOKEN."""
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        expected = settings.api_token
        if not expected:
            return web.json_response(
                {"error": "the stats API is off: set FIRSTLINE_API_TOKEN to turn it on"},
                status=401,
            )
        if not hmac.compare_digest(token.encode(), expected.encode()):
            return web.json_response(
                {"error": "send Authorization: Bearer <FIRSTLINE_API_TOKEN>"}, status=401
            )
        try:
            answer = await app[CORE].reports.api_stats(
                workspace_id=request.query.get("workspace") or None,
                channel_id=request.query.get("channel") or None,
                since=request.query.get("since") or None,
                until=request.query.get("until") or None,
            )
        except FirstlineError as error:
            return web.json_response({"error": error.message}, status=400)
        return web.json_response(answer)

    app.router.add_get("/api/stats", api_stats)
    app.router.add_get("/api/rota/{team}/current", rota_current)
    app.router.add_get("/rota/{team}.ics", rota_calendar)
    app.router.add_post("/slack/events", slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
