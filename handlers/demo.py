"""`firstline demo`: a support week on an emulated Slack, no credentials, no network.

The real server, the real Bolt endpoint and a throwaway SQLite database run on loopback;
an in-process Slack emulator records what Firstline sends; the clock is a fake one, moved
in short steps while something happens and in long ones between. The week has five scenes
(``SCENES``): the Monday afternoon at the desk, the Monday 17:00 rota pick and its Accept,
the Wednesday handoff, an incident declared from a request with a commander handoff by
phrase and its postmortem, and the weekly report. The transcript, the report's two charts
and the postmortem are written to a folder named at the end.

The scenes are data (who does what, when, and where), so another platform's demo can play
the same week through its own endpoint: see ``Scene``, ``Step`` and ``Transcript``.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.clock import FakeClock
from bot.config import Settings
from bot.durations import format_duration
from bot.reports.export import request_rows
from bot.stats import compute_stats
from handlers.server import CORE, RUNNER, ServerOptions, build_server
from handlers.slack.emulator import ApiCall, SlackEmulator
from handlers.slack.simulator import SlackSender
from storage.engine import Database
from storage.timers import next_due

BERLIN = ZoneInfo("Europe/Berlin")
TEAM = "T0DEMO"
SECRET = "demo-signing-secret"
SUPPORT, ALERTS = "C0SUPPORT", "C0BUGSNAG"
PAIR_GROUP = "S0SUPPORT"
PEOPLE = {
    "UANNA": "anna",  # operations: asks for help
    "UTOM": "tom",  # operations
    "UBEN": "ben",  # support rota, production access
    "UCHRIS": "chris",  # support rota
    "UDAN": "dan",  # support rota, production access
    "UERIN": "erin",  # new: observes a week first
    "UMARIA": "maria",  # second line, rota lead
    "UADMIN": "admin",
}
ROLES = {
    "UANNA": "operations",
    "UTOM": "operations",
    "UBEN": "support rota",
    "UCHRIS": "support rota",
    "UDAN": "support rota",
    "UERIN": "support rota, new",
    "UMARIA": "second line, rota lead",
    "UADMIN": "workspace admin",
}
CHANNELS = {SUPPORT: "support", ALERTS: "bugsnag-backend"}
GROUPS = {PAIR_GROUP: "support-pair"}
INCIDENT = "#incident"  # a Step's channel: the incident channel Firstline created


def local(day: int, hhmm: str) -> datetime:
    """A moment in the demo's week (November 2026, Berlin time)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


@dataclass(frozen=True)
class Step:
    """One thing a person (or an integration) does at a moment of the week.

    ``what``: post, reply (in the thread of ``to``), react (``emoji`` on ``to``), alert,
    command (``name`` and ``text``), press (a button labelled ``button`` on Firstline's
    message that contains ``on``, or on the ephemeral Firstline last showed the person).
    ``key`` names a message for later steps; ``channel`` defaults to #support.
    """

    at: datetime
    who: str
    what: str
    text: str = ""
    key: str = ""
    to: str = ""
    emoji: str = ""
    name: str = ""
    button: str = ""
    on: str = ""
    channel: str = SUPPORT


@dataclass(frozen=True)
class Scene:
    """A part of the story: its steps, played from ``start`` to ``end``. The clock jumps
    from one moment to the next (a step, a timer falling due), so every timer fires on
    time however long the scene. A scene not ``shown`` happens without being told."""

    title: str
    start: datetime
    end: datetime
    steps: tuple[Step, ...] = ()
    status_at_end: bool = False
    shown: bool = True


