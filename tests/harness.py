"""A Slack workspace around a real Firstline server, on a fake clock.

The server is the real aiohttp app with the real Bolt endpoint; requests are signed
as Slack signs them; the Web API is the emulator, which records every call.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.clock import FakeClock
from bot.config import Settings
from bot.core import Core
from handlers.server import CORE, RUNNER, ServerOptions, build_server
from handlers.slack.emulator import SlackEmulator
from handlers.slack.simulator import SlackReply, SlackSender
from schedules.runner import Runner

SECRET = "test-signing-secret"
TEAM = "T0DEMO"
SUPPORT = "C0SUPPORT"
ALERTS = "C0ALERTS"
ADMIN = "UADMIN"
OPS = "UOPS1"
OPS2 = "UOPS2"
ANNA = "UANNA"
BEN = "UBEN"
LEAD = "ULEAD"


class SlackWorld:
    def __init__(
        self,
        *,
        database_url: str,
        clock: FakeClock,
        env: dict[str, str] | None = None,
        team: str = TEAM,
        loops: bool = False,
        bot_token: str | None = "xoxb-test-token",
    ) -> None:
        self.loops = loops
        self.database_url = database_url
        self.clock = clock
        self.env = env or {}
        self.team = team
        self.bot_token = bot_token  # None: many workspaces, tokens from OAuth installs
        # Slack stamps messages with its own time, here the fake clock's.
        self.slack = SlackEmulator(team_id=team, clock=lambda: clock.now().timestamp())
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None
        self.sender: SlackSender | None = None
        self._last_ts = ""

    async def __aenter__(self) -> SlackWorld:
        await self.slack.start()
        for user, name, admin in (
            (ADMIN, "admin", True),
            (OPS, "ops-olga", False),
            (OPS2, "ops-oskar", False),
            (ANNA, "anna", False),
            (BEN, "ben", False),
            (LEAD, "lead", False),
        ):
            self.slack.add_user(user, name=name, is_admin=admin)
        self.slack.add_channel(SUPPORT, name="support")
        self.slack.add_channel(ALERTS, name="alerts")
        await self.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_server()
        await self.slack.stop()

    def settings(self) -> Settings:
        return Settings.from_env(
            {
                "DATABASE_URL": self.database_url,
                **({"SLACK_BOT_TOKEN": self.bot_token} if self.bot_token else {}),
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": self.slack.base_url,
                # The fake clock stands still while a test settles: pacing has tests of its own.
                "FIRSTLINE_OUTBOX_PACE": "0",
                **self.env,
            }
        )

    async def start_server(self) -> None:
        options = ServerOptions(clock=self.clock, start_loops=self.loops, retry_handlers=[])
        self.app = build_server(self.settings(), options)
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.sender = SlackSender(base_url=self.base_url, signing_secret=SECRET, team_id=self.team)

    def sender_for(self, team: str) -> SlackSender:
        """Signed traffic from another workspace (close it, or use ``async with``)."""
        return SlackSender(base_url=self.base_url, signing_secret=SECRET, team_id=team)

    async def stop_server(self) -> None:
        if self.sender is not None:
            await self.sender.close()
            self.sender = None
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

    def next_ts(self) -> str:
        """A Slack ts for "now"; two messages in the same instant move the clock by 1 µs."""
        ts = f"{self.clock.now().timestamp():.6f}"
        if ts == self._last_ts:
            self.clock.advance(seconds=1e-6)
            ts = f"{self.clock.now().timestamp():.6f}"
        self._last_ts = ts
        return ts

    def message(
        self,
        user: str,
        text: str,
        *,
        channel: str = SUPPORT,
        thread_ts: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A ``message`` event as Slack sends it, stamped "now" (``ts`` in ``extra`` wins)."""
        ts = extra.pop("ts", None) or self.next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
            "team": self.team,
            **extra,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    async def post(
        self,
        user: str,
        text: str,
        *,
        channel: str = SUPPORT,
        thread_ts: str | None = None,
        event_id: str | None = None,
        **extra: Any,
    ) -> str:
        event = self.message(user, text, channel=channel, thread_ts=thread_ts, **extra)
        reply = await self.event(event, event_id=event_id)
        assert reply.status == 200, reply
        return str(event["ts"])

    async def event(self, event: dict[str, Any], **kwargs: Any) -> SlackReply:
        assert self.sender is not None
        return await self.sender.event(event, **kwargs)

    async def react(
        self, user: str, emoji: str, item_ts: str, *, channel: str = SUPPORT, added: bool = True
    ) -> SlackReply:
        ts = self.next_ts()
        reply = await self.event(
            {
                "type": "reaction_added" if added else "reaction_removed",
                "user": user,
                "reaction": emoji,
                "item_user": OPS,
                "item": {"type": "message", "channel": channel, "ts": item_ts},
                "event_ts": ts,
            }
        )
        assert reply.status == 200, reply
        return reply

    async def command(
        self, text: str, *, user: str = ADMIN, channel: str = SUPPORT, name: str = "/support"
    ) -> str:
        assert self.sender is not None
        reply = await self.sender.command(command=name, text=text, user=user, channel=channel)
        assert reply.status == 200, reply
        body = reply.json()
        assert body["response_type"] == "ephemeral"
        return str(body["text"])

    async def incident(self, text: str, *, user: str, channel: str) -> str:
        return await self.command(text, user=user, channel=channel, name="/incident")

    async def press(self, action_id: str, value: str, *, user: str, channel: str) -> None:
        assert self.sender is not None
        reply = await self.sender.action(
            action_id=action_id, value=value, user=user, channel=channel, message_ts="1.1"
        )
        assert reply.status == 200, reply
        await self.settle()

    def last_ephemeral(self, user: str) -> str:
        calls = [c for c in self.sent("chat.postEphemeral") if c.args["user"] == user]
        return str(calls[-1].args["text"]) if calls else ""

    async def settle(self) -> None:
        await self.runner.settle()

    async def advance(self, *, minutes: float = 0, seconds: float = 0) -> None:
        self.clock.advance(minutes=minutes, seconds=seconds)
        await self.settle()

    def sent(self, method: str | None = None) -> list[Any]:
        return self.slack.delivered(method)
