"""An in-process Slack Web API: an aiohttp server on loopback that records every call.

    async with SlackEmulator(team_id="T0DEMO") as slack:
        slack.add_user("UANNA", name="anna", is_admin=True)
        slack.add_channel("C0SUPPORT", name="support")
        client = AsyncWebClient(token="xoxb-x", base_url=slack.base_url)
        await client.chat_postMessage(channel="C0SUPPORT", text="Hello")
        slack.messages("C0SUPPORT")  # [{"ts": "1764770000.000100", "text": "Hello", ...}]

Used by ``firstline demo`` (so it runs with no credentials), by the end-to-end tests and
by the benchmarks. It answers with Slack's response shapes and error codes, keeps each
channel's messages, topic, members and pins, hands out DM channels for user ids, and can
be told to fail (429 with Retry-After, 5xx, a whole outage) to exercise retries.

It also speaks Socket Mode: ``apps.connections.open`` (with an ``xapp-`` token) hands out
a WebSocket URL on the same server, which greets with ``hello``; ``socket_send`` then
delivers an envelope (events, slash commands, interactions) and returns the app's ack.

It is deliberately permissive where a real workspace would hold state the emulator never
saw: a message to an unknown ``C…`` channel creates that channel, and a DM to a user id
is refused (``channel_not_found``) only once users have been registered with ``add_user``,
and reactions, permalinks and thread replies are accepted for messages it never saw.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

log = logging.getLogger(__name__)

TS_EPOCH = 1_700_000_000
"""A fixed "now" (14 Nov 2023) for tests that want the same message ts on every run."""
TS_STEP = 100  # microseconds between message ts handed out in the same instant

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_TOPIC = 250
MAX_CHANNEL_NAME = 80

_CHANNEL_NAME = re.compile(r"[a-z0-9_\-]+")
_JSON_FIELDS = frozenset({"blocks", "attachments", "files", "view", "metadata"})

Args = dict[str, Any]
Handler = Callable[[Args], Args]


@dataclass
class ApiCall:
    """One Web API call as the emulator received and answered it."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int
    response: dict[str, Any]
    team: str | None = None
    """The workspace the token belongs to (``None``: no token, or one never handed out)."""

    @property
    def ok(self) -> bool:
        """Answered HTTP 200 with ``"ok": true``: Slack did what was asked."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Team:
    id: str
    name: str
    url: str
    bot_user_id: str
    bot_id: str


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int
    method: str | None
    carried_out: bool = False


@dataclass
class _Message:
    ts: str
    text: str
    blocks: Any
    thread_ts: str | None
    user: str
    attachments: Any = None
    files: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    bot_id: str | None = None  # set on messages an app posted, as Slack does
    edited: dict[str, str] | None = None  # {"user", "ts"} once chat.update changed it

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "ts": self.ts,
            "text": self.text,
            "blocks": copy.deepcopy(self.blocks),
            "thread_ts": self.thread_ts,
            "user": self.user,
        }
        if self.attachments:
            found["attachments"] = copy.deepcopy(self.attachments)
        if self.files:
            found["files"] = copy.deepcopy(self.files)
        return found


@dataclass
class _Channel:
    id: str
    name: str
    created: int
    is_private: bool = False
    im_user: str | None = None
    mpim_users: tuple[str, ...] = ()
    topic: str = ""
    topic_creator: str = ""
    topic_last_set: int = 0
    members: set[str] = field(default_factory=set)
    pins: list[str] = field(default_factory=list)
    messages: list[_Message] = field(default_factory=list)

    @property
    def is_conversation(self) -> bool:
        """A channel with a name (public or private), not a DM or group DM."""
        return self.im_user is None and not self.mpim_users


@dataclass
class _Group:
    id: str
    handle: str
    name: str
    users: list[str]
    date_update: int = 0


@dataclass
class _Upload:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str = ""
    completed: bool = False
    channels: list[str] = field(default_factory=list)


class SlackEmulator:
    """A fake Slack workspace behind a real HTTP Web API on ``127.0.0.1``.

    ``base_url`` (set by ``start``) is what ``AsyncWebClient(base_url=...)`` takes.
    ``calls`` holds every call in order, failed ones included; ``delivered`` only those
    Slack would have carried out.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0DEMO",
        team_name: str = "Demo",
        bot_user_id: str = "UFIRSTLINE",
        bot_id: str = "BFIRSTLINE",
        url: str = "https://demo.slack.com/",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.url = url if url.endswith("/") else url + "/"
        self.calls: list[ApiCall] = []
        self.responses: list[Any] = []
        self.base_url = ""
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, _Channel] = {}
        self._dms: dict[str, str] = {}
        self._mpims: dict[tuple[str, ...], str] = {}
        self._groups: dict[str, _Group] = {}
        self._reactions: dict[tuple[str, str], list[str]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._uploads: dict[str, _Upload] = {}
        self._failures: list[_Failure] = []
        self._outage: tuple[int, int] | None = None
        self._stall = 0.0
        self._held: list[tuple[str, int]] = []
        # Message ts follow ``clock`` (epoch seconds; tests pass their fake clock) as
        # Slack's follow its own, increasing even within one instant.
        self._now_seconds = clock
        self._last_ts = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        # What a bot token was granted (the ``x-oauth-scopes`` header on every answer), and
        # how far the emulated Slack's clock (its ``Date`` header) is ahead of this one.
        self.scopes: list[str] = list(_default_scopes())
        self.clock_skew_seconds = 0.0
        self.refused_tokens: set[str] = set()  # answered invalid_auth (revoked, mistyped)
        # Many workspaces: each has its bot identity; tokens handed out by oauth.v2.access
        # say which workspace a call acts in. Tokens never handed out act in ``team_id``.
        self._teams: dict[str, _Team] = {
            team_id: _Team(team_id, team_name, self.url, bot_user_id, bot_id)
        }
        self._tokens: dict[str, str] = {}
        self._codes: dict[str, tuple[str, str]] = {}
        self._app: tuple[str, str] | None = None
        self._acting = team_id
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[Args]] = {}
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.setTopic": self._set_topic,
            "conversations.create": self._create,
            "conversations.list": self._list,
            "conversations.invite": self._invite,
            "conversations.join": self._join,
            "pins.add": self._pins_add,
            "reactions.add": self._reactions_add,
            "usergroups.users.update": self._usergroup_update,
            "usergroups.list": self._usergroups_list,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on a free loopback port; returns ``base_url`` (``http://127.0.0.1:N/api/``)."""
        if self._runner is not None:
            return self.base_url
        app = web.Application(client_max_size=20 * 1024**2)
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_post("/hooks/{path:.*}", self._response_url)
        app.router.add_get("/socket-mode/{ticket}", self._socket)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/api/"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening; what was recorded stays readable."""
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the workspace ----------------------------------------------------------------------

    # -- many workspaces (OAuth) ----------------------------------------------------------

    def set_app(self, *, client_id: str, client_secret: str) -> None:
        """The app's OAuth credentials; ``oauth.v2.access`` checks them."""
        self._app = (client_id, client_secret)

    def add_workspace(
        self,
        team_id: str,
        *,
        name: str,
        url: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
    ) -> None:
        """Another workspace the app can be installed into."""
        self._teams[team_id] = _Team(
            team_id,
            name,
            url or f"https://{team_id.lower()}.slack.com/",
            bot_user_id or f"UBOT{team_id}",
            bot_id or f"BBOT{team_id}",
        )

    def approve_install(self, team_id: str, *, user: str = "UINSTALLER") -> str:
        """What Slack does when ``user`` clicks Allow: a one-time code for the redirect URL."""
        if team_id not in self._teams:
            raise KeyError(f"unknown workspace {team_id}; add_workspace() it first")
        code = f"code-{team_id}-{next(self._ids)}"
        self._codes[code] = (team_id, user)
        return code

    def token_for(self, team_id: str) -> list[str]:
        """The bot tokens handed out for a workspace, oldest first."""
        return [token for token, team in self._tokens.items() if team == team_id]

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_bot: bool = False,
        tz: str = "Europe/Berlin",
    ) -> None:
        """Register a member; ``users.info`` answers with Slack's user object for it."""
        self._users[user_id] = _user_json(
            user_id,
            team_id=self.team_id,
            name=name,
            is_admin=is_admin or is_owner or is_primary_owner,
            is_owner=is_owner or is_primary_owner,
            is_primary_owner=is_primary_owner,
            is_bot=is_bot,
            tz=tz,
        )

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        members: Iterable[str] = (),
        bot_member: bool = True,
    ) -> None:
        """Register a channel; the bot is a member, as after ``/invite @Firstline``, unless
        ``bot_member`` is false (then reading it answers ``not_in_channel``, posting in it
        works only when it is public, and ``conversations.join`` adds the bot if public)."""
        channel = _Channel(channel_id, name, self._now(), is_private)
        channel.members.update({self.bot_user_id, *members} if bot_member else set(members))
        self._channels[channel_id] = channel

    def invite_bot(self, channel_id: str) -> None:
        """Someone typed ``/invite @Firstline`` in the channel."""
        self._channels[channel_id].members.add(self.bot_user_id)

    def remove_bot(self, channel_id: str) -> None:
        """Someone removed the bot from the channel (``/remove @Firstline``)."""
        self._channels[channel_id].members.discard(self.bot_user_id)

    def add_message(
        self,
        channel_id: str,
        *,
        user: str,
        text: str,
        bot_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
        ts: str | None = None,
    ) -> str:
        """A message posted by someone (a person, or an app when ``bot_id`` is given, which
        alone can attach ``metadata``), now or at ``ts`` (history); returns its ts."""
        message = _Message(
            ts or self._ts(), text, None, thread_ts, user, metadata=metadata, bot_id=bot_id
        )
        found = self._lookup(channel_id)
        if found is None:
            raise KeyError(f"unknown channel {channel_id}; add_channel() it first")
        found.messages.append(message)
        found.messages.sort(key=lambda m: float(m.ts))
        return message.ts

    def add_usergroup(
        self, group_id: str, *, handle: str, name: str = "", users: Iterable[str] = ()
    ) -> None:
        """Register a user group (``S…``) with its @handle and members."""
        self._groups[group_id] = _Group(group_id, handle, name or handle, list(users))

    # -- failures ---------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        *,
        status: int = 429,
        retry_after: int = 1,
        method: str | None = None,
        carried_out: bool = False,
    ) -> None:
        """The next ``count`` calls (of ``method``, if given) fail with HTTP ``status``.

        429 answers ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After``; any
        other status answers an HTML error page, as Slack's edge does. With
        ``carried_out`` the call takes effect first and only its answer is lost (a 5xx
        or a timeout after Slack posted the message).
        """
        if count > 0:
            self._failures.append(_Failure(count, status, retry_after, method, carried_out))

    def stall_answers(self, seconds: float) -> None:
        """Carry calls out at once but hold each answer ``seconds`` (0 ends it): a slow
        network, and the moment to kill a client that has sent but not heard back."""
        self._stall = max(0.0, seconds)

    def held(self) -> list[tuple[str, int]]:
        """Client (host, port) of each call carried out whose answer is being held."""
        return list(self._held)

    def set_outage(self, status: int | None, *, retry_after: int = 1) -> None:
        """While set, every call answers ``status`` (e.g. 503); None ends the outage."""
        self._outage = None if status is None else (status, retry_after)

    # -- what happened ----------------------------------------------------------------------

    def delivered(self, method: str | None = None) -> list[ApiCall]:
        """Calls answered HTTP 200 with ``ok: true``, optionally only of ``method``."""
        return [c for c in self.calls if c.ok and (method is None or c.method == method)]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages now (after updates and deletes), oldest first.

        Each is ``{"ts", "text", "blocks", "thread_ts", "user"}`` (plus ``attachments`` and
        ``files`` when it has them). A user id stands for the DM with that user.
        """
        found = self._lookup(channel)
        return [m.as_dict() for m in found.messages] if found else []

    def topic(self, channel: str) -> str:
        found = self._lookup(channel)
        return found.topic if found else ""

    def members(self, channel: str) -> set[str]:
        found = self._lookup(channel)
        return set(found.members) if found else set()

    def pinned(self, channel: str) -> list[str]:
        """The ts of each pinned message, in the order they were pinned."""
        found = self._lookup(channel)
        return list(found.pins) if found else []

    def reactions(self, channel: str, ts: str) -> list[str]:
        """Emoji names the bot added to the message ``ts`` in ``channel``."""
        return list(self._reactions.get((channel, ts), []))

    def usergroup_members(self, group_id: str) -> list[str]:
        group = self._groups.get(group_id)
        return list(group.users) if group else []

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user_id``."""
        view = self._home_views.get(user_id)
        return copy.deepcopy(view) if view else None

    def uploaded_files(self) -> list[dict[str, Any]]:
        """Completed uploads: ``{"id", "name", "title", "content", "channels"}``."""
        return [
            {
                "id": u.id,
                "name": u.filename,
                "title": u.title,
                "content": u.content or b"",
                "channels": list(u.channels),
            }
            for u in self._uploads.values()
            if u.completed
        ]

    # -- Socket Mode ------------------------------------------------------------------------

    async def socket_connected(self, *, within: float = 10.0) -> None:
        """Wait until an app holds a Socket Mode connection."""
        await asyncio.wait_for(self._socket_connected.wait(), timeout=within)

    async def socket_send(
        self,
        payload: Args,
        *,
        kind: str = "events_api",
        retry_attempt: int = 0,
        within: float = 10.0,
    ) -> Args:
        """Deliver one envelope over the newest connection; returns the app's ack message
        (``{"envelope_id": …, "payload": …}``). Raises ``TimeoutError`` if none comes, as
        Slack would then retry."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection: is SLACK_APP_TOKEN set?")
        envelope_id = f"env-{next(self._ids):08d}"
        envelope: Args = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        waiter: asyncio.Future[Args] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = waiter
        try:
            await self._sockets[-1].send_json(envelope)
            return await asyncio.wait_for(waiter, timeout=within)
        finally:
            self._acks.pop(envelope_id, None)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "connection_info": {"app_id": "AFIRSTLINE"},
                "debug_info": {"host": "emulator", "approximate_connection_time": 3600},
            }
        )
        self._socket_connected.set()
        try:
            async for message in socket:
                if message.type is not web.WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    ack = json.loads(message.data)
                    waiter = self._acks.get(str(ack.get("envelope_id")))
                    if waiter is not None and not waiter.done():
                        waiter.set_result(ack)
        finally:
            self._sockets.remove(socket)
            if not self._sockets:
                self._socket_connected.clear()
        return socket

    def _connections_open(self, args: Args) -> Args:
        assert self.base_url, "start() first"
        root = self.base_url.removesuffix("/api/").replace("http://", "ws://", 1)
        return {"ok": True, "url": f"{root}/socket-mode/{next(self._ids):08d}"}

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, problem = await _arguments(request)
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
        body_token = args.pop("token", None)
        token = token or (str(body_token) if body_token else None)
        if auth.startswith("Basic "):
            args["_basic_auth"] = auth[len("Basic ") :].strip()
        failure = self._failure_for(method)
        if failure is not None:
            status, retry_after, carried_out = failure
            if carried_out and token and problem is None and method in self._methods:
                self._acting = self._tokens.get(token, self.team_id)
                self._methods[method](copy.deepcopy(args))
            return self._fail(method, args, token, status, retry_after)
        self._acting = self._tokens.get(token or "", self.team_id)
        if problem is not None:
            body: Args = {"ok": False, "error": problem}
        elif method == "oauth.v2.access":
            body = self._oauth_v2_access(args)
        elif not token:
            body = {"ok": False, "error": "not_authed"}
        elif token in self.refused_tokens:
            body = {"ok": False, "error": "invalid_auth"}
        elif method not in self._methods:
            body = {"ok": False, "error": "unknown_method"}
        elif (method == "apps.connections.open") != token.startswith("xapp-"):
            body = {"ok": False, "error": "not_allowed_token_type"}
        else:
            try:
                body = self._methods[method](args)
            except Exception:
                log.exception("Slack emulator failed on %s", method)
                body = {"ok": False, "error": "internal_error"}
        args.pop("_basic_auth", None)
        team = self._tokens.get(token, self.team_id) if token else None
        self.calls.append(ApiCall(method, args, token, 200, body, team))
        if self._stall:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            client = (str(peer[0]), int(peer[1])) if peer else ("", 0)
            self._held.append(client)
            try:
                await asyncio.sleep(self._stall)
            finally:
                self._held.remove(client)
        return web.json_response(body, headers=self._headers(token))

    def _headers(self, token: str | None) -> dict[str, str]:
        when = datetime.now(UTC).timestamp() + self.clock_skew_seconds
        headers = {"Date": format_datetime(datetime.fromtimestamp(when, UTC), usegmt=True)}
        if token and token.startswith("xoxb-"):
            headers["x-oauth-scopes"] = ",".join(self.scopes)
        return headers

    def _fail(
        self, method: str, args: Args, token: str | None, status: int, retry_after: int
    ) -> web.Response:
        if status == 429:
            body = {"ok": False, "error": "ratelimited"}
            self.calls.append(ApiCall(method, args, token, 429, body))
            return web.json_response(body, status=429, headers={"Retry-After": str(retry_after)})
        self.calls.append(ApiCall(method, args, token, status, {}))
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        page = f"<html><head><title>{status} {reason}</title></head><body></body></html>"
        return web.Response(status=status, text=page, content_type="text/html")

    def _failure_for(self, method: str) -> tuple[int, int, bool] | None:
        if self._outage is not None:
            return (*self._outage, False)
        for failure in self._failures:
            if failure.method in (None, method):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure.status, failure.retry_after, failure.carried_out
        return None

    async def _response_url(self, request: web.Request) -> web.Response:
        """A post to a slash command's ``response_url`` (see ``hooks_url``)."""
        with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
            self.responses.append(json.loads(await request.read()))
        return web.Response(text="ok")

    def hooks_url(self, name: str = "command") -> str:
        """A ``response_url`` this emulator answers; what is posted lands in ``responses``."""
        return self.base_url.replace("/api/", f"/hooks/{name}")

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self._uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="Not Found")
        upload.content = await request.read()
        return web.Response(text=f"OK - {len(upload.content)}")

    # -- helpers ----------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _ts(self) -> str:
        """Unique, increasing message timestamps just after the clock's now: at 1700000000
        exactly, 1700000000.000100, then .000200, … while the clock stands still."""
        micros = max(round(self._now_seconds() * 1_000_000), self._last_ts) + TS_STEP
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    @staticmethod
    def _now() -> int:
        return int(datetime.now(UTC).timestamp())

    def _known_user(self, user: str) -> bool:
        """Unknown users only exist once the workspace has any users at all."""
        return not self._users or user in self._users or user == self.bot_user_id

    def _is_bot(self, user: str) -> bool:
        return user == self.bot_user_id or bool(self._users.get(user, {}).get("is_bot"))

    def _lookup(self, channel: str) -> _Channel | None:
        if channel in self._channels:
            return self._channels[channel]
        if channel in self._dms:
            return self._channels[self._dms[channel]]
        return None

    def _channel(self, channel_id: str) -> _Channel:
        """The channel, created (with the bot in it) if this is the first time it's seen."""
        if channel_id not in self._channels:
            self.add_channel(channel_id, name=channel_id.lower())
        return self._channels[channel_id]

    def _dm(self, user: str) -> str:
        if user not in self._dms:
            dm = f"D{user[1:]}"
            if dm in self._channels:
                dm = self._id("D")
            channel = _Channel(dm, "", self._now(), is_private=True, im_user=user)
            channel.members.update({user, self.bot_user_id})
            self._channels[dm] = channel
            self._dms[user] = dm
        return self._dms[user]

    def _mpim(self, users: list[str]) -> str:
        key = tuple(sorted({*users, self.bot_user_id}))
        if key not in self._mpims:
            mpim = self._id("G")
            name = "mpdm-" + "--".join(u.lower() for u in key) + "-1"
            channel = _Channel(mpim, name, self._now(), is_private=True, mpim_users=key)
            channel.members.update(key)
            self._channels[mpim] = channel
            self._mpims[key] = mpim
        return self._mpims[key]

    def _resolve(self, channel: Any) -> tuple[str | None, str]:
        """Where a message to ``channel`` goes: (channel id, "") or (None, error)."""
        if not isinstance(channel, str) or not channel:
            return None, "channel_not_found"
        if channel.startswith("#"):
            named = [c.id for c in self._channels.values() if c.name == channel[1:]]
            return (named[0], "") if named else (None, "channel_not_found")
        if channel[0] in "UW":
            if not self._known_user(channel):
                return None, "channel_not_found"
            if self._is_bot(channel):
                return None, "cannot_dm_bot"
            return self._dm(channel), ""
        return self._channel(channel).id, ""

    def _find(self, channel: Any, ts: Any) -> tuple[_Channel | None, _Message | None]:
        found = self._lookup(channel) if isinstance(channel, str) else None
        if found is None:
            return None, None
        return found, next((m for m in found.messages if m.ts == ts), None)

    def _channel_json(self, channel: _Channel) -> dict[str, Any]:
        if channel.im_user is not None:
            return {
                "id": channel.id,
                "created": channel.created,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.im_user,
                "is_user_deleted": False,
                "priority": 0,
            }
        topic = {
            "value": channel.topic,
            "creator": channel.topic_creator,
            "last_set": channel.topic_last_set,
        }
        return {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "is_channel": channel.is_conversation and not channel.is_private,
            "is_group": channel.is_conversation and channel.is_private,
            "is_im": False,
            "is_mpim": bool(channel.mpim_users),
            "is_private": channel.is_private,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": self.bot_user_id in channel.members,
            "created": channel.created,
            "creator": self.bot_user_id,
            "topic": topic,
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "num_members": len(channel.members),
        }

    # -- auth and chat ----------------------------------------------------------------------

    def _auth_test(self, args: Args) -> Args:
        team = self._teams[self._acting]
        return {
            "ok": True,
            "url": team.url,
            "team": team.name,
            "user": "firstline",
            "team_id": team.id,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            "is_enterprise_install": False,
        }

    def _oauth_v2_access(self, args: Args) -> Args:
        client_id, client_secret = str(args.get("client_id") or ""), args.get("client_secret")
        basic = args.get("_basic_auth")
        if basic:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                decoded = base64.b64decode(str(basic)).decode()
                client_id, _, client_secret = decoded.partition(":")
        if self._app is None or client_id != self._app[0]:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != self._app[1]:
            return {"ok": False, "error": "bad_client_secret"}
        grant = self._codes.pop(str(args.get("code") or ""), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        team_id, user = grant
        team = self._teams[team_id]
        token = f"xoxb-{team_id}-{next(self._ids)}-emulated"
        self._tokens[token] = team_id
        return {
            "ok": True,
            "app_id": "AFIRSTLINE",
            "authed_user": {"id": user},
            "scope": "chat:write,commands",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": team.bot_user_id,
            "team": {"id": team.id, "name": team.name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _message_error(self, args: Args) -> str | None:
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return "no_text"
        if len(str(args.get("text") or "")) > MAX_TEXT:
            return "msg_too_long"
        blocks = args.get("blocks")
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS):
            return "invalid_blocks"
        return None

    def _post_message(self, args: Args) -> Args:
        channel, error = self._resolve(args.get("channel"))
        if channel is None:
            return {"ok": False, "error": error}
        target = self._channels[channel]
        if target.is_private and self.bot_user_id not in target.members:
            return {"ok": False, "error": "channel_not_found"}
        problem = self._message_error(args)
        if problem:
            return {"ok": False, "error": problem}
        message = _Message(
            self._ts(),
            str(args.get("text") or ""),
            args.get("blocks"),
            _text_or_none(args.get("thread_ts")),
            self.bot_user_id,
            attachments=args.get("attachments"),
            metadata=args.get("metadata") if isinstance(args.get("metadata"), dict) else None,
            bot_id=self.bot_id,
        )
        self._channels[channel].messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self._message_json(message),
        }

    def _message_json(self, message: _Message) -> Args:
        found = {**message.as_dict(), "type": "message", "team": self.team_id}
        if message.bot_id:
            found["bot_id"] = message.bot_id
        if message.edited:
            found["edited"] = dict(message.edited)
        if found["thread_ts"] is None:
            del found["thread_ts"]
        if found["blocks"] is None:
            del found["blocks"]
        return found

    def _update(self, args: Args) -> Args:
        channel, message = self._find(args.get("channel"), args.get("ts"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        problem = self._message_error(args)
        if problem:
            return {"ok": False, "error": problem}
        if "text" in args:
            message.text = str(args.get("text") or "")
        if "blocks" in args:
            message.blocks = args["blocks"]
        if "attachments" in args:
            message.attachments = args["attachments"]
        if isinstance(args.get("metadata"), dict):
            message.metadata = args["metadata"]
        message.edited = {"user": self.bot_user_id, "ts": self._ts()}
        return {
            "ok": True,
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_json(message),
        }

    def _post_ephemeral(self, args: Args) -> Args:
        channel, user = args.get("channel"), args.get("user")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not isinstance(user, str) or not user or not self._known_user(user):
            return {"ok": False, "error": "user_not_found"}
        problem = self._message_error(args)
        if problem:
            return {"ok": False, "error": problem}
        return {"ok": True, "message_ts": self._ts()}

    def _delete(self, args: Args) -> Args:
        channel, message = self._find(args.get("channel"), args.get("ts"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        channel.messages.remove(message)
        return {"ok": True, "channel": channel.id, "ts": message.ts}

    def _permalink(self, args: Args) -> Args:
        channel, ts = str(args.get("channel") or ""), str(args.get("message_ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        link = f"{self.url}archives/{channel}/p{ts.replace('.', '')}"
        _, message = self._find(channel, ts)
        if message is not None and message.thread_ts and message.thread_ts != ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _reactions_add(self, args: Args) -> Args:
        channel, ts = str(args.get("channel") or ""), str(args.get("timestamp") or "")
        name = str(args.get("name") or "").strip(":")
        if not channel or not ts:
            return {"ok": False, "error": "no_item_specified"}
        if not name:
            return {"ok": False, "error": "invalid_name"}
        found = self._reactions.setdefault((channel, ts), [])
        if name in found:
            return {"ok": False, "error": "already_reacted"}
        found.append(name)
        return {"ok": True}

    def _pins_add(self, args: Args) -> Args:
        if not args.get("timestamp"):
            return {"ok": False, "error": "no_item_specified"}
        channel, message = self._find(args.get("channel"), args.get("timestamp"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.ts in channel.pins:
            return {"ok": False, "error": "already_pinned"}
        channel.pins.append(message.ts)
        return {"ok": True}

    # -- users and conversations -------------------------------------------------------------

    def _users_info(self, args: Args) -> Args:
        user_id = str(args.get("user") or "")
        user = self._users.get(user_id)
        if user is None and user_id == self.bot_user_id:
            user = _user_json(
                user_id, team_id=self.team_id, name="firstline", is_bot=True, tz="UTC"
            )
            user["profile"]["bot_id"] = self.bot_id
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": _with_tz_offset(user)}

    def _conversations_info(self, args: Args) -> Args:
        found = self._channels.get(str(args.get("channel") or ""))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": self._channel_json(found)}

    def _conversations_open(self, args: Args) -> Args:
        if args.get("channel"):
            found = self._channels.get(str(args["channel"]))
            if found is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": found.id}}
        users = _id_list(args.get("users"))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) > 8:
            return {"ok": False, "error": "too_many_users"}
        if any(not self._known_user(u) for u in users):
            return {"ok": False, "error": "user_not_found"}
        if len(users) == 1:
            if self._is_bot(users[0]):
                return {"ok": False, "error": "cannot_dm_bot"}
            already = users[0] in self._dms
            channel = self._channels[self._dm(users[0])]
        else:
            already = tuple(sorted({*users, self.bot_user_id})) in self._mpims
            channel = self._channels[self._mpim(users)]
        body: Args = {"ok": True, "channel": {"id": channel.id}}
        if _truthy(args.get("return_im")):
            body["channel"] = self._channel_json(channel)
        if already:
            body.update(no_op=True, already_open=True)
        return body

    def _page(self, messages: list[_Message], args: Args) -> Args:
        """One page of messages (``limit``, ``cursor``), with metadata when asked for."""
        try:
            limit = max(1, min(int(args.get("limit") or 100), 1000))
            start = int(str(args.get("cursor") or "0"))
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = messages[start : start + limit]
        found = []
        for message in page:
            item = self._message_json(message)
            if message.metadata and _truthy(args.get("include_all_metadata")):
                item["metadata"] = copy.deepcopy(message.metadata)
            found.append(item)
        more = start + limit < len(messages)
        return {
            "ok": True,
            "messages": found,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _history(self, args: Args) -> Args:
        """Top-level messages, newest first (thread replies stay in their thread)."""
        found = self._channels.get(str(args.get("channel") or ""))
        if found is None or (found.is_private and self.bot_user_id not in found.members):
            return {"ok": False, "error": "channel_not_found"}
        if self.bot_user_id not in found.members:
            return {"ok": False, "error": "not_in_channel"}
        top = [m for m in found.messages if m.thread_ts is None or m.thread_ts == m.ts]
        oldest = float(str(args.get("oldest") or 0))  # exclusive, as Slack's (no "inclusive")
        return self._page([m for m in reversed(top) if float(m.ts) > oldest], args)

    def _replies(self, args: Args) -> Args:
        """A thread, oldest first: the parent (if the emulator saw it), then its replies."""
        found = self._channels.get(str(args.get("channel") or ""))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(args.get("ts") or "")
        if not ts:
            return {"ok": False, "error": "invalid_arguments"}
        named = next((m for m in found.messages if m.ts == ts), None)
        root = named.thread_ts if named is not None and named.thread_ts else ts
        thread = [m for m in found.messages if m.ts == root or m.thread_ts == root]
        return self._page(thread, args)

    def _set_topic(self, args: Args) -> Args:
        found = self._channels.get(str(args.get("channel") or ""))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        if found.im_user is not None:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        topic = str(args.get("topic") or "")
        if len(topic) > MAX_TOPIC:
            return {"ok": False, "error": "too_long"}
        found.topic, found.topic_creator = topic, self.bot_user_id
        found.topic_last_set = self._now()
        return {"ok": True, "channel": self._channel_json(found)}

    def _create(self, args: Args) -> Args:
        name = str(args.get("name") or "")
        error = _channel_name_error(name)
        if error:
            return {"ok": False, "error": error}
        if any(c.name == name for c in self._channels.values() if c.is_conversation):
            return {"ok": False, "error": "name_taken"}
        channel = _Channel(self._id("C"), name, self._now(), _truthy(args.get("is_private")))
        channel.members.add(self.bot_user_id)
        self._channels[channel.id] = channel
        return {"ok": True, "channel": self._channel_json(channel)}

    def _list(self, args: Args) -> Args:
        """Channels (not DMs, not archived), a page at a time (``limit``, ``cursor``)."""
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        start = int(str(args.get("cursor") or "0") or 0)
        channels = [c for c in self._channels.values() if c.is_conversation]
        page = channels[start : start + limit]
        more = start + limit < len(channels)
        return {
            "ok": True,
            "channels": [self._channel_json(c) for c in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _invite(self, args: Args) -> Args:
        found = self._channels.get(str(args.get("channel") or ""))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        if not found.is_conversation:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        users = _id_list(args.get("users"))
        if not users:
            return {"ok": False, "error": "no_user"}
        for error, refused in (
            ("cant_invite_self", [u for u in users if u == self.bot_user_id]),
            ("user_not_found", [u for u in users if not self._known_user(u)]),
            ("already_in_channel", [u for u in users if u in found.members]),
        ):
            if refused:
                errors = [{"user": u, "ok": False, "error": error} for u in refused]
                return {"ok": False, "error": error, "errors": errors}
        found.members.update(users)
        return {"ok": True, "channel": self._channel_json(found)}

    def _join(self, args: Args) -> Args:
        channel_id = str(args.get("channel") or "")
        if not channel_id or channel_id[0] not in "CG":
            return {"ok": False, "error": "channel_not_found"}
        found = self._channel(channel_id)
        if not found.is_conversation or found.is_private:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        body: Args = {"ok": True, "channel": self._channel_json(found)}
        if self.bot_user_id in found.members:
            body["warning"] = "already_in_channel"
            body["response_metadata"] = {"warnings": ["already_in_channel"]}
        found.members.add(self.bot_user_id)
        body["channel"]["is_member"] = True
        return body

    # -- user groups and views ---------------------------------------------------------------

    def _group_json(self, group: _Group, *, with_users: bool = True) -> Args:
        found: Args = {
            "id": group.id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "name": group.name,
            "handle": group.handle,
            "description": "",
            "is_external": False,
            "date_update": group.date_update,
            "user_count": len(group.users),
        }
        if with_users:
            found["users"] = list(group.users)
        return found

    def _usergroup_update(self, args: Args) -> Args:
        group_id = str(args.get("usergroup") or "")
        if not group_id:
            return {"ok": False, "error": "no_such_subteam"}
        users = _id_list(args.get("users"))
        if any(not self._known_user(u) for u in users):
            return {"ok": False, "error": "invalid_users"}
        group = self._groups.get(group_id)
        if group is None:
            group = self._groups[group_id] = _Group(group_id, group_id.lower(), group_id, [])
        group.users = list(dict.fromkeys(users))
        group.date_update = self._now()
        return {"ok": True, "usergroup": self._group_json(group)}

    def _usergroups_list(self, args: Args) -> Args:
        with_users = _truthy(args.get("include_users"))
        groups = [self._group_json(g, with_users=with_users) for g in self._groups.values()]
        return {"ok": True, "usergroups": groups}

    def _view_json(self, view: Any, *, view_id: str) -> Args:
        given = view if isinstance(view, dict) else {}
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": given.get("type", "modal"),
            "title": given.get("title"),
            "blocks": given.get("blocks", []),
            "private_metadata": given.get("private_metadata", ""),
            "callback_id": given.get("callback_id", ""),
            "external_id": given.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{self._now()}.{next(self._ids):08d}",
            "clear_on_close": bool(given.get("clear_on_close", False)),
            "notify_on_close": bool(given.get("notify_on_close", False)),
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": "A0FIRSTLINE",
            "bot_id": self.bot_id,
        }

    def _views_publish(self, args: Args) -> Args:
        user, view = str(args.get("user_id") or ""), args.get("view")
        if not user or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if not self._known_user(user):
            return {"ok": False, "error": "user_not_found"}
        previous = self._home_views.get(user)
        published = self._view_json(view, view_id=previous["id"] if previous else self._id("V"))
        self._home_views[user] = published
        return {"ok": True, "view": copy.deepcopy(published)}

    def _views_open(self, args: Args) -> Args:
        view = args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": self._view_json(view, view_id=self._id("V"))}

    # -- files ------------------------------------------------------------------------------

    def _upload_url(self, args: Args) -> Args:
        filename = str(args.get("filename") or "")
        try:
            length = int(args.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        upload = _Upload(self._id("F"), filename, length)
        self._uploads[upload.id] = upload
        root = self.base_url.removesuffix("api/")
        return {"ok": True, "upload_url": f"{root}upload/v1/{upload.id}", "file_id": upload.id}

    def _complete_upload(self, args: Args) -> Args:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        uploads: list[_Upload] = []
        for item in files:
            upload = self._uploads.get(str(item.get("id"))) if isinstance(item, dict) else None
            if upload is None or upload.content is None:
                return {"ok": False, "error": "file_not_found"}
            upload.title = str(item.get("title") or upload.filename)
            uploads.append(upload)
        targets = _id_list(args.get("channels")) or _id_list(args.get("channel_id"))
        shared: list[str] = []
        for target in targets:
            channel, error = self._resolve(target)
            if channel is None:
                return {"ok": False, "error": error}
            shared.append(channel)
        objects = [self._file_json(u, shared) for u in uploads]
        for channel in shared:
            self._channels[channel].messages.append(
                _Message(
                    self._ts(),
                    str(args.get("initial_comment") or ""),
                    None,
                    _text_or_none(args.get("thread_ts")),
                    self.bot_user_id,
                    files=objects,
                    bot_id=self.bot_id,
                )
            )
        for upload in uploads:
            upload.completed = True
            upload.channels.extend(shared)
        return {"ok": True, "files": objects}

    def _file_json(self, upload: _Upload, channels: list[str]) -> Args:
        return {
            "id": upload.id,
            "created": self._now(),
            "name": upload.filename,
            "title": upload.title,
            "mimetype": "text/plain",
            "filetype": "text",
            "user": self.bot_user_id,
            "size": len(upload.content or b""),
            "permalink": f"{self.url}files/{self.bot_user_id}/{upload.id}/{upload.filename}",
            "channels": [c for c in channels if c[0] == "C"],
            "groups": [c for c in channels if c[0] == "G"],
            "ims": [c for c in channels if c[0] == "D"],
        }


# -- module helpers -------------------------------------------------------------------------


def _user_json(
    user_id: str,
    *,
    team_id: str,
    name: str,
    is_admin: bool = False,
    is_owner: bool = False,
    is_primary_owner: bool = False,
    is_bot: bool = False,
    tz: str = "Europe/Berlin",
) -> dict[str, Any]:
    return {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "real_name": name,
        "deleted": False,
        "tz": tz,
        "is_admin": is_admin,
        "is_owner": is_owner,
        "is_primary_owner": is_primary_owner,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "profile": {
            "display_name": name,
            "display_name_normalized": name,
            "real_name": name,
            "real_name_normalized": name,
            "team": team_id,
        },
    }


def _with_tz_offset(user: dict[str, Any]) -> dict[str, Any]:
    """A copy of the user object with ``tz_label`` and ``tz_offset`` for today."""
    found = copy.deepcopy(user)
    try:
        now = datetime.now(ZoneInfo(str(user.get("tz") or "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        return found
    offset = now.utcoffset()
    found["tz_label"] = now.tzname() or ""
    found["tz_offset"] = int(offset.total_seconds()) if offset is not None else 0
    return found


def _channel_name_error(name: str) -> str | None:
    """Slack's naming rule: lowercase letters, digits, ``-`` and ``_``; at most 80."""
    if not name:
        return "invalid_name_required"
    if len(name) > MAX_CHANNEL_NAME:
        return "invalid_name_maxlength"
    if not _CHANNEL_NAME.fullmatch(name):
        return "invalid_name_specials"
    if not any(ch.isalnum() for ch in name):
        return "invalid_name_punctuation"
    return None


def _id_list(value: Any) -> list[str]:
    """``"U1,U2"`` or ``["U1", "U2"]`` as a list of non-empty ids, in order, once each."""
    if isinstance(value, list | tuple):
        items = [str(v).strip() for v in value]
    elif value:
        items = [v.strip() for v in str(value).split(",")]
    else:
        items = []
    return list(dict.fromkeys(v for v in items if v))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


async def _arguments(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """The call's arguments and, if the body can't be read, Slack's error for that.

    Slack accepts a JSON body, a form-encoded or multipart body, and a query string.
    Form-encoded ``blocks``, ``attachments``, ``files`` and ``view`` are JSON strings;
    they are decoded so a call reads the same however the client sent it.
    """
    args: dict[str, Any] = dict(request.query)
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        args.update((k, v) for k, v in form.items() if isinstance(v, str))
        return _decode_json_fields(args), None
    raw = await request.read()
    if not raw:
        return _decode_json_fields(args), None
    if request.content_type == "application/json":
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return args, "invalid_json"
        if not isinstance(data, dict):
            return args, "json_not_object"
        args.update(data)
        return _decode_json_fields(args), None
    args.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return _decode_json_fields(args), None


def _decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


def _default_scopes() -> list[str]:
    # Imported late: the emulator is also used on its own (benchmarks), without the app.
    from handlers.slack.scopes import BOT_SCOPES

    return list(BOT_SCOPES)