def _setup() -> tuple[Step, ...]:
    at = local(16, "16:55")
    maria = "<@UMARIA|maria>"
    commands = [
        (
            SUPPORT,
            "/support",
            'watch requests target=5m hours="Mon-Fri 09:00-18:00" tz=Europe/Berlin '
            f"holidays=DE escalate={maria}",
        ),
        (SUPPORT, "/support", "responders <@UBEN|ben> <@UCHRIS|chris>"),
        (ALERTS, "/support", "watch alerts target=10m tz=Europe/Berlin"),
        (ALERTS, "/support", "responders <@UBEN|ben> <@UCHRIS|chris>"),
        (
            SUPPORT,
            "/rota",
            f"config name=support tz=Europe/Berlin holidays=DE lead={maria} "
            f"group=<!subteam^{PAIR_GROUP}|support-pair>",
        ),
        (SUPPORT, "/rota", "add <@UBEN|ben> prod"),
        (SUPPORT, "/rota", "add <@UCHRIS|chris>"),
        (SUPPORT, "/rota", "add <@UDAN|dan> prod"),
        (SUPPORT, "/rota", "add <@UERIN|erin> new"),
    ]
    return tuple(
        Step(at, "UADMIN", "command", name=name, text=text, channel=channel)
        for channel, name, text in commands
    )


SCENES: tuple[Scene, ...] = (
    Scene(
        "Monday 16 November: an admin sets Firstline up; the first rota pick, accepted",
        start=local(16, "16:55"),
        end=local(16, "17:10"),
        steps=(
            *_setup(),
            Step(local(16, "17:05"), "UBEN", "press", button="Accept", on="Next support week"),
        ),
    ),
    Scene(
        "A week passes (ben and chris on support, the first weekly report)",
        start=local(16, "17:10"),
        end=local(23, "15:59"),
        shown=False,
    ),
    Scene(
        "Monday 23 November, the afternoon at the desk: #support (target 5 min) and "
        "#bugsnag-backend (10 min)",
        start=local(23, "16:00"),
        end=local(23, "17:00"),
        steps=(
            Step(
                local(23, "16:02"),
                "UANNA",
                "post",
                "Tour 4711 shows no stops in the driver app, drivers are waiting",
                key="tour",
            ),
            Step(
                local(23, "16:04"),
                "UBEN",
                "reply",
                "Looking: the route import failed at 15:58, re-running it now",
                to="tour",
            ),
            Step(
                local(23, "16:10"),
                "UTOM",
                "post",
                "Can someone reset the password for depot Hamburg?",
                key="reset",
            ),
            Step(local(23, "16:11"), "UCHRIS", "react", emoji="eyes", to="reset"),
            Step(
                local(23, "16:20"),
                "UANNA",
                "post",
                "Invoices for November are missing from the export",
                key="invoices",
            ),
            Step(
                local(23, "16:26"),
                "UTOM",
                "post",
                "How do I add a new driver to a depot?",
                key="driver",
            ),
            Step(
                local(23, "16:27"),
                "UCHRIS",
                "post",
                "<@UTOM> Admin panel → Depots → Drivers → Add; docs: https://docs.example/drivers",
            ),
            Step(local(23, "16:28"), "UCHRIS", "react", emoji="white_check_mark", to="reset"),
            Step(
                local(23, "16:33"),
                "UMARIA",
                "reply",
                "The export job is stuck on a lock, I'm on it",
                to="invoices",
            ),
            Step(
                local(23, "16:40"),
                "BBUGSNAG",
                "alert",
                "NoMethodError in OrdersController#show (id 9f2c77ab1e)",
                key="alert",
                channel=ALERTS,
            ),
            Step(
                local(23, "16:43"),
                "BBUGSNAG",
                "alert",
                "NoMethodError in OrdersController#show (id 77ab90cd3f)",
                key="alert2",
                channel=ALERTS,
            ),
            Step(local(23, "16:44"), "UBEN", "react", emoji="eyes", to="alert2", channel=ALERTS),
            Step(local(23, "16:50"), "UMARIA", "react", emoji="white_check_mark", to="invoices"),
            Step(local(23, "16:52"), "UANNA", "react", emoji="white_check_mark", to="tour"),
            Step(local(23, "16:53"), "UTOM", "react", emoji="white_check_mark", to="driver"),
            Step(
                local(23, "16:57"),
                "UTOM",
                "post",
                "Is the Hamburg depot export running? The drivers' lists look empty",
                key="export",
            ),
        ),
        status_at_end=True,
    ),
    Scene(
        "Monday 17:00: the rota pick for next week, and its Accept",
        start=local(23, "17:00"),
        end=local(23, "17:10"),
        steps=(
            Step(
                local(23, "17:01"),
                "UBEN",
                "reply",
                "Yes: it restarted at 16:50, the lists fill up within ten minutes",
                to="export",
            ),
            Step(local(23, "17:04"), "UDAN", "press", button="Accept", on="Next support week"),
            Step(local(23, "17:06"), "UTOM", "react", emoji="white_check_mark", to="export"),
        ),
    ),
    Scene(
        "Wednesday 25 November, 09:00: the new week starts with the handoff",
        start=local(23, "17:10"),
        end=local(25, "09:30"),
        steps=(Step(local(25, "09:20"), "UDAN", "press", button="Handoff done", on="*Handoff*"),),
    ),
    Scene(
        "Wednesday 10:00: a request becomes an incident, a new commander, the postmortem",
        start=local(25, "09:30"),
        end=local(25, "10:50"),
        steps=(
            Step(
                local(25, "10:02"),
                "UANNA",
                "post",
                "EU checkout fails: card payments time out since 09:58",
                key="checkout",
            ),
            Step(local(25, "10:03"), "UDAN", "react", emoji="fire", to="checkout"),
            Step(local(25, "10:03"), "UDAN", "press", button="Declare"),
            Step(
                local(25, "10:04"),
                "UDAN",
                "reply",
                "Declared an incident, we're on it: follow the incident channel",
                to="checkout",
            ),
            Step(
                local(25, "10:06"),
                "UDAN",
                "post",
                "The payment gateway answers 504 for EU cards since the 09:55 deploy",
                key="finding",
                channel=INCIDENT,
            ),
            Step(
                local(25, "10:07"),
                "UERIN",
                "react",
                emoji="pushpin",
                to="finding",
                channel=INCIDENT,
            ),
            Step(
                local(25, "10:10"),
                "UMARIA",
                "post",
                "I'm taking over as IC, Dan stays on the fix",
                channel=INCIDENT,
            ),
            Step(local(25, "10:10"), "UMARIA", "press", button="I'm taking over"),
            Step(
                local(25, "10:12"),
                "UMARIA",
                "command",
                name="/incident",
                text="update Rolling back payments to 4.1; next update 10:30",
                channel=INCIDENT,
            ),
            Step(
                local(25, "10:25"),
                "UDAN",
                "command",
                name="/incident",
                text="note Rollback finished, EU error rate back to normal",
                channel=INCIDENT,
            ),
            Step(
                local(25, "10:40"),
                "UMARIA",
                "command",
                name="/incident",
                text="resolve Rolled back payments to 4.1; EU checkout works again",
                channel=INCIDENT,
            ),
        ),
    ),
    Scene(
        "Monday 30 November, 09:00: last week's report, with its charts",
        start=local(25, "10:50"),
        end=local(30, "09:05"),
    ),
)


