"""A Microsoft Teams team around a real Firstline server, on a fake clock.

The server is the real aiohttp app serving ``POST /api/messages`` through the Agents SDK's
``CloudAdapter``, with authentication on: every activity carries a JWT the emulator signs
with a key generated for the test, which the bot fetches from the emulator's JWKS; the
bot's own tokens come from the emulator's Entra token endpoint. Activities are posted as
Teams sends them (channel posts with the ``ChannelMessage.Read.Group`` permission, replies
in reply chains, ``<at>`` mentions, Action.Submit presses); the Bot Connector is the
emulator, which validates and records every call.
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
from handlers.server import CORE, RUNNER, TEAMS, ServerOptions, build_server
from handlers.teams.directory import neutral_id
from handlers.teams.emulator import ConnectorCall, ConnectorEmulator, TeamsSender, TeamsTeam
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
TEAMS_TEAM = TeamsTeam(
    tenant=TENANT,
    team=TEAM,
    team_name="Backend",
    bot_id=BOT,
    bot_name=BOT_NAME,
    channel_names=CHANNEL_NAMES,
)


def mention(member: Member) -> str:
    return f"<at>{member.name}</at>"


class TeamsWorld:
    def __init__(
        self,
        *,
        database_url: str,
        clock: FakeClock,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.clock = clock
        self.env = env or {}
        self.connector = ConnectorEmulator(
            members=[{"id": m.teams_id, "name": m.name, "aadObjectId": m.aad} for m in PEOPLE]
        )
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.http: aiohttp.ClientSession | None = None
        self._sender: TeamsSender | None = None

    async def __aenter__(self) -> TeamsWorld:
        await self.connector.start()
        self.http = aiohttp.ClientSession()
        self._sender = TeamsSender(
            connector=self.connector, team=TEAMS_TEAM, base_url="", http=self.http, clock=self.clock
        )
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
                **self.connector.env(),
                # The fake clock stands still while a test settles: no pacing here.
                "FIRSTLINE_OUTBOX_PACE": "0",
                **self.env,
            }
        )

    async def start_server(self) -> None:
        options = ServerOptions(clock=self.clock, start_loops=False)
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
        return self.sender.next_id()

    @property
    def sender(self) -> TeamsSender:
        assert self._sender is not None
        self._sender.base_url = self.base_url
        return self._sender

    def activity(self, **fields: Any) -> dict[str, Any]:
        """An activity as Teams sends it (see ``TeamsSender.activity``)."""
        return self.sender.activity(**fields)

    async def send(
        self, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """POST an activity; without ``headers``, signed as the Bot Connector signs it."""
        return await self.sender.send(body, headers=headers)

    async def deliver(self, body: dict[str, Any]) -> None:
        status, text = await self.send(body)
        assert status in (200, 201), (status, text)

    def _entities(self, mentions: tuple[Member, ...], *, bot: bool = False) -> list[dict[str, Any]]:
        return self.sender.mentions(*mentions, bot=bot)

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
        body = self.sender.message(
            sender, text, channel=channel, thread=thread, mentions=mentions, activity_id=activity_id
        )
        await self.deliver(body)
        return str(body["id"])

    async def post_alert(
        self, sender: Member, attachments: list[dict[str, Any]], *, channel: str = ALERTS
    ) -> str:
        """A card another app (or a webhook) posts in a channel, as alerting tools do."""
        body = self.sender.alert(sender, attachments, channel=channel)
        await self.deliver(body)
        return str(body["id"])

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

    async def react(
        self,
        sender: Member,
        message_id: str,
        reaction: str = "1f440_eyes",
        *,
        channel: str = SUPPORT,
        added: bool = True,
    ) -> None:
        """A ``messageReaction`` activity on ``message_id`` (a top-level channel post)."""
        body = self.activity(
            kind="messageReaction",
            sender=sender,
            channel=channel,
            conversation=f"{channel};messageid={message_id}",
            activity_id=f"r:{self.next_id()}",
            replyToId=message_id,
            **{"reactionsAdded" if added else "reactionsRemoved": [{"type": reaction}]},
        )
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
        before = len(self.connector.calls)
        body = self.sender.message(
            sender, text, channel=channel, mentions=mentions, to_bot=True, activity_id=activity_id
        )
        message_id = str(body["id"])
        if conversation is not None:
            body["conversation"]["id"] = conversation
        await self.deliver(body)
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

    async def app_token(self) -> str:
        """A Bot Connector token, acquired by the server's own sign-in (MSAL, cached)."""
        token: str = await self.app[TEAMS].auth.token() if self.app else ""
        return token

    def sent(self, op: str | None = None) -> list[ConnectorCall]:
        return self.connector.sent(op)

    def to(self, member: Member) -> list[ConnectorCall]:
        return self.connector.to_person(member.teams_id)
