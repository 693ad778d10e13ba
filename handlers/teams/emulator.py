"""A fake Bot Connector and Microsoft sign-in: the Teams side of Firstline's tests and of
``firstline demo --teams``.

    connector = ConnectorEmulator(app_id=..., app_password=...)
    await connector.start()          # activities carry serviceUrl=connector.service_url
    headers = {"Authorization": f"Bearer {connector.sign()}"}   # as the Connector signs
    ...
    connector.sent("send")           # every activity the bot sent, in order

One local server plays three Microsoft services at the wire level, so the bot runs the
SDK's real token validation and acquisition against it (``MICROSOFT_LOGIN_URL`` =
``connector.login_url``):
- the Bot Framework login: an OpenID configuration and a JWKS with a key generated at
  start, which signs every activity token;
- Entra ID: tenant discovery and a client-credentials token endpoint (it counts tokens);
- the Bot Connector REST calls (create a conversation, send, reply, update, delete,
  members), each requiring one of the tokens it issued, answered with the shapes the
  real service returns. It validates what the real one does: an activity needs a type
  and, for a message, text or attachments; a mention entity needs ``mentioned.id``,
  ``mentioned.name`` and a ``text`` that appears in the message; an update addresses the
  message through the reply chain it was posted in. Errors come back as the real
  service sends them (400 with an ``{"error": {"code", "message"}}`` body).
It keeps the current state of every message (so an edit in place replaces it) and can
fail the next calls with a status (429 with Retry-After, 5xx) to test the outbox.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.clock import Clock

CARD = "application/vnd.microsoft.card.adaptive"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
CONNECTOR_AUDIENCE = "https://api.botframework.com"
DEMO_APP_ID = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"


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


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@dataclass
class ConnectorEmulator:
    app_id: str = DEMO_APP_ID
    app_password: str = "emulator-secret"
    calls: list[ConnectorCall] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    roots: dict[tuple[str, str], str] = field(default_factory=dict)  # message → chain root
    personal: dict[str, str] = field(default_factory=dict)  # conversation id → member id
    members: list[dict[str, Any]] = field(default_factory=list)  # the team's roster
    failures: list[_Failure] = field(default_factory=list)
    token_requests: int = 0
    refused: list[str] = field(default_factory=list)  # why calls were answered 4xx
    _ids: Any = field(default_factory=lambda: itertools.count(1_764_000_000_001))
    _runner: web.AppRunner | None = None
    service_url: str = ""
    login_url: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: secrets.token_hex(8))

    async def start(self) -> None:
        app = web.Application()
        base = "/v3/conversations"
        app.router.add_post(base, self._create)
        app.router.add_post(base + "/{conversation}/activities", self._send)
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._reply)
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._update)
        app.router.add_delete(base + "/{conversation}/activities/{activity}", self._delete)
        app.router.add_get(base + "/{conversation}/members", self._members)
        app.router.add_get(base + "/{conversation}/members/{member}", self._member)
        app.router.add_get("/v1/.well-known/openidconfiguration", self._bot_openid)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", self._keys)
        app.router.add_get("/{tenant}/discovery/keys", self._keys)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._entra_openid)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.service_url = f"http://127.0.0.1:{port}/"
        self.login_url = f"http://127.0.0.1:{port}"

    def env(self) -> dict[str, str]:
        """The settings that make Firstline talk to this emulator as its Microsoft."""
        return {
            "MICROSOFT_APP_ID": self.app_id,
            "MICROSOFT_APP_PASSWORD": self.app_password,
            "MICROSOFT_LOGIN_URL": self.login_url,
        }

    # -- sign-in ---------------------------------------------------------------------------

    def sign(self, claims: dict[str, Any] | None = None, **header: Any) -> str:
        """A token as the Bot Connector sends with each activity (``claims`` override)."""
        now = int(time.time())
        body = {
            "iss": BOT_FRAMEWORK_ISSUER,
            "aud": self.app_id,
            "serviceurl": self.service_url,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + 3600,
            **(claims or {}),
        }
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None},
            self.key,
            algorithm="RS256",
            headers={"kid": self.kid, **header},
        )

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _b64(numbers.n),
                    "e": _b64(numbers.e),
                    "endorsements": ["msteams"],
                }
            ]
        }

    async def _bot_openid(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.login_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response(self.jwks())

    async def _entra_openid(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        # The real addresses: MSAL only accepts https authorities; Firstline's sign-in
        # client sends them to MICROSOFT_LOGIN_URL.
        login = f"https://login.microsoftonline.com/{tenant}"
        return web.json_response(
            {
                "issuer": f"{login}/v2.0",
                "authorization_endpoint": f"{login}/oauth2/v2.0/authorize",
                "token_endpoint": f"{login}/oauth2/v2.0/token",
                "jwks_uri": f"{login}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.app_password:
            self.refused.append("token: invalid client")
            return web.json_response(
                {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid secret"},
                status=401,
            )
        if form.get("scope") != f"{CONNECTOR_AUDIENCE}/.default":
            return web.json_response({"error": "invalid_scope"}, status=400)
        self.token_requests += 1
        now = int(time.time())
        tenant = request.match_info["tenant"]
        token = jwt.encode(
            {
                "aud": CONNECTOR_AUDIENCE,
                "iss": f"https://sts.windows.net/{tenant}/",
                "appid": self.app_id,
                "nbf": now - 5,
                "exp": now + 3600,
            },
            self.key,
            algorithm="RS256",
            headers={"kid": self.kid},
        )
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }
        )

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        """The Connector takes only tokens Entra issued to the bot for the Connector."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            claims = jwt.decode(
                token, self.key.public_key(), algorithms=["RS256"], audience=CONNECTOR_AUDIENCE
            )
        except jwt.PyJWTError as error:
            self.refused.append(f"connector: {error}")
            return _error(401, "Unauthorized", "Authorization has been denied for this request.")
        if scheme != "Bearer" or claims.get("appid") != self.app_id:
            self.refused.append("connector: not the bot's token")
            return _error(401, "Unauthorized", "Authorization has been denied for this request.")
        return None

    def _invalid(self, body: dict[str, Any]) -> web.Response | None:
        """What the real Connector refuses in an activity: 400, with the reason."""
        problem = refusal(body)
        if problem is None:
            return None
        self.refused.append(problem)
        return _error(400, "BadArgument", problem)

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

    def _failure(self, request: web.Request) -> web.Response | None:
        unauthorized = self._unauthorized(request)
        if unauthorized is not None:
            return unauthorized
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
        failed = self._failure(request)
        if failed is not None:
            return failed
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        if body.get("isGroup") and channel:
            # A new post in a channel: its reply chain is the new conversation.
            first = dict(body.get("activity") or {})
            invalid = self._invalid(first)
            if invalid is not None:
                return invalid
            message_id = self.next_id()
            activity = dict(first, id=message_id)
            self.messages[(channel, message_id)] = activity
            self.roots[(channel, message_id)] = message_id
            self.calls.append(ConnectorCall("create", channel, message_id, activity))
            return web.json_response(
                {"id": f"{channel};messageid={message_id}", "activityId": message_id}, status=201
            )
        members = body.get("members") or []
        if len(members) != 1 or not members[0].get("id"):
            return _error(400, "BadArgument", "a 1:1 conversation needs exactly one member")
        if not (body.get("tenantId") or (body.get("channelData") or {}).get("tenant")):
            return _error(400, "BadArgument", "Tenant ID is required")
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
        failed = self._failure(request)
        if failed is not None:
            return failed
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        invalid = self._invalid(body)
        if invalid is not None:
            return invalid
        conversation = request.match_info["conversation"]
        channel, _, root = conversation.partition(";messageid=")
        message_id = self.next_id()
        self.messages[(channel, message_id)] = body
        self.roots[(channel, message_id)] = root or message_id
        self.calls.append(ConnectorCall(kind, conversation, message_id, body, reply_to=reply_to))
        return web.json_response({"id": message_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        failed = self._failure(request)
        if failed is not None:
            return failed
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        invalid = self._invalid(body)
        if invalid is not None:
            return invalid
        conversation = request.match_info["conversation"]
        activity_id = request.match_info["activity"]
        channel, _, root = conversation.partition(";messageid=")
        key = (channel, activity_id)
        if key not in self.messages:
            return _error(404, "ActivityNotFoundInConversation", "Activity not found")
        posted_in = self.roots.get(key)
        if channel.startswith("19:") and posted_in and root != posted_in:
            # Teams finds a channel message through the reply chain it was posted in.
            problem = (
                f"update of {activity_id} addressed {conversation!r}; the message is in the "
                f"reply chain {channel};messageid={posted_in}"
            )
            self.refused.append(problem)
            return _error(400, "BadArgument", problem)
        self.messages[key] = body
        self.calls.append(ConnectorCall("update", conversation, activity_id, body))
        return web.json_response({"id": activity_id}, status=200)

    async def _delete(self, request: web.Request) -> web.Response:
        unauthorized = self._unauthorized(request)
        if unauthorized is not None:
            return unauthorized
        conversation = request.match_info["conversation"]
        activity_id = request.match_info["activity"]
        self.messages.pop((conversation.split(";", 1)[0], activity_id), None)
        self.calls.append(ConnectorCall("delete", conversation, activity_id, {}))
        return web.Response(status=200)

    async def _members(self, request: web.Request) -> web.Response:
        unauthorized = self._unauthorized(request)
        if unauthorized is not None:
            return unauthorized
        return web.json_response(self.members)

    async def _member(self, request: web.Request) -> web.Response:
        unauthorized = self._unauthorized(request)
        if unauthorized is not None:
            return unauthorized
        for member in self.members:
            if member.get("id") == request.match_info["member"]:
                return web.json_response(member)
        return _error(404, "MemberNotFoundInConversation", "The member was not found")


def refusal(body: dict[str, Any]) -> str | None:
    """Why the Bot Connector would refuse this activity, or None."""
    if not body.get("type"):
        return "Activity type is required"
    if body.get("type") != "message":
        return None
    card = next(
        (
            a.get("content") or {}
            for a in body.get("attachments") or []
            if isinstance(a, dict) and a.get("contentType") == CARD
        ),
        None,
    )
    if not body.get("text") and not body.get("attachments"):
        return "A message needs text or attachments"
    text = str(body.get("text") or "")
    checks = [(e, text) for e in body.get("entities") or []]
    if isinstance(card, dict):
        card_text = json.dumps(card.get("body") or [], ensure_ascii=False)
        checks += [(e, card_text) for e in (card.get("msteams") or {}).get("entities") or []]
    for entity, where in checks:
        if not isinstance(entity, dict) or entity.get("type") != "mention":
            continue
        mentioned = entity.get("mentioned") or {}
        shown = entity.get("text")
        if not mentioned.get("id") or not mentioned.get("name") or not shown:
            return "Invalid mention entity: mentioned.id, mentioned.name and text are required"
        if str(shown) not in where:
            return f"Invalid mention entity: the text does not contain {shown!r}"
    return None


class TeamsPerson(Protocol):
    @property
    def teams_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aad(self) -> str: ...


@dataclass(frozen=True)
class TeamsTeam:
    """Where the activities come from: a tenant, a team, its channels and the bot."""

    tenant: str
    team: str
    team_name: str
    bot_id: str
    bot_name: str
    channel_names: dict[str, str]


class TeamsSender:
    """Posts activities to Firstline's ``/api/messages`` as Teams does, each with a token
    the emulator signs (the Bot Connector's side of the wire)."""

    def __init__(
        self,
        *,
        connector: ConnectorEmulator,
        team: TeamsTeam,
        base_url: str,
        http: aiohttp.ClientSession,
        clock: Clock,
    ) -> None:
        self.connector = connector
        self.team = team
        self.base_url = base_url  # Firstline's server (a restart may move it)
        self._http = http
        self._clock = clock
        self._last_id = 0

    def next_id(self) -> str:
        """A channel message id: Teams uses the post's epoch milliseconds."""
        value = max(int(self._clock.now().timestamp() * 1000), self._last_id + 1)
        self._last_id = value
        return str(value)

    def timestamp(self) -> str:
        return self._clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def activity(
        self,
        *,
        kind: str,
        sender: TeamsPerson,
        channel: str | None,
        conversation: str,
        activity_id: str,
        text: str = "",
        entities: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """An activity as Teams sends it (``channel=None``: in a 1:1 chat)."""
        team = self.team
        body: dict[str, Any] = {
            "type": kind,
            "id": activity_id,
            "timestamp": self.timestamp(),
            "localTimestamp": self.timestamp(),
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": {"id": sender.teams_id, "name": sender.name, "aadObjectId": sender.aad},
            "recipient": {"id": team.bot_id, "name": team.bot_name},
            "locale": "en-GB",
            "textFormat": "plain",
            "text": text,
            "entities": entities or [],
            **extra,
        }
        if channel is not None:
            body["conversation"] = {
                "isGroup": True,
                "conversationType": "channel",
                "tenantId": team.tenant,
                "id": conversation,
            }
            body["channelData"] = {
                "teamsChannelId": channel,
                "teamsTeamId": team.team,
                "channel": {"id": channel, "name": team.channel_names.get(channel, "")},
                "team": {"id": team.team, "name": team.team_name},
                "tenant": {"id": team.tenant},
            }
        else:
            body["conversation"] = {
                "conversationType": "personal",
                "tenantId": team.tenant,
                "id": conversation,
            }
            body["channelData"] = {"tenant": {"id": team.tenant}}
        return body

    def mentions(self, *people: TeamsPerson, bot: bool = False) -> list[dict[str, Any]]:
        """Mention entities as Teams sends them (``bot``: the bot's own first)."""
        entities = [
            {
                "type": "mention",
                "text": f"<at>{p.name}</at>",
                "mentioned": {"id": p.teams_id, "name": p.name},
            }
            for p in people
        ]
        if bot:
            bot_name = self.team.bot_name
            entities.insert(
                0,
                {
                    "type": "mention",
                    "text": f"<at>{bot_name}</at>",
                    "mentioned": {"id": self.team.bot_id, "name": bot_name},
                },
            )
        return entities

    def message(
        self,
        sender: TeamsPerson,
        text: str,
        *,
        channel: str,
        thread: str | None = None,
        mentions: tuple[TeamsPerson, ...] = (),
        to_bot: bool = False,
        activity_id: str | None = None,
    ) -> dict[str, Any]:
        """A channel post (``thread``: a reply in that post's reply chain; ``to_bot``: it
        starts with the bot's mention, i.e. a command)."""
        message_id = activity_id or self.next_id()
        extra = {"replyToId": thread} if thread else {}
        return self.activity(
            kind="message",
            sender=sender,
            channel=channel,
            conversation=f"{channel};messageid={thread or message_id}",
            activity_id=message_id,
            text=f"<at>{self.team.bot_name}</at> {text}" if to_bot else text,
            entities=self.mentions(*mentions, bot=to_bot),
            **extra,
        )

    def alert(
        self, sender: TeamsPerson, attachments: list[dict[str, Any]], *, channel: str
    ) -> dict[str, Any]:
        """A card another app (or a webhook) posts in a channel, as alerting tools do."""
        message_id = self.next_id()
        body = self.activity(
            kind="message",
            sender=sender,
            channel=channel,
            conversation=f"{channel};messageid={message_id}",
            activity_id=message_id,
            attachments=attachments,
        )
        body["from"].pop("aadObjectId", None)
        return body

    async def send(
        self, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST an activity; without ``headers``, signed as the Bot Connector signs it."""
        if headers is None:
            headers = {"Authorization": f"Bearer {self.connector.sign()}"}
        async with self._http.post(
            f"{self.base_url}/api/messages", json=body, headers=headers
        ) as response:
            return response.status, await response.text()
