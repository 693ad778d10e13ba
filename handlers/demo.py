"""`firstline demo`: a support afternoon on an emulated Slack, no credentials needed.

The real server, the real Bolt endpoint and the real database (a throwaway SQLite
file) run on loopback; an in-process Slack emulator records what Firstline sends; the
clock is a fake one moved forward in 30-second steps, so an afternoon takes seconds.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.clock import FakeClock
from bot.config import Settings
from bot.stats import compute_stats
from bot.tables import format_stats
from handlers.server import CORE, RUNNER, ServerOptions, build_server
from handlers.slack.emulator import SlackEmulator
from handlers.slack.simulator import SlackSender

BERLIN = ZoneInfo("Europe/Berlin")
TEAM = "T0DEMO"
SECRET = "demo-signing-secret"
SUPPORT, ALERTS = "C0SUPPORT", "C0BUGSNAG"
PEOPLE = {
    "UANNA": "anna (ops)",
    "UTOM": "tom (ops)",
    "UBEN": "ben (support pair)",
    "UCHRIS": "chris (support pair)",
    "UMARIA": "maria (second line)",
    "UADMIN": "admin",
}
CHANNELS = {SUPPORT: "support", ALERTS: "bugsnag-backend"}
STEP_SECONDS = 30


def _at(hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN)


# (time, who, what, details): the afternoon's script.
SCRIPT: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "16:02",
        "UANNA",
        "post",
        {"text": "Tour 4711 shows no stops in the driver app, drivers are waiting", "key": "tour"},
    ),
    (
        "16:04",
        "UBEN",
        "reply",
        {"to": "tour", "text": "Looking: the route import failed at 15:58, re-running it now"},
    ),
    (
        "16:10",
        "UTOM",
        "post",
        {"text": "Can someone reset the password for depot Hamburg?", "key": "reset"},
    ),
    ("16:11", "UCHRIS", "react", {"to": "reset", "emoji": "eyes"}),
    (
        "16:20",
        "UANNA",
        "post",
        {"text": "Invoices for November are missing from the export", "key": "invoices"},
    ),
    ("16:26", "UTOM", "post", {"text": "How do I add a new driver to a depot?", "key": "driver"}),
    (
        "16:27",
        "UCHRIS",
        "post",
        {
            "text": "<@UTOM> Admin panel → Depots → Drivers → Add; docs: https://docs.example/drivers"
        },
    ),
    ("16:28", "UCHRIS", "react", {"to": "reset", "emoji": "white_check_mark"}),
    (
        "16:33",
        "UMARIA",
        "reply",
        {"to": "invoices", "text": "The export job is stuck on a lock, I'm on it"},
    ),
    (
        "16:40",
        "BBUGSNAG",
        "alert",
        {"text": "NoMethodError in OrdersController#show (id 9f2c77ab1e)", "key": "alert"},
    ),
    (
        "16:43",
        "BBUGSNAG",
        "alert",
        {"text": "NoMethodError in OrdersController#show (id 77ab90cd3f)", "key": "alert2"},
    ),
    ("16:44", "UBEN", "react", {"to": "alert2", "emoji": "eyes", "channel": ALERTS}),
    ("16:52", "UANNA", "react", {"to": "tour", "emoji": "white_check_mark"}),
]
END = "17:00"

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def readable(text: str) -> str:
    text = _USER.sub(lambda m: "@" + PEOPLE.get(m.group(1), m.group(1)).split(" ")[0], text)
    text = _CHANNEL.sub(lambda m: "#" + CHANNELS.get(m.group(1), m.group(1)), text)
    return _LINK.sub(lambda m: f"[{m.group(2)}]", text)


class Demo:
    def __init__(self, *, quiet: bool, out: Any = print) -> None:
        self.quiet = quiet
        self.out = out
        self.clock = FakeClock(_at("16:00"))
        self.slack = SlackEmulator(team_id=TEAM, team_name="Demo Logistics")
        self.keys: dict[str, str] = {}
        self.seen_calls = 0

    def say(self, line: str) -> None:
        if not self.quiet:
            self.out(line)

    def clock_text(self) -> str:
        return self.clock.now().astimezone(BERLIN).strftime("%H:%M")

    async def run(self) -> int:
        with tempfile.TemporaryDirectory(prefix="firstline-demo-") as tmp:
            await self.slack.start()
            for user, name in PEOPLE.items():
                self.slack.add_user(user, name=name.split(" ")[0], is_admin=user == "UADMIN")
            for channel, name in CHANNELS.items():
                self.slack.add_channel(channel, name=name)
            settings = Settings.from_env(
                {
                    "DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}",
                    "SLACK_BOT_TOKEN": "xoxb-demo",
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": self.slack.base_url,
                    "LOG_LEVEL": "WARNING",
                }
            )
            app = build_server(
                settings, ServerOptions(clock=self.clock, start_loops=False, retry_handlers=[])
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            try:
                async with SlackSender(
                    base_url=base, signing_secret=SECRET, team_id=TEAM
                ) as sender:
                    await self._afternoon(sender, app)
            finally:
                await runner.cleanup()
                await self.slack.stop()
        return 0

    async def _afternoon(self, sender: SlackSender, app: web.Application) -> None:
        self.say(
            "Firstline demo: a Monday afternoon in #support and #bugsnag-backend (Europe/Berlin)."
        )
        self.say(
            "Everything below goes through the real HTTP endpoint, signed as Slack signs it.\n"
        )
        for channel, text in (
            (
                SUPPORT,
                (
                    'watch requests target=5m hours="Mon-Fri 09:00-18:00" tz=Europe/Berlin '
                    "holidays=DE escalate=<@UMARIA|maria>"
                ),
            ),
            (SUPPORT, "responders <@UBEN|ben> <@UCHRIS|chris>"),
            (ALERTS, "watch alerts target=10m tz=Europe/Berlin"),
            (ALERTS, "responders <@UBEN|ben> <@UCHRIS|chris>"),
        ):
            reply = await sender.command(
                command="/support", text=text, user="UADMIN", channel=channel
            )
            self.say(
                f"{self.clock_text()}  admin in #{CHANNELS[channel]}: /support {readable(text)}"
            )
            self.say(f"        ↳ (only admin sees) {readable(reply.json()['text'])}")
        self.say("")
        script = list(SCRIPT)
        while self.clock.now() < _at(END):
            while script and _at(script[0][0]) <= self.clock.now():
                await self._act(sender, *script.pop(0))
            await app[RUNNER].settle()
            self._show_calls()
            self.clock.advance(seconds=STEP_SECONDS)
        status = await sender.command(
            command="/support", text="status", user="UANNA", channel=SUPPORT
        )
        self.say(
            f"\n{self.clock_text()}  anna: /support status\n"
            f"        ↳ {readable(status.json()['text'])}"
        )
        report = await compute_stats(app[CORE].db, now=self.clock.now())
        self.out("\nFirst response this afternoon (firstline stats):\n")
        names = {channel: f"#{name}" for channel, name in CHANNELS.items()}
        self.out(format_stats(report, "table", names=names))

    async def _act(
        self, sender: SlackSender, when: str, who: str, what: str, details: dict[str, Any]
    ) -> None:
        ts = f"{self.clock.now().timestamp():.6f}"
        name = PEOPLE.get(who, "Bugsnag").split(" ")[0]
        channel = details.get("channel", ALERTS if what == "alert" else SUPPORT)
        if what in ("post", "reply"):
            event: dict[str, Any] = {
                "type": "message",
                "channel": channel,
                "user": who,
                "text": details["text"],
                "ts": ts,
            }
            if what == "reply":
                event["thread_ts"] = self.keys[details["to"]]
            await sender.event(event)
            where = "in the thread" if what == "reply" else f"in #{CHANNELS[channel]}"
            self.say(f"{self.clock_text()}  {name} {where}: {readable(details['text'])}")
        elif what == "alert":
            event = {
                "type": "message",
                "subtype": "bot_message",
                "channel": channel,
                "bot_id": who,
                "username": "Bugsnag",
                "text": "",
                "ts": ts,
                "attachments": [{"title": details["text"], "fallback": details["text"]}],
            }
            await sender.event(event)
            self.say(f"{self.clock_text()}  Bugsnag in #{CHANNELS[channel]}: {details['text']}")
        elif what == "react":
            await sender.event(
                {
                    "type": "reaction_added",
                    "user": who,
                    "reaction": details["emoji"],
                    "item": {"type": "message", "channel": channel, "ts": self.keys[details["to"]]},
                    "event_ts": ts,
                }
            )
            self.say(f"{self.clock_text()}  {name} reacts :{details['emoji']}:")
        if "key" in details:
            self.keys[details["key"]] = ts

    def _show_calls(self) -> None:
        calls = self.slack.calls[self.seen_calls :]
        self.seen_calls = len(self.slack.calls)
        for call in calls:
            if call.method not in ("chat.postMessage", "chat.update"):
                continue
            channel = str(call.args.get("channel", ""))
            text = readable(str(call.args.get("text", "")))
            if call.method == "chat.update":
                where = "edits its thread message"
            elif channel in PEOPLE:
                where = f"DMs @{PEOPLE[channel].split(' ')[0]}"
            else:
                where = f"replies in a #{CHANNELS.get(channel, channel)} thread"
            self.say(f"{self.clock_text()}  Firstline {where}: {text}")


async def run_demo(*, quiet: bool = False) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output
    return await Demo(quiet=quiet).run()
