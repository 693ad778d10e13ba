"""A Microsoft Teams team around a real Firstline server, on a fake clock.

The server is the real aiohttp app serving ``POST /api/messages`` through botbuilder's
``CloudAdapter``; activities are posted as Teams sends them (channel posts with the
``ChannelMessage.Read.Group`` permission, replies in reply chains, ``<at>`` mentions,
Action.Submit presses); the Bot Connector is the emulator, which records every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.clock import FakeClock
from bot.config import Settings
from bot.core import Core
from handlers.server import CORE, RUNNER, ServerOptions, build_server
from handlers.teams.directory import neutral_id
from handlers.teams.emulator import ConnectorCall, ConnectorEmulator
from schedules.runner import Runner

TENANT = "4a7c8e21-93b0-4f5d-9c1e-7e2f0d6b3a58"
TEAM = "19:backend-general@thread.tacv2"
SUPPORT = "19:backend-support@thread.tacv2"
ALERTS = "19:backend-alerts@thread.tacv2"
BOT = "28:0b5d3c8e-1f42-4c77-a0e9-firstline"
BOT_NAME = "Firstline"


@dataclass(frozen=True)
class Member:
    teams_id: str
    name: str
    aad: str

    @property
    def id(self) -> str:
        """The neutral id the core knows this person by."""
        return neutral_id("W", self.teams_id)


ADMIN = Member("29:1admin-ada", "Ada Admin", "aad-ada")
OPS = Member("29:1ops-olga", "Olga Ops", "aad-olga")
OPS2 = Member("29:1ops-oskar", "Oskar Ops", "aad-oskar")
ANNA = Member("29:1anna", "Anna", "aad-anna")
BEN = Member("29:1ben", "Ben", "aad-ben")
LEAD = Member("29:1lead", "Lea Lead", "aad-lea")
PEOPLE = (ADMIN, OPS, OPS2, ANNA, BEN, LEAD)
CHANNEL_NAMES = {SUPPORT: "support", ALERTS: "alerts", TEAM: "General"}


def channel_id(conversation: str) -> str:
    """The neutral id the core knows a Teams channel by."""
    return neutral_id("C", conversation)


WORKSPACE = neutral_id("T", TENANT)


def mention(member: Member) -> str:
    return f"<at>{member.name}</at>"


class TeamsWorld:
    def __init__(
        self,
        *,
        database_url: str,
        clock: FakeClock,
        env: dict[str, str] | None = None,
        authenticate: bool = False,
    ) -> None:
        self.database_url = database_url
        self.clock = clock
        self.env = env or {}
        self.authenticate = authenticate
        self.connector = ConnectorEmulator()
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.http: aiohttp.ClientSession | None = None
        self._last_id = 0

    async def __aenter__(self) -> TeamsWorld:
        await self.connector.start()
        self.http = aiohttp.ClientSession()
        await self.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_server()
        if self.http is not None:
            await self.http.close()
        await self.connector.stop()

    def settings(self) -> Settings:
        return Settings.from_env(
            {
                "DATABASE_URL": self.database_url,
                "FIRSTLINE_ADMINS": ADMIN.aad,
                # The fake clock stands still while a test settles: no pacing here.
                "FIRSTLINE_OUTBOX_PACE": "0",
                **self.env,
            }
        )

    async def start_server(self) -> None:
        options = ServerOptions(
            clock=self.clock, start_loops=False, teams_without_auth=not self.authenticate
        )
        self.app = build_server(self.settings(), options)
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop_server(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self, *, down_for: timedelta = timedelta(0)) -> None:
        await self.stop_server()
        self.clock.advance(seconds=down_for.total_seconds())
        await self.start_server()

    @property
    def core(self) -> Core:
        assert self.app is not None
        return self.app[CORE]

    @property
    def runner(self) -> Runner:
        assert self.app is not None
        return self.app[RUNNER]

    # -- activities, as Teams sends them -----------------------------------------------------

    def next_id(self) -> str:
        """A channel message id: Teams uses the post's epoch milliseconds."""
        value = max(int(self.clock.now().timestamp() * 1000), self._last_id + 1)
        self._last_id = value
        return str(value)

    def timestamp(self) -> str:
        return self.clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def activity(
        self,
        *,
        kind: str,
        sender: Member,
        channel: str | None,
        conversation: str,
        activity_id: str,
        text: str = "",
        entities: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": kind,
            "id": activity_id,
            "timestamp": self.timestamp(),
            "localTimestamp": self.timestamp(),
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": {"id": sender.teams_id, "name": sender.name, "aadObjectId": sender.aad},
            "recipient": {"id": BOT, "name": BOT_NAME},
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
                "tenantId": TENANT,
                "id": conversation,
            }
            body["channelData"] = {
                "teamsChannelId": channel,
                "teamsTeamId": TEAM,
                "channel": {"id": channel, "name": CHANNEL_NAMES.get(channel, "")},
                "team": {"id": TEAM, "name": "Backend"},
                "tenant": {"id": TENANT},
            }
        else:
            body["conversation"] = {
                "conversationType": "personal",
                "tenantId": TENANT,
                "id": conversation,
            }
            body["channelData"] = {"tenant": {"id": TENANT}}
        return body

    async def send(
        self, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        assert self.http is not None
        async with self.http.post(
            f"{self.base_url}/api/messages", json=body, headers=headers or {}
        ) as response:
            text = await response.text()
            return response.status, text

    async def deliver(self, body: dict[str, Any]) -> None:
        status, text = await self.send(body)
        assert status in (200, 201), (status, text)

    def _entities(self, mentions: tuple[Member, ...], *, bot: bool = False) -> list[dict[str, Any]]:
        entities = [
            {"type": "mention", "text": mention(m), "mentioned": {"id": m.teams_id, "name": m.name}}
            for m in mentions
        ]
        if bot:
            entities.insert(
                0,
                {
                    "type": "mention",
                    "text": f"<at>{BOT_NAME}</at>",
                    "mentioned": {"id": BOT, "name": BOT_NAME},
                },
            )
        return entities

    async def post(
        self,
        sender: Member,
        text: str,
        *,
        channel: str = SUPPORT,
        thread: str | None = None,
        mentions: tuple[Member, ...] = (),
        activity_id: str | None = None,
    ) -> str:
        """A channel post (or, with ``thread``, a reply in that post's reply chain)."""
        message_id = activity_id or self.next_id()
        root = thread or message_id
        extra = {"replyToId": thread} if thread else {}
        await self.deliver(
            self.activity(
                kind="message",
                sender=sender,
                channel=channel,
                conversation=f"{channel};messageid={root}",
                activity_id=message_id,
                text=text,
                entities=self._entities(mentions),
                **extra,
            )
        )
        return message_id

    async def post_alert(
        self, sender: Member, attachments: list[dict[str, Any]], *, channel: str = ALERTS
    ) -> str:
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
        await self.deliver(body)
        return message_id

    async def edit(
        self, sender: Member, message_id: str, text: str, *, channel: str = SUPPORT
    ) -> None:
        body = self.activity(
            kind="messageUpdate",
            sender=sender,
            channel=channel,
            conversation=f"{channel};messageid={message_id}",
            activity_id=message_id,
            text=text,
        )
        body["channelData"]["eventType"] = "editMessage"
        await self.deliver(body)

    async def delete(self, sender: Member, message_id: str, *, channel: str = SUPPORT) -> None:
        body = self.activity(
            kind="messageDelete",
            sender=sender,
            channel=channel,
            conversation=f"{channel};messageid={message_id}",
            activity_id=message_id,
        )
        body["channelData"]["eventType"] = "softDeleteMessage"
        await self.deliver(body)

    async def command(
        self,
        text: str,
        *,
        sender: Member = ADMIN,
        channel: str = SUPPORT,
        mentions: tuple[Member, ...] = (),
        activity_id: str | None = None,
        conversation: str | None = None,
    ) -> str:
        """``@Firstline <text>`` in a channel (or in the reply chain ``conversation``);
        returns the bot's answer, which Teams shows in the reply chain."""
        message_id = activity_id or self.next_id()
        before = len(self.connector.calls)
        await self.deliver(
            self.activity(
                kind="message",
                sender=sender,
                channel=channel,
                conversation=conversation or f"{channel};messageid={message_id}",
                activity_id=message_id,
                text=f"<at>{BOT_NAME}</at> {text}",
                entities=self._entities(mentions, bot=True),
            )
        )
        answers = [
            c for c in self.connector.calls[before:] if c.op == "reply" and c.reply_to == message_id
        ]
        return answers[-1].text if answers else ""

    async def post_in(self, conversation: str, sender: Member, text: str) -> str:
        """A reply in the reply chain ``conversation`` ("19:…;messageid=<root>")."""
        message_id = self.next_id()
        channel, _, root = conversation.partition(";messageid=")
        await self.deliver(
            self.activity(
                kind="message",
                sender=sender,
                channel=channel,
                conversation=conversation,
                activity_id=message_id,
                text=text,
                replyToId=root,
            )
        )
        return message_id

    async def personal_command(self, text: str, *, sender: Member = ADMIN) -> str:
        before = len(self.connector.calls)
        message_id = f"1:{self.next_id()}"
        await self.deliver(
            self.activity(
                kind="message",
                sender=sender,
                channel=None,
                conversation=f"a:chat-{sender.teams_id}",
                activity_id=message_id,
                text=text,
            )
        )
        answers = [c for c in self.connector.calls[before:] if c.op == "reply"]
        return answers[-1].text if answers else ""

    async def press(
        self,
        data: dict[str, Any],
        *,
        sender: Member,
        channel: str | None = SUPPORT,
        conversation: str | None = None,
        card_id: str,
        invoke: bool = False,
        activity_id: str | None = None,
    ) -> tuple[int, Any]:
        """Press an Action.Submit button on the card ``card_id`` (as a message or an invoke).

        ``channel=None`` with ``conversation``: a card in a 1:1 chat."""
        press_id = activity_id or f"f:{self.next_id()}"
        if channel is None:
            assert conversation is not None
            where = conversation
        else:
            where = conversation or f"{channel};messageid={card_id}"
        if invoke:
            body = self.activity(
                kind="invoke",
                sender=sender,
                channel=channel,
                conversation=where,
                activity_id=press_id,
                name="adaptiveCard/action",
                value={"action": {"type": "Action.Submit", "data": data}},
                replyToId=card_id,
            )
        else:
            body = self.activity(
                kind="message",
                sender=sender,
                channel=channel,
                conversation=where,
                activity_id=press_id,
                value=data,
                replyToId=card_id,
            )
        result = await self.send(body)
        assert result[0] in (200, 201), result
        await self.settle()
        return result

    async def settle(self) -> None:
        await self.runner.settle()

    async def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        self.clock.advance(minutes=minutes, seconds=seconds)
        await self.settle()

    def sent(self, op: str | None = None) -> list[ConnectorCall]:
        return self.connector.sent(op)

    def to(self, member: Member) -> list[ConnectorCall]:
        return self.connector.to_person(member.teams_id)
