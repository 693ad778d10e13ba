"""`firstline demo --teams`: the same support afternoon as the Slack demo, through Teams.

The real server serves ``POST /api/messages`` with authentication on; the emulator plays
Microsoft: it signs every activity with a key generated for this run, publishes that key,
issues the bot's own tokens and records what the Bot Connector receives. Nothing leaves
the machine; the database is a throwaway SQLite file; the clock is a fake one moved
forward in 30-second steps. The script is the Slack demo's (``handlers/demo.py``), told
the Teams way: a reaction on a person's post is something Teams does not report to bots
(see docs/teams.md), so there the person answers in the reply chain instead.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.clock import FakeClock
from bot.config import Settings
from handlers.demo import (
    ALERTS,
    BERLIN,
    CHANNELS,
    END,
    PEOPLE,
    SCRIPT,
    STEP_SECONDS,
    SUPPORT,
    _at,
    figures_lines,
)
from handlers.server import CORE, RUNNER, ServerOptions, build_server
from handlers.teams.directory import neutral_id
from handlers.teams.emulator import CARD, ConnectorEmulator, TeamsSender, TeamsTeam

TENANT = "9d3f5c1a-7b2e-4c8d-a6f0-1e2d3c4b5a69"
BOT = "28:6f1c2a7e-firstline-demo"
# The Slack demo's channel ids, as Teams channel conversation ids.
TEAMS_CHANNELS = {slack: f"19:{name}@thread.tacv2" for slack, name in CHANNELS.items()}
TEAM = TeamsTeam(
    tenant=TENANT,
    team="19:demo-logistics@thread.tacv2",
    team_name="Demo Logistics",
    bot_id=BOT,
    bot_name="Firstline",
    channel_names={TEAMS_CHANNELS[c]: name for c, name in CHANNELS.items()},
)
# How a reaction on a person's post is said in Teams: a reply in its chain.
REACTION_REPLIES = {"eyes": "👀 on it", "white_check_mark": "✅ done"}
_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_AT = re.compile(r"<at>(.*?)</at>")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_ITALIC = re.compile(r"(?m)^_(.+)_$")


@dataclass(frozen=True)
class DemoPerson:
    key: str  # the Slack demo's user id
    teams_id: str
    name: str
    aad: str


PERSON = {
    key: DemoPerson(key, f"29:1{key[1:].lower()}", label.split(" ")[0], f"aad-{key[1:].lower()}")
    for key, label in PEOPLE.items()
}
BUGSNAG = DemoPerson("BBUGSNAG", "28:bugsnag", "Bugsnag", "")


def readable(text: str) -> str:
    text = _AT.sub(lambda m: f"@{m.group(1)}", text)
    text = _ITALIC.sub(lambda m: m.group(1), text)
    return _LINK.sub(lambda m: m.group(1), text).replace("**", "")


class TeamsDemo:
    def __init__(self, *, quiet: bool, out: Any = print) -> None:
        self.quiet = quiet
        self.out = out
        self.clock = FakeClock(_at("16:00"))
        self.connector = ConnectorEmulator(
            members=[
                {"id": p.teams_id, "name": p.name, "aadObjectId": p.aad} for p in PERSON.values()
            ]
        )
        self.keys: dict[str, tuple[str, str]] = {}  # script key → (channel, message id)
        self.seen_calls = 0

    def say(self, line: str) -> None:
        if not self.quiet:
            self.out(line)

    def clock_text(self) -> str:
        return self.clock.now().astimezone(BERLIN).strftime("%H:%M")

    async def run(self) -> int:
        with tempfile.TemporaryDirectory(prefix="firstline-demo-") as tmp:
            await self.connector.start()
            settings = Settings.from_env(
                {
                    "DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}",
                    "FIRSTLINE_ADMINS": PERSON["UADMIN"].aad,
                    "LOG_LEVEL": "WARNING",
                    **self.connector.env(),
                }
            )
            app = build_server(
                settings, ServerOptions(clock=self.clock, start_loops=False, retry_handlers=[])
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            try:
                async with aiohttp.ClientSession() as http:
                    sender = TeamsSender(
                        connector=self.connector,
                        team=TEAM,
                        base_url=f"http://127.0.0.1:{runner.addresses[0][1]}",
                        http=http,
                        clock=self.clock,
                    )
                    await self._afternoon(sender, app)
            finally:
                await runner.cleanup()
                await self.connector.stop()
        return 0

    async def _afternoon(self, sender: TeamsSender, app: web.Application) -> None:
        self.say("Firstline demo on Microsoft Teams: a Monday afternoon in Demo Logistics.")
        self.say(
            "Every activity goes through the real /api/messages endpoint, signed as the Bot "
            "Connector signs it; the Bot Connector and Microsoft sign-in are emulated.\n"
        )
        maria, ben, chris = PERSON["UMARIA"], PERSON["UBEN"], PERSON["UCHRIS"]
        support, alerts = TEAMS_CHANNELS[SUPPORT], TEAMS_CHANNELS[ALERTS]
        for channel, text, mentioned in (
            (
                support,
                'support watch requests target=5m hours="Mon-Fri 09:00-18:00" '
                f"tz=Europe/Berlin holidays=DE escalate=<at>{maria.name}</at>",
                (maria,),
            ),
            (
                support,
                f"support responders <at>{ben.name}</at> <at>{chris.name}</at>",
                (ben, chris),
            ),
            (alerts, "support watch alerts target=10m tz=Europe/Berlin", ()),
            (alerts, f"support responders <at>{ben.name}</at> <at>{chris.name}</at>", (ben, chris)),
        ):
            answer = await self._command(sender, PERSON["UADMIN"], channel, text, mentioned)
            self.say(
                f"{self.clock_text()}  admin in #{TEAM.channel_names[channel]}: "
                f"@Firstline {readable(text)}"
            )
            self.say(f"        ↳ {readable(answer)}")
        self.say("")
        script = list(SCRIPT)
        while self.clock.now() < _at(END):
            while script and _at(script[0][0]) <= self.clock.now():
                _, who, what, details = script.pop(0)
                await self._act(sender, who, what, details)
            await app[RUNNER].settle()
            self._show_calls()
            self.clock.advance(seconds=STEP_SECONDS)
        status = await self._command(sender, PERSON["UANNA"], support, "support status", ())
        self.say(
            f"\n{self.clock_text()}  anna: @Firstline support status\n        ↳ {readable(status)}"
        )
        self.out("\nFirst response this afternoon (firstline stats):\n")
        names = {neutral_id("C", c): TEAM.channel_names[c] for c in TEAMS_CHANNELS.values()}
        lines = await figures_lines(app[CORE].db, now=self.clock.now(), names=names, links=False)
        for line in lines:
            self.out(line)

    async def _command(
        self,
        sender: TeamsSender,
        who: DemoPerson,
        channel: str,
        text: str,
        mentioned: tuple[DemoPerson, ...],
    ) -> str:
        before = len(self.connector.calls)
        await self._deliver(
            sender, sender.message(who, text, channel=channel, mentions=mentioned, to_bot=True)
        )
        answers = [c for c in self.connector.calls[before:] if c.op == "reply"]
        self.seen_calls = len(self.connector.calls)
        return answers[-1].text if answers else "(no answer)"

    async def _deliver(self, sender: TeamsSender, body: dict[str, Any]) -> None:
        status, text = await sender.send(body)
        if status not in (200, 201):
            raise RuntimeError(f"the Teams endpoint answered {status}: {text}")

    async def _act(self, sender: TeamsSender, who: str, what: str, details: dict[str, Any]) -> None:
        person = PERSON.get(who, BUGSNAG)
        default = ALERTS if what == "alert" else SUPPORT
        channel = TEAMS_CHANNELS[details.get("channel", default)]
        where = f"in #{TEAM.channel_names[channel]}"
        if what in ("post", "reply", "react"):
            text, mentioned = self._teams_text(details.get("text", ""))
            thread = None
            if what in ("reply", "react"):
                channel, thread = self.keys[details["to"]]
                where = "in the reply chain"
            if what == "react":
                text = REACTION_REPLIES.get(details["emoji"], f":{details['emoji']}:")
            body = sender.message(person, text, channel=channel, thread=thread, mentions=mentioned)
            await self._deliver(sender, body)
            note = " (a reaction in Slack; Teams bots do not see those)" if what == "react" else ""
            self.say(f"{self.clock_text()}  {person.name} {where}: {readable(text)}{note}")
        else:  # an alert
            card = {"type": "AdaptiveCard", "title": details["text"]}
            body = sender.alert(BUGSNAG, [{"contentType": CARD, "content": card}], channel=channel)
            await self._deliver(sender, body)
            self.say(f"{self.clock_text()}  Bugsnag {where}: {details['text']}")
        message_id = str(body["id"])
        if "key" in details:
            self.keys[details["key"]] = (channel, message_id)

    @staticmethod
    def _teams_text(text: str) -> tuple[str, tuple[DemoPerson, ...]]:
        """The script's Slack markup (``<@UTOM>``) as Teams text with mentions."""
        mentioned: list[DemoPerson] = []

        def person(match: re.Match[str]) -> str:
            found = PERSON.get(match.group(1))
            if found is None:
                return match.group(0)
            mentioned.append(found)
            return f"<at>{found.name}</at>"

        return _SLACK_USER.sub(person, text), tuple(dict.fromkeys(mentioned))

    def _show_calls(self) -> None:
        calls = self.connector.calls[self.seen_calls :]
        self.seen_calls = len(self.connector.calls)
        chats = {conv: member for conv, member in self.connector.personal.items()}
        names = {p.teams_id: p.name for p in PERSON.values()}
        for call in calls:
            if not call.text:
                continue  # opening a 1:1 chat: the message follows
            if call.op == "update":
                where = "edits its message"
            elif call.conversation in chats:
                where = f"messages @{names.get(chats[call.conversation], '?')} privately"
            elif call.op in ("send", "reply") and call.thread:
                where = f"replies in a #{TEAM.channel_names.get(call.channel, '?')} reply chain"
            elif call.op == "send":
                where = f"posts in #{TEAM.channel_names.get(call.channel, '?')}"
            else:
                continue
            text = readable(call.text).replace("\n", " · ")
            self.say(f"{self.clock_text()}  Firstline {where}: {text}")


async def run_teams_demo(*, quiet: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output
    # The demo points MICROSOFT_LOGIN_URL at its emulator on purpose: no warning about it.
    logging.getLogger("handlers.teams.auth").setLevel(logging.ERROR)
    return await TeamsDemo(quiet=quiet).run()
