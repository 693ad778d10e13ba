"""The HTTP server: Slack's and Teams' endpoints, health and metrics, and the background loops.

    app = await build_server(settings)           # `firstline serve`
    web.run_app(app, port=settings.port)

Resources (database, HTTP session, scheduler) are opened and closed by the aiohttp
application's ``cleanup_ctx``, never at import time.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot import paging
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.content import ChatPort, DeliveryError
from bot.core import Core
from bot.errors import ConfigurationError, FirstlineError
from bot.people import Directory
from bot.redaction import protect_secrets
from bot.rota.service import TeamNotFound, WrongToken
from handlers.operator_errors import slack_failure
from handlers.paging import Pager
from handlers.slack.app import LinkBase, build_bolt_app, is_chatter
from handlers.slack.chat import SlackChat
from handlers.slack.install import INSTALL_PATH, REDIRECT_PATH, Installs
from handlers.tickets import tickets_from_settings
from schedules.deliverer import Deliverer
from schedules.runner import Runner
from storage.engine import Database
from storage.server_lock import DatabaseInUse, ServerLock

log = logging.getLogger(__name__)

CORE: web.AppKey[Core] = web.AppKey("core", Core)
RUNNER: web.AppKey[Runner] = web.AppKey("runner", Runner)
BOLT: web.AppKey[AsyncApp] = web.AppKey("bolt", AsyncApp)
TEAMS: web.AppKey[Any] = web.AppKey("teams")
STATE: web.AppKey[dict[str, object]] = web.AppKey("state", dict)


def begin_drain(app: web.Application) -> None:
    """Shutting down: /healthz answers 503 and Slack's requests get 503 (Slack retries them,
    another replica takes them) while requests already in flight finish."""
    app[STATE]["draining"] = True


@dataclass
class ServerOptions:
    """What tests and the demo change; production uses the defaults."""

    clock: Clock | None = None
    start_loops: bool = True
    retry_handlers: list[AsyncRetryHandler] | None = None


def build_server(settings: Settings, options: ServerOptions | None = None) -> web.Application:
    options = options or ServerOptions()
    teams_on = settings.teams_enabled
    slack_on = settings.slack_enabled or not teams_on
    if slack_on:
        settings.require_slack()
    if settings.teams_enabled:
        settings.require_teams()
    protect_secrets(settings.secrets())
    app = web.Application(client_max_size=1024**2)
    state: dict[str, object] = {}
    app[STATE] = state

    async def resources(app: web.Application) -> AsyncIterator[None]:
        clock = options.clock or SystemClock()
        lock = ServerLock.for_database(settings.database_url)
        if lock is not None:
            try:
                lock.acquire()
            except DatabaseInUse as busy:
                raise ConfigurationError(
                    f"Another Firstline server is already using this SQLite database "
                    f"({busy.holder}; lock file {busy.path}). SQLite allows one server: stop "
                    "the other one first, or use PostgreSQL (DATABASE_URL=postgresql+asyncpg://…) "
                    "to run several."
                ) from None
        db = Database.connect(settings.database_url, background_checkpoints=True)
        core = Core(db=db, clock=clock)
        try:
            await core.start()
        except BaseException:
            await core.close()
            if lock is not None:
                lock.release()
            raise
        session = aiohttp.ClientSession()
        chats: dict[str, ChatPort] = {}
        links = LinkBase()
        installs: Installs | None = None
        client: AsyncWebClient | None = None
        if slack_on:
            handlers: list[AsyncRetryHandler] = (
                options.retry_handlers
                if options.retry_handlers is not None
                else [AsyncConnectionErrorRetryHandler(max_retry_count=2)]
            )
            client = AsyncWebClient(
                token=None if settings.many_workspaces else settings.slack_bot_token,
                base_url=settings.slack_api_url,
                session=session,
                retry_handlers=handlers,
                # The outbox lease is renewed while a send is in flight, so a slow answer
                # is waited for (up to this) rather than resent by another replica.
                timeout=30,
            )
            if settings.many_workspaces:
                installs = Installs.build(
                    settings=settings,
                    engine=core.db.engine,
                    clock=clock,
                    client=client,
                    remember=core.remember_workspace,
                )
                chat = SlackChat(client=client, tokens=installs.tokens, urls=core.workspace_url)
                if settings.slack_bot_token:
                    await installs.adopt(client=client, token=settings.slack_bot_token, clock=clock)
            else:
                try:
                    auth = await client.auth_test()
                except Exception as error:
                    await session.close()
                    await core.close()
                    if lock is not None:
                        lock.release()
                    raise ConfigurationError(
                        slack_failure(error, api_url=settings.slack_api_url)
                    ) from error
                links.url = str(auth.get("url") or links.url)
                await core.remember_workspace(
                    workspace_id=str(auth.get("team_id")),
                    name=str(auth.get("team") or ""),
                    url=links.url,
                    bot_user_id=str(auth.get("user_id") or ""),
                )
                chat = SlackChat(client=client, base_url=links.url)
            chats["slack"] = chat
        teams = None
        if teams_on:
            # Imported here: a Slack-only install never imports the Agents SDK.
            from handlers.teams.endpoint import TeamsEndpoint

            teams = await TeamsEndpoint.open(core=core, settings=settings)
            chats["teams"] = teams.chat
            app[TEAMS] = teams
        directory = _directory(chats.get("slack"), teams)
        core.rota.directory = core.reports.directory = core.incidents.directory = directory
        deliverer = Deliverer(
            db=core.db,
            clock=clock,
            chats=chats,
            metrics=core.metrics,
            tickets=tickets_from_settings(settings, session=session),
            pager=Pager.from_env(dict(settings.paging_env), session=session, clock=clock),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            pace=timedelta(seconds=settings.outbox_pace_seconds),
        )
        deliverer.on_delivered("inc:", core.incidents.channel_created)
        deliverer.on_delivered("ticket:", core.tickets.created)
        deliverer.on_attempt_failed("ticket:", core.tickets.attempt_failed)
        deliverer.on_delivered(paging.KEY_PREFIX, paging.delivered)
        deliverer.on_attempt_failed(paging.KEY_PREFIX, paging.attempt_failed)
        core.rota.public_url = settings.public_url or f"http://localhost:{settings.port}"
        if settings.incident_roles:
            core.incidents.roles = settings.incident_roles
        runner = Runner(core=core, deliverer=deliverer)
        app[CORE], app[RUNNER] = core, runner
        socket = None
        if client is not None:
            bolt = build_bolt_app(
                core=core, settings=settings, client=client, links=links, installs=installs
            )
            app[BOLT] = bolt
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
            if teams is not None:
                await teams.close()
            await session.close()
            await core.close()
            if lock is not None:
                lock.release()

    app.cleanup_ctx.append(resources)
    # Checked before the body is parsed, so unsigned garbage is a 401, not a parse error.
    verifier = (
        SignatureVerifier(settings.slack_signing_secret) if settings.slack_signing_secret else None
    )

    async def slack_events(request: web.Request) -> web.StreamResponse:
        if state.get("draining"):
            return web.json_response({"error": "shutting down"}, status=503)
        if not state.get("ready"):
            return web.json_response({"error": "starting"}, status=503)
        body = await request.text()  # too large: aiohttp answers 413
        if verifier is not None and not _signed_by_slack(verifier, request.headers, body):
            return web.json_response({"error": "invalid signature"}, status=401)
        if verifier is not None and is_chatter(app[CORE], body, request.content_type):
            return web.Response()  # what Bolt's listener answers, without Bolt's work
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
        if state.get("draining"):
            return web.json_response({"ok": False, "draining": True}, status=503)
        if state.get("ready") and await app[CORE].db.ping():
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "database": "unreachable"}, status=503)

    async def livez(request: web.Request) -> web.Response:
        """The process is alive and serving (for liveness probes: says nothing about the
        database, so an outage makes replicas unready, not restarted)."""
        return web.json_response({"ok": True})

    async def metrics(request: web.Request) -> web.Response:
        body = app[CORE].metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    async def rota_current(request: web.Request) -> web.Response:
        """`/rota who` for scripts (the pair also deploys): the team by id or name,
        Authorization: Bearer <team token>."""
        team = request.match_info["team"]
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else request.query.get("token", "")
        try:
            answer = await app[CORE].rota.api_current(team, token)
        except TeamNotFound as error:
            return web.json_response({"error": error.message}, status=404)
        except WrongToken as error:
            return web.json_response({"error": error.message}, status=401)
        return web.json_response(answer)

    async def rota_calendar(request: web.Request) -> web.Response:
        team = request.match_info["team"]
        token = request.query.get("token", "")
        try:
            body = await app[CORE].rota.calendar(team, token)
        except TeamNotFound as error:
            return web.Response(status=404, text=error.message + "\n")
        except WrongToken as error:
            return web.Response(status=401, text=error.message + "\n")
        return web.Response(body=body, content_type="text/calendar", charset="utf-8")

    async def oauth(request: web.Request) -> web.StreamResponse:
        """/slack/install and /slack/oauth_redirect: Bolt's OAuth flow, pages from install.py."""
        if not state.get("ready"):
            return web.Response(status=503, text="Firstline is starting; try again in a moment.\n")
        flow = app[BOLT].oauth_flow
        assert flow is not None
        bolt_request = AsyncBoltRequest(
            body="",
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
        if request.path == INSTALL_PATH:
            bolt_response = await flow.handle_installation(bolt_request)
        else:
            bolt_response = await flow.handle_callback(bolt_request)
        return await to_aiohttp_response(bolt_response)

    if settings.many_workspaces:
        app.router.add_get(INSTALL_PATH, oauth)
        app.router.add_get(REDIRECT_PATH, oauth)

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

    async def teams_messages(request: web.Request) -> web.StreamResponse:
        if not state.get("ready"):
            return web.json_response({"error": "starting"}, status=503)
        response: web.StreamResponse = await request.app[TEAMS].handle(request)
        return response

    if slack_on:
        app.router.add_post("/slack/events", slack_events)
    if teams_on:
        from handlers.teams.pages import add_pages  # no SDK import: plain aiohttp pages

        app.router.add_post("/api/messages", teams_messages)
        add_pages(app)  # the Teams app package links to them
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", livez)
    app.router.add_get("/metrics", metrics)
    return app


def _signed_by_slack(verifier: SignatureVerifier, headers: Mapping[str, str], body: str) -> bool:
    """Slack's signature over the body, made in the last five minutes (slack_sdk compares
    it with hmac.compare_digest). A missing or non-numeric timestamp is a refusal, not the
    ValueError slack_sdk would raise on it."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12 or not signature:
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def _directory(slack: ChatPort | None, teams: Any) -> Directory:
    """Names from Teams' directory (people and channels it has seen), then from Slack."""
    slack_chat = slack if isinstance(slack, SlackChat) else None

    async def people(workspace_id: str, users: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for user in users:
            person = teams.directory.person(workspace_id, user) if teams is not None else None
            if person is not None and person.name:
                found[user] = person.name
        rest = [u for u in users if u not in found]
        if slack_chat is not None and rest:
            # Not a Slack workspace Firstline has a token for: ids it is.
            with contextlib.suppress(DeliveryError):
                found |= await slack_chat.people_names(workspace_id, rest)
        return found

    async def channel(workspace_id: str, channel_id: str) -> str | None:
        if teams is not None and (name := teams.directory.channel_name(workspace_id, channel_id)):
            return str(name)
        if slack_chat is None:
            return None
        try:
            return await slack_chat.channel_name(workspace_id, channel_id)
        except DeliveryError:
            return None

    return Directory(people=people, channel=channel)
