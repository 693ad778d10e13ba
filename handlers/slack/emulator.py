"""An in-process Slack Web API: an aiohttp server on loopback that records every call.

    async with SlackEmulator(team_id="T0DEMO") as slack:
        client = AsyncWebClient(token="xoxb-x", base_url=slack.base_url)

Used by `firstline demo` (so it runs with no credentials), by the end-to-end tests and by
the benchmarks. It answers with Slack's response shapes, keeps each channel's messages,
and can be told to fail (429 with Retry-After, 5xx) to exercise retries.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,79}$")


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    token: str | None
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int
    method: str | None


@dataclass
class _Message:
    ts: str
    text: str
    blocks: Any
    thread_ts: str | None
    user: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "thread_ts": self.thread_ts,
            "user": self.user,
        }


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool = False
    topic: str = ""
    members: set[str] = field(default_factory=set)
    pins: list[str] = field(default_factory=list)
    messages: list[_Message] = field(default_factory=list)


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]] | dict[str, Any]]


class SlackEmulator:
    def __init__(
        self,
        *,
        team_id: str = "T0DEMO",
        team_name: str = "Demo",
        bot_user_id: str = "UFIRSTLINE",
        bot_id: str = "BFIRSTLINE",
        url: str = "https://demo.slack.com/",
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.url = url
        self.calls: list[ApiCall] = []
        self.base_url = ""
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, _Channel] = {}
        self._dms: dict[str, str] = {}
        self._groups: dict[str, list[str]] = {}
        self._failures: list[_Failure] = []
        self._outage: int | None = None
        self._clock = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.setTopic": self._set_topic,
            "conversations.create": self._create,
            "conversations.invite": self._invite,
            "conversations.join": self._join,
            "pins.add": self._pins_add,
            "reactions.add": lambda args: {"ok": True},
            "usergroups.users.update": self._usergroup_update,
            "usergroups.list": self._usergroups_list,
            "views.publish": lambda args: {"ok": True, "view": {"id": self._id("V")}},
            "views.open": lambda args: {"ok": True, "view": {"id": self._id("V")}},
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=20 * 1024**2)
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/api/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- set-up and inspection ------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        tz: str = "Europe/Berlin",
    ) -> None:
        self._users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": name,
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_bot": is_bot,
            "deleted": False,
            "profile": {"display_name": name, "real_name": name},
        }

    def add_channel(self, channel_id: str, *, name: str, is_private: bool = False) -> None:
        self._channels[channel_id] = _Channel(channel_id, name, is_private)

    def fail_next(
        self, count: int, *, status: int = 429, retry_after: int = 1, method: str | None = None
    ) -> None:
        """The next ``count`` calls (of ``method``, if given) fail with ``status``."""
        self._failures.append(_Failure(count, status, retry_after, method))

    def set_outage(self, status: int | None) -> None:
        """While set, every call answers ``status`` (e.g. 503); None ends the outage."""
        self._outage = status

    def delivered(self, method: str | None = None) -> list[ApiCall]:
        return [c for c in self.calls if c.ok and (method is None or c.method == method)]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        found = self._channels.get(channel)
        return [m.as_dict() for m in found.messages] if found else []

    def topic(self, channel: str) -> str:
        found = self._channels.get(channel)
        return found.topic if found else ""

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else args.pop("token", None)
        failure = self._failure_for(method)
        if failure is not None:
            status, retry_after = failure
            if status == 429:
                body = {"ok": False, "error": "ratelimited"}
                self.calls.append(ApiCall(method, args, token, 429, body))
                return web.json_response(
                    body, status=429, headers={"Retry-After": str(retry_after)}
                )
            self.calls.append(ApiCall(method, args, token, status, {}))
            return web.Response(status=status, text="<html>upstream error</html>")
        if not token:
            body = {"ok": False, "error": "not_authed"}
        elif method not in self._methods:
            body = {"ok": False, "error": "unknown_method"}
        else:
            result = self._methods[method](args)
            body = await result if isinstance(result, Awaitable) else result
        self.calls.append(ApiCall(method, args, token, 200, body))
        return web.json_response(body)

    def _failure_for(self, method: str) -> tuple[int, int] | None:
        if self._outage is not None:
            return self._outage, 1
        for failure in self._failures:
            if failure.remaining > 0 and failure.method in (None, method):
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                return failure.status, failure.retry_after
        return None

    async def _upload(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="OK")

    # -- methods ------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _ts(self) -> str:
        return f"{1700000000 + next(self._clock)}.{next(self._ids):06d}"

    def _channel(self, channel_id: str) -> _Channel:
        if channel_id not in self._channels:
            self._channels[channel_id] = _Channel(channel_id, channel_id.lower())
        return self._channels[channel_id]

    def _dm(self, user: str) -> str:
        if user not in self._dms:
            self._dms[user] = f"D{user[1:]}"
            self._channels[self._dms[user]] = _Channel(self._dms[user], f"dm-{user}")
        return self._dms[user]

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": self.url,
            "team": self.team_name,
            "user": "firstline",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _resolve(self, channel: Any) -> str | None:
        if not isinstance(channel, str) or not channel:
            return None
        if channel[0] in "UW":
            if self._users and channel not in self._users:
                return None
            return self._dm(channel)
        return channel

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        message = _Message(
            self._ts(),
            str(args.get("text") or ""),
            args.get("blocks"),
            args.get("thread_ts"),
            self.bot_user_id,
        )
        self._channel(channel).messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": {**message.as_dict(), "type": "message", "bot_id": self.bot_id},
        }

    def _find(self, channel: Any, ts: Any) -> _Message | None:
        found = self._channels.get(channel) if isinstance(channel, str) else None
        if found is None:
            return None
        return next((m for m in found.messages if m.ts == ts), None)

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._find(args.get("channel"), args.get("ts"))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(args.get("text") or message.text)
        message.blocks = args.get("blocks", message.blocks)
        return {"ok": True, "channel": args["channel"], "ts": message.ts, "text": message.text}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "message_ts": self._ts()}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._channels.get(str(args.get("channel")))
        message = self._find(args.get("channel"), args.get("ts"))
        if found is None or message is None:
            return {"ok": False, "error": "message_not_found"}
        found.messages.remove(message)
        return {"ok": True, "channel": found.id, "ts": message.ts}

    def _permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{self.url}archives/{channel}/p{ts.replace('.', '')}",
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(args.get("user")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._channels.get(str(args.get("channel")))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": _channel_json(found)}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users") or "").split(",")
        if len(users) != 1 or not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self._dm(users[0])}}

    def _set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._channels.get(str(args.get("channel")))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        found.topic = str(args.get("topic") or "")
        return {"ok": True, "channel": _channel_json(found)}

    def _create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name") or "")
        if not _CHANNEL_NAME.match(name):
            return {"ok": False, "error": "invalid_name_specials"}
        if any(c.name == name for c in self._channels.values()):
            return {"ok": False, "error": "name_taken"}
        is_private = str(args.get("is_private", "")).lower() in ("true", "1")
        channel = _Channel(self._id("C"), name, is_private, members={self.bot_user_id})
        self._channels[channel.id] = channel
        return {"ok": True, "channel": _channel_json(channel)}

    def _invite(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._channels.get(str(args.get("channel")))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        found.members.update(u for u in str(args.get("users") or "").split(",") if u)
        return {"ok": True, "channel": _channel_json(found)}

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._channel(str(args.get("channel")))
        found.members.add(self.bot_user_id)
        return {"ok": True, "channel": _channel_json(found)}

    def _pins_add(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._channels.get(str(args.get("channel")))
        if found is None or self._find(found.id, args.get("timestamp")) is None:
            return {"ok": False, "error": "message_not_found"}
        found.pins.append(str(args.get("timestamp")))
        return {"ok": True}

    def _usergroup_update(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        users = [u for u in str(args.get("users") or "").split(",") if u]
        self._groups[group] = users
        return {"ok": True, "usergroup": {"id": group, "users": users}}

    def _usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        groups = [{"id": g, "users": u} for g, u in self._groups.items()]
        return {"ok": True, "usergroups": groups}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = self._id("F")
        return {
            "ok": True,
            "upload_url": f"{self.base_url[:-4]}upload/{file_id}",
            "file_id": file_id,
        }

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        return {"ok": True, "files": files or []}


def _channel_json(channel: _Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": True,
        "is_private": channel.is_private,
        "topic": {"value": channel.topic},
        "num_members": len(channel.members),
    }


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Slack accepts form-encoded or JSON bodies, and query strings for GETs."""
    args: dict[str, Any] = dict(request.query)
    raw = await request.read()
    if not raw:
        return args
    if request.content_type == "application/json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return args
        if isinstance(data, dict):
            args.update(data)
        return args
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        if key in ("blocks", "attachments") and value.startswith("["):
            try:
                args[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        args[key] = value
    return args