def _at(hhmm: str) -> datetime:
    """A moment of the desk afternoon (Monday 23 November, Berlin)."""
    return local(23, hhmm)


def _desk_script() -> list[tuple[str, str, str, dict[str, Any]]]:
    """The desk afternoon as (HH:MM, who, what, details) rows, for demos that replay it on
    another platform (``handlers/teams/demo.py``): posts, replies, reactions and alerts."""
    desk = next(scene for scene in SCENES if scene.start == local(23, "16:00"))
    rows = []
    for step in desk.steps:
        if step.what not in ("post", "reply", "react", "alert"):
            continue
        details: dict[str, Any] = {"text": step.text} if step.text else {}
        details.update({k: v for k, v in (("key", step.key), ("to", step.to)) if v})
        if step.emoji:
            details["emoji"] = step.emoji
        if step.channel != SUPPORT:
            details["channel"] = step.channel
        rows.append((step.at.strftime("%H:%M"), step.who, step.what, details))
    return rows


SCRIPT = _desk_script()
END = "17:00"
STEP_SECONDS = 30

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|@?([^>]*))?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")


class Transcript:
    """What people would see, line by line, printed as it happens and kept for the file."""

    def __init__(self, *, out: Callable[[str], Any] = print, quiet: bool = False) -> None:
        self.out = out
        self.quiet = quiet
        self.lines: list[str] = []
        self.names: dict[str, str] = {**CHANNELS}

    def say(self, line: str = "") -> None:
        self.lines.append(line)
        if not self.quiet:
            self.out(line)

    def always(self, line: str = "") -> None:
        """Printed even with --quiet (the figures)."""
        self.lines.append(line)
        self.out(line)

    def readable(self, text: str) -> str:
        text = _USER.sub(lambda m: "@" + PEOPLE.get(m.group(1), m.group(1)), text)
        text = _CHANNEL.sub(lambda m: "#" + self.names.get(m.group(1), m.group(1)), text)
        text = _GROUP.sub(lambda m: "@" + (m.group(2) or GROUPS.get(m.group(1), m.group(1))), text)
        text = _LINK.sub(lambda m: f"[{m.group(2)}]", text)
        text = _BARE_LINK.sub(lambda m: m.group(1), text)
        return text.replace("\n", "\n" + " " * 11)

    def write(self, path: Path) -> None:
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def quoted(text: str, *, limit: int = 40) -> str:
    """A message as people refer to it: its first words, in quotes."""
    plain = re.sub(r"<[^>]*>", "", text).strip()
    return f"“{plain if len(plain) <= limit else plain[: limit - 1].rstrip() + '…'}”"


