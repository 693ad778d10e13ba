"""A fake Bot Connector: the Teams side of Firstline's tests (and of a local try-out).

    connector = ConnectorEmulator()
    await connector.start()          # activities carry serviceUrl=connector.service_url
    ...
    connector.sent("send")           # every activity the bot sent, in order

It answers the Bot Connector REST calls botbuilder makes (create a conversation, send
to a conversation, reply to an activity, update or delete an activity) with the shapes
the real service returns, keeps the current state of every message (so an edit in
place replaces it) and can fail the next calls with a status (429 with Retry-After,
5xx) to test the outbox.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CARD = "application/vnd.microsoft.card.adaptive"


@dataclass
class ConnectorCall:
    op: str  # create | send | reply | update | delete
    conversation: str
    activity_id: str
    body: dict[str, Any]
    reply_to: str | None = None

    @property
    def thread(self) -> str | None:
        """The root message id when the call went into a reply chain."""
        _, _, root = self.conversation.partition(";messageid=")
        return root or self.reply_to

    @property
    def channel(self) -> str:
        return self.conversation.split(";", 1)[0]

    @property
    def card(self) -> dict[str, Any] | None:
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == CARD:
                content: dict[str, Any] = attachment.get("content") or {}
                return content
        return None

    @property
    def text(self) -> str:
        """Everything a person reads: the text, the card's text blocks and facts."""
        parts = [str(self.body.get("text") or "")]
        card = self.card or {}
        for block in card.get("body") or []:
            if block.get("type") == "TextBlock":
                parts.append(str(block.get("text") or ""))
            if block.get("type") == "FactSet":
                parts.extend(f"{f.get('title')}: {f.get('value')}" for f in block.get("facts", []))
        return "\n".join(p for p in parts if p)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        return list((self.card or {}).get("actions") or [])

    def button(self, title: str) -> dict[str, Any]:
        for action in self.buttons:
            if action.get("title") == title:
                data: dict[str, Any] = action.get("data") or {}
                return data
        raise KeyError(
            f"no button {title!r} on this card: {[b.get('title') for b in self.buttons]}"
        )

    @property
    def mentions(self) -> list[dict[str, Any]]:
        entities = list(self.body.get("entities") or [])
        entities += list(((self.card or {}).get("msteams") or {}).get("entities") or [])
        return [e for e in entities if e.get("type") == "mention"]


@dataclass
class _Failure:
    status: int
    retry_after: float | None = None


@dataclass
class ConnectorEmulator:
    calls: list[ConnectorCall] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    personal: dict[str, str] = field(default_factory=dict)  # conversation id → member id
    failures: list[_Failure] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1_764_000_000_001))
    _runner: web.AppRunner | None = None
    service_url: str = ""

    async def start(self) -> None:
        app = web.Application()
        base = "/v3/conversations"
        app.router.add_post(base, self._create)
        app.router.add_post(base + "/{conversation}/activities", self._send)
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._reply)
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._update)
        app.router.add_delete(base + "/{conversation}/activities/{activity}", self._delete)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.service_url = f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def fail_next(self, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        self.failures.extend(_Failure(status, retry_after) for _ in range(times))

    def next_id(self) -> str:
        return str(next(self._ids))

    # -- what tests read -------------------------------------------------------------------

    def sent(self, op: str | None = None) -> list[ConnectorCall]:
        return [c for c in self.calls if op is None or c.op == op]

    def in_channel(self, channel: str) -> list[ConnectorCall]:
        """Messages posted (not replies, not edits) in a channel conversation."""
        return [c for c in self.calls if c.op in ("send", "create") and c.conversation == channel]

    def in_thread(self, channel: str, root: str) -> list[ConnectorCall]:
        return [
            c
            for c in self.calls
            if c.op in ("send", "reply") and c.channel == channel and c.thread == root
        ]

    def to_person(self, member: str) -> list[ConnectorCall]:
        """Messages sent into the 1:1 chat with ``member`` (a Teams user id)."""
        chats = {conv for conv, who in self.personal.items() if who == member}
        return [c for c in self.calls if c.op == "send" and c.conversation in chats]

    def updates(self, activity_id: str) -> list[ConnectorCall]:
        return [c for c in self.calls if c.op == "update" and c.activity_id == activity_id]

    # -- the REST surface ------------------------------------------------------------------

    def _failure(self) -> web.Response | None:
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after else {}
        body = {"error": {"code": "Throttled" if failure.status == 429 else "ServiceError"}}
        return web.json_response(body, status=failure.status, headers=headers)

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.json_response({"error": {"code": "BadSyntax"}}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": {"code": "BadSyntax"}}, status=400)
        return body

    async def _create(self, request: web.Request) -> web.Response:
        failed = self._failure()
        if failed is not None:
            return failed
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        if body.get("isGroup") and channel:
            # A new post in a channel: its reply chain is the new conversation.
            message_id = self.next_id()
            activity = dict(body.get("activity") or {}, id=message_id)
            self.messages[(channel, message_id)] = activity
            self.calls.append(ConnectorCall("create", channel, message_id, activity))
            return web.json_response(
                {"id": f"{channel};messageid={message_id}", "activityId": message_id}, status=201
            )
        members = body.get("members") or []
        if len(members) != 1 or not members[0].get("id"):
            return web.json_response({"error": {"code": "BadArgument"}}, status=400)
        member = str(members[0]["id"])
        conversation = f"a:personal-{member}"
        self.personal[conversation] = member
        self.calls.append(ConnectorCall("create", conversation, "", body))
        return web.json_response({"id": conversation}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        return await self._post(request, "send")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._post(request, "reply", reply_to=request.match_info["activity"])

    async def _post(
        self, request: web.Request, kind: str, *, reply_to: str | None = None
    ) -> web.Response:
        """A new activity in a conversation (``reply_to``: in an activity's reply chain)."""
        failed = self._failure()
        if failed is not None:
            return failed
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        conversation = request.match_info["conversation"]
        message_id = self.next_id()
        self.messages[(conversation.split(";", 1)[0], message_id)] = body
        self.calls.append(ConnectorCall(kind, conversation, message_id, body, reply_to=reply_to))
        return web.json_response({"id": message_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        failed = self._failure()
        if failed is not None:
            return failed
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        conversation = request.match_info["conversation"]
        activity_id = request.match_info["activity"]
        key = (conversation.split(";", 1)[0], activity_id)
        if key not in self.messages:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        self.messages[key] = body
        self.calls.append(ConnectorCall("update", conversation, activity_id, body))
        return web.json_response({"id": activity_id}, status=200)

    async def _delete(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        activity_id = request.match_info["activity"]
        self.messages.pop((conversation.split(";", 1)[0], activity_id), None)
        self.calls.append(ConnectorCall("delete", conversation, activity_id, {}))
        return web.Response(status=200)
