"""Who may do what, enforced: every command and button × {admin, the allowed person, another
member, a user of another workspace}, on Slack and on Teams, through their real endpoints.

The cases are the rules of ``bot.frontdoor.rules`` (a test fails when a rule has no case
here); who is allowed comes from the scenario's own rows (the week's pair, the handoff's
taker…), never from the router. Allowed people get an answer that is no refusal; refused
ones get a private refusal and nothing changes: no database row, no platform call other
than that private answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.context import Asker
from bot.frontdoor.router import Where
from bot.frontdoor.rules import RULES, Needs, Rule, Who
from bot.history.messages import HELPFUL, UNRELATED
from bot.incidents import messaging as incident_say
from bot.messages import ON_IT
from bot.rota import service as rota
from bot.toil.messages import WOKE
from handlers.slack.simulator import SlackSender
from storage.models import (
    Base,
    Handoff,
    HistoryThread,
    Incident,
    OutOfHoursWork,
    Request,
    RoleAssignment,
    RotaMember,
    RotaSwap,
    RotaTeam,
    Suggestion,
    SupportWeek,
    TeamsConversation,
)
from tests import teams_harness as th
from tests.e2e.installs import TA, TB, install
from tests.harness import ADMIN, ANNA, BEN, LEAD, OPS, OPS2, SlackWorld
from tests.teams_harness import TeamsWorld, mention

PEOPLE = ("admin", "lead", "anna", "ben", "ops", "ops2", "carol", "dan")
MEMBERS = ("anna", "ben", "ops", "ops2", "carol")  # all with production access
# Tables that record traffic rather than state: a refusal may touch them.
TRAFFIC = {"inbox", "workspaces", "alembic_version", "installations", "bots"}
READS = {"users.info", "auth.test"}  # Slack calls that look, and change nothing
OTHER_TENANT = "9d1e5c7a-0000-4b2c-8e3f-0123456789ab"


async def snapshot(core: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that is state (the outbox without private answers; no traffic tables)."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    async with core.db.reading() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in TRAFFIC or table.name.startswith(("teams_", "slack_")):
                continue
            rows = (await session.execute(select(table))).all()
            if table.name == "outbox":
                rows = [r for r in rows if r._mapping["op"] != "ephemeral"]
            state[table.name] = sorted((tuple(map(repr, r)) for r in rows), key=repr)
    return state


@dataclass
class Scene:
    """The objects the buttons name, read back from the database after the setup."""

    support: str
    alerts: str
    incident_channel: str
    request: Request
    week1: SupportWeek
    week2: SupportWeek
    week2_alerts: SupportWeek
    swap: RotaSwap
    take_over: Handoff
    not_now: Handoff
    incident: Incident
    woke: OutOfHoursWork
    helpful: Suggestion
    unrelated: Suggestion


class Driver:
    """One platform: the same scenario and cases, typed and pressed its own way."""

    platform: str
    ids: dict[str, str]
    workspace: str
    support: str
    alerts: str
    core: Any

    async def command(
        self, group: str, text: str, *, who: str, place: str, other: bool = False
    ) -> str:
        raise NotImplementedError

    async def press(
        self, action_id: str, value: str, *, who: str, place: str, other: bool = False
    ) -> str:
        raise NotImplementedError

    async def submit(
        self, kind: str, ref: str, values: dict[str, str], *, who: str, other: bool = False
    ) -> str | None:
        """None: this platform has no such dialog."""
        raise NotImplementedError

    async def menu(
        self, callback_id: str, channel: str, ts: str, *, who: str, other: bool = False
    ) -> str | None:
        """A message menu item (Slack's message shortcut); None: this platform has none."""
        raise NotImplementedError

    async def post(self, who: str, text: str) -> None:
        raise NotImplementedError

    async def advance(self, minutes: float) -> None:
        raise NotImplementedError

    def calls(self) -> int:
        raise NotImplementedError

    def private_only(self, since: int, who: str) -> bool:
        """Did every platform call since ``since`` only answer ``who`` privately?"""
        raise NotImplementedError

    def mention(self, who: str) -> str:
        return f"<@{self.ids[who]}>"

    def channel(self, place: str, scene: Scene | None) -> str:
        if place == "incident":
            assert scene is not None
            return scene.incident_channel
        return self.alerts if place == "alerts" else self.support


class SlackDriver(Driver):
    platform = "slack"

    def __init__(self, world: SlackWorld, home: SlackSender, away: SlackSender) -> None:
        self.world, self.home, self.away = world, home, away
        self.ids = {p: f"U{p.upper()}" for p in PEOPLE}
        self.ids.update(admin=ADMIN, lead=LEAD, anna=ANNA, ben=BEN, ops=OPS, ops2=OPS2)
        self.workspace, self.support, self.alerts = TA, "C0ALPHA", "C0ALPHAALERTS"
        self.core = world.core
        self.scene: Scene | None = None

    async def command(
        self, group: str, text: str, *, who: str, place: str, other: bool = False
    ) -> str:
        sender = self.away if other else self.home
        reply = await sender.command(
            command=f"/{group}",
            text=text,
            user=self.ids[who],
            channel=self.channel(place, self.scene),
        )
        assert reply.status == 200, reply
        await self.world.settle()
        return str(reply.json()["text"])

    async def press(
        self, action_id: str, value: str, *, who: str, place: str, other: bool = False
    ) -> str:
        user = self.ids[who]
        before = len(self.world.sent())
        reply = await (self.away if other else self.home).action(
            action_id=action_id,
            value=value,
            user=user,
            channel=self.channel(place, self.scene),
            message_ts="1.1",
        )
        assert reply.status == 200, reply
        return await self._answer(before, user)

    async def _answer(self, before: int, user: str) -> str:
        """What a press or a menu item did: opened a dialog, or told ``user`` privately."""
        await self.world.settle()
        new = self.world.sent()[before:]
        if any(c.method == "views.open" for c in new):
            return "(dialog opened)"
        said = [c for c in new if c.method == "chat.postEphemeral" and c.args["user"] == user]
        return str(said[-1].args["text"]) if said else ""

    async def submit(
        self, kind: str, ref: str, values: dict[str, str], *, who: str, other: bool = False
    ) -> str | None:
        sender = self.away if other else self.home
        if kind == rota.CHOOSE:
            form = {k: {"user": {"selected_user": v or None}} for k, v in values.items()}
        else:
            form = {"category": {"category": {"selected_option": {"value": values["category"]}}}}
        reply = await sender.view_submission(
            callback_id=kind, user=self.ids[who], private_metadata=ref, values=form
        )
        assert reply.status == 200, reply
        await self.world.settle()
        body = reply.json() if reply.body else {}
        errors = body.get("errors") or {}
        return " ".join(errors.values()) if errors else "(dialog closed)"

    async def menu(
        self, callback_id: str, channel: str, ts: str, *, who: str, other: bool = False
    ) -> str | None:
        user = self.ids[who]
        before = len(self.world.sent())
        reply = await (self.away if other else self.home).shortcut(
            callback_id=callback_id, user=user, channel=channel, message={"ts": ts, "text": "…"}
        )
        assert reply.status == 200, reply
        return await self._answer(before, user)

    async def post(self, who: str, text: str) -> None:
        event = {"type": "message", "channel": self.support, "user": self.ids[who], "text": text}
        assert (await self.home.event({**event, "ts": self.world.next_ts()})).status == 200
        await self.world.settle()

    async def advance(self, minutes: float) -> None:
        await self.world.advance(minutes=minutes)

    def calls(self) -> int:
        return len(self.world.sent())

    def private_only(self, since: int, who: str) -> bool:
        return all(
            c.method in READS
            or (c.method == "chat.postEphemeral" and c.args["user"] == self.ids[who])
            for c in self.world.sent()[since:]
        )


class TeamsDriver(Driver):
    platform = "teams"

    def __init__(self, world: TeamsWorld) -> None:
        self.world = world
        carol = th.Member("29:1carol", "Carol", "aad-carol")
        dan = th.Member("29:1dan", "Dan", "aad-dan")
        self.members = {
            "admin": th.ADMIN,
            "lead": th.LEAD,
            "anna": th.ANNA,
            "ben": th.BEN,
            "ops": th.OPS,
            "ops2": th.OPS2,
            "carol": carol,
            "dan": dan,
        }
        self.ids = {k: m.id for k, m in self.members.items()}
        self.workspace = th.WORKSPACE
        self.support, self.alerts = th.channel_id(th.SUPPORT), th.channel_id(th.ALERTS)
        self.core = world.core
        self.incident_conversation = ""

    def mention(self, who: str) -> str:
        return mention(self.members[who])

    def _conversation(self, place: str, message_id: str) -> tuple[str, str]:
        if place == "incident":
            return th.SUPPORT, self.incident_conversation
        channel = th.ALERTS if place == "alerts" else th.SUPPORT
        return channel, f"{channel};messageid={message_id}"

    async def _send(self, body: dict[str, Any], *, other: bool) -> None:
        if other:
            body["conversation"]["tenantId"] = OTHER_TENANT
            body["channelData"]["tenant"]["id"] = OTHER_TENANT
            body["channelData"]["teamsTeamId"] = "19:other-team@thread.tacv2"
            body["channelData"]["team"] = {"id": "19:other-team@thread.tacv2", "name": "Other"}
        await self.world.deliver(body)
        await self.world.settle()

    def _private(self, who: str, before: int) -> list[str]:
        member = self.members[who]
        chats = {c for c, w in self.world.connector.personal.items() if w == member.teams_id}
        return [
            c.text
            for c in self.world.connector.calls[before:]
            if c.op == "send" and c.conversation in chats
        ]

    async def command(
        self, group: str, text: str, *, who: str, place: str, other: bool = False
    ) -> str:
        message_id = self.world.next_id()
        channel, conversation = self._conversation(place, message_id)
        mentioned = tuple(m for k, m in self.members.items() if mention(m) in text)
        before = len(self.world.connector.calls)
        body = self.world.activity(
            kind="message",
            sender=self.members[who],
            channel=channel,
            conversation=conversation,
            activity_id=message_id,
            text=f"<at>{th.BOT_NAME}</at> {group} {text}",
            entities=self.world._entities(mentioned, bot=True),
        )
        await self._send(body, other=other)
        new = self.world.connector.calls[before:]
        replies = [c.text for c in new if c.op == "reply" and c.reply_to == message_id]
        return " ".join(replies + self._private(who, before))

    async def press(
        self, action_id: str, value: str, *, who: str, place: str, other: bool = False
    ) -> str:
        card = self.world.next_id()
        channel, conversation = self._conversation(place, card)
        before = len(self.world.connector.calls)
        body = self.world.activity(
            kind="message",
            sender=self.members[who],
            channel=channel,
            conversation=conversation,
            activity_id=f"f:{self.world.next_id()}",
            value={"action_id": action_id, "value": value},
            replyToId=card,
        )
        await self._send(body, other=other)
        return " ".join(self._private(who, before))

    async def submit(
        self, kind: str, ref: str, values: dict[str, str], *, who: str, other: bool = False
    ) -> str | None:
        return None  # Teams has no dialogs: choose is typed, triage is Slack's message menu

    async def menu(
        self, callback_id: str, channel: str, ts: str, *, who: str, other: bool = False
    ) -> str | None:
        return None  # Teams offers bots no message menu here

    async def post(self, who: str, text: str) -> None:
        await self.world.post(self.members[who], text)
        await self.world.settle()

    async def advance(self, minutes: float) -> None:
        await self.world.advance(minutes=minutes)

    def calls(self) -> int:
        return len(self.world.connector.calls)

    def private_only(self, since: int, who: str) -> bool:
        member = self.members[who]
        chats = {c for c, w in self.world.connector.personal.items() if w == member.teams_id}
        return all(
            c.op in ("send", "create") and c.conversation in chats
            for c in self.world.connector.calls[since:]
        )


async def build(driver: Driver) -> Scene:
    """Two rotas, a decided week on support now and a suggested one, a pending swap, an
    incident with a commander and two pending handoffs, a request, an out-of-hours record."""
    core = driver.core

    def m(person: str) -> str:
        return f"<@{driver.ids[person]}>"

    async def admin_says(group: str, text: str, channel: str) -> None:
        answer = await core.command(
            group=group,
            text=text,
            where=Where(driver.workspace, channel, driver.ids["admin"]),
            asker=Asker(platform=driver.platform, is_admin=_yes),
        )
        assert answer.content is not None and not answer.refused, answer

    for person in PEOPLE:  # everyone says hello, so Teams knows them
        await driver.post(person, f"hello from {person}")
    await admin_says("support", "watch requests target=5m", driver.support)
    await admin_says("rota", f"config tz=UTC lead={m('lead')}", driver.support)
    for person in MEMBERS:
        await admin_says("rota", f"add {m(person)} prod", driver.support)
    await admin_says("rota", f"config tz=UTC lead={m('lead')}", driver.alerts)
    for person in ("anna", "ben", "carol"):
        await admin_says("rota", f"add {m(person)} prod", driver.alerts)
    await driver.advance(180)  # Monday 17:00 UTC: both picks
    week1 = await _week(core, driver.support, 0)
    accepted = await core.press(
        _pressed(driver, rota.ACCEPT, str(week1.id), "lead", driver.support),
        asker=Asker(platform=driver.platform),
    )
    assert accepted.content is not None and "Accepted" in accepted.content.text, accepted
    await driver.advance(60 * 24 * 2 - 8 * 60)  # Wednesday 09:00: week 1 starts
    await driver.advance(60 * 24 * 5 + 8 * 60)  # next Monday 17:00: week 2 suggested
    week1 = await _week(core, driver.support, 0)
    week2 = await _week(core, driver.support, 1)
    week2_alerts = await _week(core, driver.alerts, 1)
    assert week2.status == "suggested" and week2_alerts.status == "suggested"
    free = [p for p in MEMBERS if driver.ids[p] not in (week2.first, week2.second)]
    out = next(p for p in PEOPLE if driver.ids[p] == week2.first)
    await admin_says("rota", f"swap {m(out)} {m(free[0])}", driver.support)
    await admin_says("incident", "declare Checkout down sev2", driver.support)
    await driver.advance(0)  # the outbox creates its channel
    async with core.db.reading() as session:
        incident = await session.scalar(select(Incident).order_by(Incident.id.desc()).limit(1))
    assert incident is not None and incident.channel_id
    if isinstance(driver, TeamsDriver):
        async with core.db.reading() as session:
            driver.incident_conversation = await session.scalar(
                select(TeamsConversation.conversation_id).where(
                    TeamsConversation.channel_id == incident.channel_id
                )
            )
    here = incident.channel_id
    await admin_says("incident", f"role commander {m('lead')}", here)
    await admin_says("incident", f"handoff commander {m('anna')}", here)
    await admin_says("incident", f"handoff operations {m('ben')}", here)
    await driver.post("ops2", "The invoice export fails since noon, can someone look?")
    await driver.post("ops", "Checkout is slow for everyone in Hamburg")
    async with core.db.transaction() as session:
        request, earlier = (
            await session.scalars(select(Request).order_by(Request.id.desc()).limit(2))
        ).all()
        team = await session.scalar(select(RotaTeam).where(RotaTeam.channel_id == driver.support))
        assert request is not None and team is not None
        now = core.clock.now()
        woke = OutOfHoursWork(
            workspace_id=driver.workspace,
            team_id=team.id,
            user=driver.ids["ops"],
            request_id=request.id,
            channel_id=driver.support,
            kind="requests",
            received_at=now - timedelta(hours=1),
            handled_at=now,
            woke=False,
        )
        session.add(woke)
        # An answered request kept for answers from history, suggested twice for the request.
        thread = HistoryThread(
            request_id=request.id,
            workspace_id=driver.workspace,
            channel_id=driver.support,
            ts=KEPT_TS,
            question="Checkout was slow in Hamburg",
            answered_by=driver.ids["ben"],
            answer="Restarted the payment workers",
            replies=1,
            last_reply_at=now,
        )
        session.add(thread)
        await session.flush()
        suggested = [
            Suggestion(
                request_id=asked.id,
                thread_id=thread.id,
                workspace_id=driver.workspace,
                channel_id=driver.support,
                requester=asked.requester,
                question=asked.text,
                score=80.0,
                created_at=now,
            )
            for asked in (request, earlier)
        ]
        session.add_all(suggested)
    async with core.db.reading() as session:
        swap = await session.scalar(select(RotaSwap).order_by(RotaSwap.id.desc()).limit(1))
        handoffs = {
            h.role: h
            for h in await session.scalars(select(Handoff).where(Handoff.status == "pending"))
        }
        woke = await session.get(OutOfHoursWork, woke.id)
        helpful, unrelated = [await session.get(Suggestion, s.id) for s in suggested]
    assert swap is not None and woke is not None
    assert helpful is not None and unrelated is not None
    scene = Scene(
        support=driver.support,
        alerts=driver.alerts,
        incident_channel=here,
        request=request,
        week1=week1,
        week2=week2,
        week2_alerts=week2_alerts,
        swap=swap,
        take_over=handoffs["commander"],
        not_now=handoffs["operations"],
        incident=incident,
        woke=woke,
        helpful=helpful,
        unrelated=unrelated,
    )
    if isinstance(driver, SlackDriver):
        driver.scene = scene
    return scene


async def _yes() -> bool:
    return True


def _pressed(driver: Driver, action_id: str, value: str, who: str, channel: str) -> Any:
    from bot.facts import Pressed

    return Pressed(driver.workspace, channel, driver.ids[who], action_id, value)


async def _week(core: Any, channel: str, index: int) -> SupportWeek:
    async with core.db.reading() as session:
        team = await session.scalar(select(RotaTeam).where(RotaTeam.channel_id == channel))
        assert team is not None
        weeks = list(
            await session.scalars(
                select(SupportWeek)
                .where(SupportWeek.team_id == team.id)
                .order_by(SupportWeek.starts_at)
            )
        )
    return weeks[index]


# -- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """How to use one rule, and whom its rule means (user keys), read from the scene."""

    key: str
    run: Callable[[Driver, Scene, str, bool], Awaitable[str | None]]
    allowed: Callable[[Driver, Scene], Awaitable[set[str]]] | None = None  # None: anyone


def command(group: str, text: str, *, place: str = "support") -> Callable[..., Any]:
    async def run(driver: Driver, scene: Scene, who: str, other: bool) -> str:
        names = {p: driver.mention(p) for p in PEOPLE}
        if "{on_support}" in text:  # a swap that keeps the rules: a prod member for one
            week = await _week(driver.core, scene.support, 1)
            on_support = keys(driver, week.first)
            [out] = on_support
            free = [p for p in MEMBERS if driver.ids[p] not in (week.first, week.second)]
            names.update(on_support=names[out], free=names[free[-1]])
        typed = text.format(**names)
        return await driver.command(group, typed, who=who, place=place, other=other)

    return run


def button(action_id: str, value: Callable[[Scene], str], place: str = "support") -> Any:
    async def run(driver: Driver, scene: Scene, who: str, other: bool) -> str:
        return await driver.press(action_id, value(scene), who=who, place=place, other=other)

    return run


def keys(driver: Driver, *users: str | None) -> set[str]:
    by_id = {v: k for k, v in driver.ids.items()}
    return {by_id[u] for u in users if u in by_id}


async def lead(driver: Driver, scene: Scene) -> set[str]:
    return {"lead"}


async def admins_only(driver: Driver, scene: Scene) -> set[str]:
    return set()


async def members_and_lead(driver: Driver, scene: Scene) -> set[str]:
    async with driver.core.db.reading() as session:
        users = await session.scalars(
            select(RotaMember.user).join(RotaTeam).where(RotaTeam.channel_id == scene.support)
        )
        return keys(driver, *users) | {"lead"}


async def commander(driver: Driver, scene: Scene) -> set[str]:
    async with driver.core.db.reading() as session:
        users = await session.scalars(
            select(RoleAssignment.user).where(
                RoleAssignment.incident_id == scene.incident.id,
                RoleAssignment.role == "commander",
                RoleAssignment.renounced_at.is_(None),
            )
        )
        return keys(driver, *users)


async def picked(driver: Driver, scene: Scene) -> set[str]:
    week2 = await _week(driver.core, scene.support, 1)
    week1 = await _week(driver.core, scene.support, 0)
    return keys(driver, week2.first, week2.second, week1.first, week1.second) | {"lead"}


async def picked_alerts(driver: Driver, scene: Scene) -> set[str]:
    week2 = await _week(driver.core, scene.alerts, 1)
    week1 = await _week(driver.core, scene.alerts, 0)
    return keys(driver, week2.first, week2.second, week1.first, week1.second) | {"lead"}


async def pairs(driver: Driver, scene: Scene) -> set[str]:
    return keys(driver, scene.week1.first, scene.week1.second) | {"lead"}


def named(*users: Callable[[Scene], str]) -> Any:
    async def allowed(driver: Driver, scene: Scene) -> set[str]:
        return keys(driver, *(u(scene) for u in users))

    return allowed


async def responders(driver: Driver, scene: Scene) -> set[str]:
    return set(PEOPLE) - keys(driver, scene.request.requester)


async def choose_dialog(driver: Driver, scene: Scene, who: str, other: bool) -> str | None:
    week = scene.week2_alerts
    return await driver.submit(
        rota.CHOOSE,
        f"{week.id}:{scene.alerts}",
        {"first": week.first, "second": week.second, "fallback": ""},
        who=who,
        other=other,
    )


async def triage_menu(driver: Driver, scene: Scene, who: str, other: bool) -> str | None:
    request = scene.request
    return await driver.menu("triage", request.channel_id, request.ts, who=who, other=other)


async def triage_dialog(driver: Driver, scene: Scene, who: str, other: bool) -> str | None:
    request = scene.request
    return await driver.submit(
        "triage", f"{request.channel_id}:{request.ts}", {"category": "bug"}, who=who, other=other
    )


KEPT_TS = "1700000000.000100"  # the kept thread of answers from history


def request_ref(scene: Scene) -> str:
    return f"{scene.request.channel_id}:{scene.request.ts}"


# Buttons first (the commands below change what they name), destructive commands last.
CASES: tuple[Case, ...] = (
    Case("rota_another", button(rota.ANOTHER, lambda s: str(s.week2.id)), picked),
    Case("rota_choose", button(rota.CHOOSE, lambda s: str(s.week2.id)), picked),
    Case("rota_accept", button(rota.ACCEPT, lambda s: str(s.week2.id)), picked),
    Case("rota_handoff_done", button(rota.HANDOFF_DONE, lambda s: str(s.week1.id)), pairs),
    Case(
        "rota_swap_confirm",
        button(rota.SWAP, lambda s: str(s.swap.id)),
        named(lambda s: s.swap.out_user, lambda s: s.swap.in_user),
    ),
    Case("desk_on_it", button(ON_IT, request_ref), responders),
    Case(
        "incident_snooze",
        button(incident_say.SNOOZE, lambda s: f"{s.incident.id}:30", place="incident"),
        commander,
    ),
    Case(
        "incident_take_over",
        button(incident_say.CONFIRM_HANDOFF, lambda s: str(s.take_over.id), place="incident"),
        named(lambda s: s.take_over.taker),
    ),
    Case(
        "incident_not_now",
        button(incident_say.DECLINE_HANDOFF, lambda s: str(s.not_now.id), place="incident"),
        named(lambda s: s.not_now.taker),
    ),
    Case("toil_woke", button(WOKE, lambda s: str(s.woke.id)), named(lambda s: s.woke.user)),
    Case("incident_declare_from_message", button(incident_say.DECLARE_FROM_MESSAGE, request_ref)),
    Case("triage", triage_menu),
    Case("triage", triage_dialog),
    Case(
        "incident_link_request",
        button(incident_say.LINK_REQUEST, lambda s: f"{s.incident.id}:{s.unrelated.request_id}"),
    ),
    Case("history_helpful", button(HELPFUL, lambda s: str(s.helpful.id))),
    Case("history_unrelated", button(UNRELATED, lambda s: str(s.unrelated.id))),
    Case("support help", command("support", "help")),
    Case("support status", command("support", "status")),
    Case("support stats", command("support", "stats 7d")),
    Case("support responders", command("support", "responders")),
    Case("support report", command("support", "report last")),
    Case("support slo", command("support", "slo")),
    Case("support faq", command("support", "faq list")),
    Case("support template", command("support", "template")),
    Case("support suggest forget", command("support", f"suggest forget {KEPT_TS}")),
    Case("rota help", command("rota", "help")),
    Case("rota who", command("rota", "who")),
    Case("rota show", command("rota", "show")),
    Case("rota history", command("rota", "history")),
    Case("rota plan", command("rota", "plan 4")),
    Case("rota calendar", command("rota", "calendar")),
    Case("rota toil", command("rota", "toil")),
    Case("rota away", command("rota", "away {carol} 2027-03-01..2027-03-02")),
    Case("rota swap", command("rota", "swap {on_support} {free}"), members_and_lead),
    Case("rota choose", command("rota", "choose {anna} {ben}"), lead),
    Case("rota add", command("rota", "add {dan} prod"), lead),
    Case("rota set", command("rota", "set {dan} prod=no"), lead),
    Case("rota remove", command("rota", "remove {dan}"), lead),
    Case("rota config", command("rota", "config toil=a"), lead),
    Case("incident help", command("incident", "help")),
    Case("incident list", command("incident", "list")),
    Case("incident declare", command("incident", "declare Search is down sev3")),
    Case("incident set", command("incident", "set symptoms Slow", place="incident")),
    Case("incident action", command("incident", 'action add "Scale up"', place="incident")),
    Case("incident why", command("incident", 'why "A bad deploy"', place="incident")),
    Case("incident severity", command("incident", "severity sev1", place="incident")),
    Case("incident role", command("incident", "role communications {ben}", place="incident")),
    Case("incident note", command("incident", "note Rolled back", place="incident")),
    Case("incident update", command("incident", "update Recovering", place="incident")),
    Case(
        "incident handoff",
        command("incident", "handoff commander {ops2}", place="incident"),
        commander,
    ),
    Case("incident resolve", command("incident", "resolve Rolled back", place="incident")),
    Case("support responders set", command("support", "responders {anna} {ben}"), admins_only),
    Case("support slo set", command("support", "slo set 95% 28d"), admins_only),
    Case("support faq switch", command("support", "faq on"), admins_only),
    Case("support suggest switch", command("support", "suggest on"), admins_only),
    Case("support watch", command("support", "watch requests target=10m"), admins_only),
    Case("support unwatch", command("support", "unwatch"), admins_only),
    Case("choose dialog", choose_dialog, picked_alerts),
)


def refused(answer: str) -> bool:
    return "nothing changed" in answer.lower() or answer.startswith("Only ")


async def check(driver: Driver, scene: Scene, *, personas: tuple[str, ...]) -> list[str]:
    """Run every case for ``personas``; returns the table of outcomes (for the failure text)."""
    table: list[str] = []
    for case in CASES:
        rule = RULES.get(case.key, RULES[rota.CHOOSE])
        allowed = None if case.allowed is None else await case.allowed(driver, scene)
        for persona in personas:
            who, other = _who(persona, rule, allowed)
            if who is None:
                continue
            may = persona != "other workspace" and (
                allowed is None or who in allowed or (who == "admin" and Who.ADMIN in rule.who)
            )
            own = rule.anyone and rule.needs in (Needs.NOTHING, Needs.CHANNEL)
            if persona == "other workspace" and own and case.key.startswith(GROUPS):
                continue  # a command that acts in its own workspace, on its own objects
            before_rows, before_calls = await snapshot(driver.core), driver.calls()
            answer = await case.run(driver, scene, who, other)
            if answer is None:
                continue  # no such dialog on this platform
            table.append(f"{case.key} × {persona} ({who}): {answer[:90]!r}")
            if may:
                assert answer and not refused(answer), table[-1]
            else:
                assert refused(answer), table[-1]
                assert await snapshot(driver.core) == before_rows, table[-1]
                assert driver.private_only(before_calls, who), table[-1]
    return table


GROUPS = ("support", "rota", "incident")


def _who(persona: str, rule: Rule, allowed: set[str] | None) -> tuple[str | None, bool]:
    if persona == "admin":
        return "admin", False
    if persona == "allowed person":
        if allowed is None:
            return "carol", False
        candidates = sorted(allowed - {"admin"})
        return (candidates[0] if candidates else "admin"), False
    if persona == "another member":
        if allowed is None:
            return None, False  # everyone may
        outside = [p for p in ("carol", "ops2", "ops", "ben", "anna", "dan") if p not in allowed]
        return (outside[0] if outside else None), False
    # The allowed person's own id, from another workspace: still not theirs to use.
    candidates = sorted((allowed or {"carol"}) - {"admin"}) or ["admin"]
    return candidates[0], True


def test_every_rule_has_a_case() -> None:
    covered = {c.key for c in CASES} - {"choose dialog"}
    assert covered == set(RULES), set(RULES) ^ covered


# -- the worlds -----------------------------------------------------------------------------

PERSONAS = {
    "people": ("other workspace", "another member", "allowed person"),
    "admin": ("admin",),
}


@pytest.fixture
async def slack_driver(tenants: SlackWorld) -> AsyncIterator[SlackDriver]:
    for person in ("UCAROL", "UDAN"):
        tenants.slack.add_user(person, name=person[1:].lower())
    assert (await install(tenants, TA)).status == 200
    assert (await install(tenants, TB)).status == 200
    async with tenants.sender_for(TA) as home, tenants.sender_for(TB) as away:
        yield SlackDriver(tenants, home, away)


@pytest.mark.parametrize("personas", sorted(PERSONAS))
async def test_who_may_do_what_on_slack(slack_driver: SlackDriver, personas: str) -> None:
    scene = await build(slack_driver)
    table = await check(slack_driver, scene, personas=PERSONAS[personas])
    assert len(table) >= len(CASES), table


@pytest.mark.parametrize("personas", sorted(PERSONAS))
async def test_who_may_do_what_on_teams(database_url: str, clock: FakeClock, personas: str) -> None:
    async with TeamsWorld(database_url=database_url, clock=clock) as world:
        driver = TeamsDriver(world)
        scene = await build(driver)
        table = await check(driver, scene, personas=PERSONAS[personas])
        # No dialogs or message menus: choose is typed, triage is Slack's.
        assert len(table) >= len(CASES) - 3, table