def figures_text(data: dict[str, Any], *, noun: str = "requests") -> str:
    """Figures as people read them: counts, the share within target, durations."""
    requests, within, breached = data["requests"], data["within_target"], data["breached"]
    if not requests:
        return f"no {noun}"
    fr = data["first_response_seconds"]
    decided = within + breached
    share = f"{100 * within / decided:.0f}% within target ({within} of {decided})"
    counted = f"{requests} {noun.removesuffix('s') if requests == 1 else noun}"
    parts = [counted, f"{data['responded']} answered", share]
    if breached:
        parts.append(f"{breached} breached")
    if fr["p50"] is not None:
        parts.append(
            f"first response: median {format_duration(fr['p50'])}, "
            f"90% within {format_duration(fr['p90'])}, slowest {format_duration(fr['max'])}"
        )
    return "; ".join(parts)


async def figures_lines(
    db: Database,
    *,
    now: datetime,
    since: datetime | None = None,
    names: Mapping[str, str],
    links: bool = True,
) -> list[str]:
    """What both demos print at the end: each channel's figures (`figures_text`), then each
    breached request; ``names`` maps channel ids to the names people know, ``links`` adds
    the breaches' permalinks (Slack's; the Teams demo has none to give)."""
    report = (await compute_stats(db, now=now, since=since)).to_dict()
    lines = []
    for channel in report["channels"]:
        noun = "alerts" if channel["kind"] == "alerts" else "requests"
        name = names.get(channel["channel"], channel["channel"])
        lines.append(f"#{name}: {figures_text(channel, noun=noun)}")
    for row in await request_rows(db, now=now, since=since):
        if row["breached"]:
            waited = row["first_response_seconds"]
            answer = (
                f"first response after {format_duration(waited)}"
                if waited is not None
                else "no first response"
            )
            lines.append(
                f"Breached: {quoted(row['text'], limit=60)} in "
                f"#{names.get(row['channel'], row['channel'])}, {answer} "
                f"(target {format_duration(row['target_seconds'])})"
                + (f": {row['permalink']}" if links else "")
            )
    return lines


@dataclass
class _Said:
    """A message someone (or Firstline) posted, so later lines can name it."""

    channel: str
    text: str


@dataclass
class Demo:
    """Plays ``SCENES`` through the real endpoint of a server talking to the emulator."""

    quiet: bool = False
    out: Callable[[str], Any] = print
    folder: Path | None = None
    scenes: tuple[Scene, ...] = SCENES
    clock: FakeClock = field(default_factory=lambda: FakeClock(SCENES[0].start))
    slack: SlackEmulator = field(
        default_factory=lambda: SlackEmulator(team_id=TEAM, team_name="Demo Logistics")
    )

    def __post_init__(self) -> None:
        self.transcript = Transcript(out=self.out, quiet=self.quiet)
        self.keys: dict[str, tuple[str, str]] = {}  # key → (channel, ts)
        self.said: dict[tuple[str, str], _Said] = {}  # (channel, ts) → message
        self.seen_calls = 0
        self.incident_channel = ""
        self.written: list[Path] = []
        self.showing = True

    def when(self) -> str:
        return self.clock.now().astimezone(BERLIN).strftime("%a %H:%M")

    def say(self, line: str) -> None:
        if self.showing:
            self.transcript.say(f"{self.when()}  {line}")

    async def run(self) -> int:
        folder = self.folder or Path(tempfile.mkdtemp(prefix="firstline-demo-"))
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="firstline-demo-db-") as tmp:
            await self.slack.start()
            self._populate()
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
                    self.transcript.say(
                        "Firstline demo: a support week at Demo Logistics (Europe/Berlin), on an "
                        "emulated Slack."
                    )
                    self.transcript.say(
                        "Everything below goes through the real HTTP endpoint, signed as Slack "
                        "signs it; the clock is accelerated. People: "
                        + ", ".join(f"{PEOPLE[u]} ({r})" for u, r in ROLES.items() if u != "UADMIN")
                        + "."
                    )
                    for scene in self.scenes:
                        await self._play(scene, sender, app)
                    await self._figures(app)
                    await self._write(folder, app)
            finally:
                await runner.cleanup()
                await self.slack.stop()
        return 0

    def _populate(self) -> None:
        for user, name in PEOPLE.items():
            self.slack.add_user(user, name=name, is_admin=user == "UADMIN", tz="Europe/Berlin")
        for channel, name in CHANNELS.items():
            self.slack.add_channel(channel, name=name)
        self.slack.add_usergroup(PAIR_GROUP, handle="support-pair", name="Support pair")

    # -- playing a scene ---------------------------------------------------------------------

    async def _play(self, scene: Scene, sender: SlackSender, app: web.Application) -> None:
        if scene.shown:
            self.transcript.say(f"\n── {scene.title} ──\n")
        self.showing = scene.shown
        if self.clock.now() < scene.start:
            self.clock.set(scene.start)
        steps = list(scene.steps)
        while True:
            while steps and steps[0].at <= self.clock.now():
                await self._act(steps.pop(0), sender, app)
            await app[RUNNER].settle()
            self._show_calls()
            now = self.clock.now()
            if now >= scene.end and not steps:
                break
            moments = [scene.end, *(step.at for step in steps[:1])]
            async with app[CORE].db.reading() as session:
                due = await next_due(session)
            if due is not None and due > now:
                moments.append(due)
            self.clock.set(max(min(moments), now + timedelta(seconds=1)))
        if scene.status_at_end:
            reply = await sender.command(
                command="/support", text="status", user="UANNA", channel=SUPPORT
            )
            self.say("anna in #support: /support status")
            self.say(f"   ↳ (only anna sees) {self.transcript.readable(reply.json()['text'])}")
        self.showing = True

    async def _act(self, step: Step, sender: SlackSender, app: web.Application) -> None:
        channel = self.incident_channel if step.channel == INCIDENT else step.channel
        where = f"#{self.transcript.names.get(channel, channel)}"
        name = PEOPLE.get(step.who, "Bugsnag")
        ts = f"{self.clock.now().timestamp():.6f}"
        if step.what in ("post", "reply"):
            event: dict[str, Any] = {
                "type": "message",
                "channel": channel,
                "user": step.who,
                "text": step.text,
                "ts": ts,
            }
            if step.what == "reply":
                parent = self.keys[step.to]
                event["thread_ts"] = parent[1]
                where = f"the thread of {quoted(self.said[parent].text)}"
            await sender.event(event)
            self._remember(step.key, channel, ts, step.text)
            self.say(f"{name} in {where}: {self.transcript.readable(step.text)}")
        elif step.what == "alert":
            await sender.event(
                {
                    "type": "message",
                    "subtype": "bot_message",
                    "channel": channel,
                    "bot_id": step.who,
                    "username": "Bugsnag",
                    "text": "",
                    "ts": ts,
                    "attachments": [{"title": step.text, "fallback": step.text}],
                }
            )
            self._remember(step.key, channel, ts, step.text)
            self.say(f"Bugsnag in {where}: {step.text}")
        elif step.what == "react":
            target = self.keys[step.to]
            await sender.event(
                {
                    "type": "reaction_added",
                    "user": step.who,
                    "reaction": step.emoji,
                    "item": {"type": "message", "channel": target[0], "ts": target[1]},
                    "event_ts": ts,
                }
            )
            self.say(f"{name} reacts :{step.emoji}: to {quoted(self.said[target].text)}")
        elif step.what == "command":
            reply = await sender.command(
                command=step.name, text=step.text, user=step.who, channel=channel
            )
            self.say(f"{name} in {where}: {step.name} {self.transcript.readable(step.text)}")
            answer = reply.json().get("text") if reply.status == 200 else None
            if answer:
                self.say(f"   ↳ (only {name} sees) {self.transcript.readable(str(answer))}")
        elif step.what == "press":
            await self._press(step, sender)
        await app[RUNNER].settle()
        self._show_calls()

    async def _press(self, step: Step, sender: SlackSender) -> None:
        """Press the button labelled ``step.button`` on the newest message showing it."""
        for call in reversed(self.slack.delivered()):
            if call.method not in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
                continue
            if call.method == "chat.postEphemeral" and call.args.get("user") != step.who:
                continue
            if step.on and step.on not in str(call.args.get("text", "")):
                continue
            for button in _buttons(call):
                if str(button["text"]["text"]).startswith(step.button):
                    channel = str(call.args.get("channel") or call.response.get("channel"))
                    self.say(f"{PEOPLE[step.who]} presses [{button['text']['text']}]")
                    await sender.action(
                        action_id=str(button["action_id"]),
                        value=str(button.get("value", "")),
                        user=step.who,
                        channel=channel,
                        message_ts=str(call.response.get("ts") or call.args.get("ts") or "1.1"),
                    )
                    return
        raise RuntimeError(f"demo script: no [{step.button}] button for {step.who}")

    def _remember(self, key: str, channel: str, ts: str, text: str) -> None:
        self.said[(channel, ts)] = _Said(channel, text)
        if key:
            self.keys[key] = (channel, ts)

    # -- what Firstline did --------------------------------------------------------------------

    def _show_calls(self) -> None:
        calls = [c for c in self.slack.calls[self.seen_calls :] if c.ok]
        self.seen_calls = len(self.slack.calls)
        while calls:
            call = calls.pop(0)
            # The same DM to several people is one line, as a reader would summarise it.
            if call.method == "chat.postMessage" and call.args.get("channel") in PEOPLE:
                same = [
                    c
                    for c in calls
                    if c.method == "chat.postMessage"
                    and c.args.get("channel") in PEOPLE
                    and c.args.get("text") == call.args.get("text")
                ]
                for other in same:
                    calls.remove(other)
                people = ", ".join(f"@{PEOPLE[str(c.args['channel'])]}" for c in [call, *same])
                text = self.transcript.readable(str(call.args.get("text") or ""))
                self.say(f"Firstline DMs {people}: {text}{_labels(call)}")
                continue
            self._show(call)

    def _show(self, call: ApiCall) -> None:
        args, readable = call.args, self.transcript.readable
        channel = str(args.get("channel") or "")
        text = readable(str(args.get("text") or ""))
        buttons = _labels(call)
        if call.method == "chat.postMessage":
            ts = str(call.response.get("ts") or "")
            self.said[(str(call.response.get("channel") or channel), ts)] = _Said(channel, text)
            if channel in PEOPLE:
                where = f"DMs @{PEOPLE[channel]}"
            elif args.get("thread_ts"):
                parent = self.said.get((channel, str(args["thread_ts"])))
                where = f"replies in the thread of {quoted(parent.text)}" if parent else "replies"
            else:
                where = f"in #{self.transcript.names.get(channel, channel)}"
            self.say(f"Firstline {where}: {text}{buttons}")
        elif call.method == "chat.update":
            first, *rest = text.split("\n")
            shown = first if len(rest) > 3 else text  # a long edit: its first line says what
            self.say(f"Firstline edits its message: {shown}{buttons}")
        elif call.method == "chat.postEphemeral":
            self.say(
                f"Firstline (only @{PEOPLE.get(str(args.get('user')), '?')} sees): {text}{buttons}"
            )
        elif call.method == "conversations.create":
            created = call.response["channel"]
            self.transcript.names[str(created["id"])] = str(created["name"])
            self.incident_channel = str(created["id"])
            self.say(f"Firstline creates #{created['name']}")
        elif call.method == "conversations.invite":
            users = ", ".join("@" + PEOPLE.get(u, u) for u in str(args.get("users")).split(","))
            self.say(f"Firstline invites {users} to #{self.transcript.names.get(channel, channel)}")
        elif call.method == "conversations.setTopic":
            where = self.transcript.names.get(channel, channel)
            self.say(f"Firstline sets the topic of #{where}: {readable(str(args.get('topic')))}")
        elif call.method == "pins.add":
            self.say(f"Firstline pins the incident ticket in #{self.transcript.names.get(channel)}")
        elif call.method == "usergroups.users.update":
            users = ", ".join("@" + PEOPLE.get(u, u) for u in str(args.get("users")).split(","))
            self.say(f"Firstline sets @support-pair to {users}")
        elif call.method == "files.completeUploadExternal":
            where = str(args.get("channel_id") or args.get("channels") or "")
            where = self.transcript.names.get(where, where)
            for file in args.get("files") or []:
                self.say(f"Firstline uploads to #{where}: {file.get('title') or file.get('id')}")

    # -- the end -------------------------------------------------------------------------------

    async def _figures(self, app: web.Application) -> None:
        self.transcript.always("\n── The week in figures (firstline stats --since 2026-11-23) ──\n")
        lines = await figures_lines(
            app[CORE].db, now=self.clock.now(), since=local(23, "00:00"), names=CHANNELS
        )
        for line in lines:
            self.transcript.always(line)

    async def _write(self, folder: Path, app: web.Application) -> None:
        for file in self.slack.uploaded_files():
            name = Path(str(file["name"])).name
            if name.endswith(".png"):  # each watched channel has its report's charts
                channel = str(next(iter(file["channels"]), ""))
                name = f"{self.transcript.names.get(channel, channel)}-{name}"
            if name.endswith((".png", ".md")):
                path = folder / name
                path.write_bytes(file["content"])
                self.written.append(path)
        transcript = folder / "transcript.txt"
        self.transcript.always(f"\nWrote the transcript, charts and postmortem to {folder}/:")
        for path in sorted(self.written):
            self.transcript.always(f"  {path.name}")
        self.transcript.always("  transcript.txt")
        self.transcript.write(transcript)
        self.written.append(transcript)


def _labels(call: ApiCall) -> str:
    return "".join(f" [{b['text']['text']}]" for b in _buttons(call))


def _buttons(call: ApiCall) -> list[dict[str, Any]]:
    return [
        element
        for block in call.args.get("blocks") or []
        if isinstance(block, dict) and block.get("type") == "actions"
        for element in block.get("elements") or []
        if element.get("type") == "button"
    ]


async def run_demo(*, quiet: bool = False, folder: Path | None = None) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # the transcript is the output
    return await Demo(quiet=quiet, folder=folder).run()
