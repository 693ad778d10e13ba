"""The front door at the core's level, on the fake clock, with no platform at all: each case
under "Why" in issue 11 is refused (and changes nothing) or works, and admin rights are
looked up only when a rule could need them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.context import Asker
from bot.core import Core
from bot.facts import Pressed
from bot.frontdoor.router import Submitted, Where
from bot.incidents import messaging as incident_say
from bot.rota import service as rota
from bot.toil.messages import WOKE
from storage.engine import Database
from storage.models import Incident, RotaSwap, SupportWeek, TimelineEntry, Timer

WS, OTHER, CH = "T1", "T2", "C1"
ADMIN, LEAD, ANNA, BEN, CAROL, DAN, EVE = (
    "UADMIN",
    "ULEAD",
    "UANNA",
    "UBEN",
    "UCAROL",
    "UDAN",
    "UEVE",
)


class AdminLookups:
    """An admin check that counts how often it is asked."""

    def __init__(self, *admins: str) -> None:
        self.admins = set(admins)
        self.asked: list[str] = []

    def asker(self, user: str) -> Asker:
        async def is_admin() -> bool:
            self.asked.append(user)
            return user in self.admins

        return Asker(platform="slack", is_admin=is_admin)


@pytest.fixture
async def core(database_url: str, clock: FakeClock) -> AsyncIterator[Core]:
    core = Core(db=Database.connect(database_url), clock=clock)
    await core.start()
    yield core
    await core.close()


async def say(
    core: Core, group: str, text: str, *, user: str = ADMIN, channel: str = CH, ws: str = WS
) -> tuple[str, bool]:
    answer = await core.command(
        group=group,
        text=text,
        where=Where(ws, channel, user),
        asker=AdminLookups(ADMIN).asker(user),
    )
    assert answer.content is not None
    return answer.content.text, answer.refused


async def press(
    core: Core, action: str, value: str, *, user: str, ws: str = WS
) -> tuple[str, bool]:
    answer = await core.press(
        Pressed(ws, CH, user, action, value), asker=AdminLookups(ADMIN).asker(user)
    )
    return (answer.content.text if answer.content else ""), answer.refused


async def advance(core: Core, clock: FakeClock, hours: float) -> None:
    clock.advance(minutes=hours * 60)
    while await core.timers.fire_due():
        pass


async def rota_with_a_pick(core: Core, clock: FakeClock) -> SupportWeek:
    """Only Anna has production access; Monday 17:00 picks a week (with Anna in it)."""
    await say(core, "support", "watch requests")
    await say(core, "rota", f"config tz=UTC lead=<@{LEAD}>")
    for who in (f"<@{ANNA}> prod", f"<@{BEN}>", f"<@{CAROL}>", f"<@{DAN}>"):
        text, refused = await say(core, "rota", f"add {who}")
        assert not refused, text
    await advance(core, clock, 3)
    async with core.db.reading() as session:
        week = await session.scalar(select(SupportWeek))
    assert week is not None and week.status == "suggested"
    return week


async def count(core: Core, model: type) -> int:
    async with core.db.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_rota_choose_is_for_the_lead_and_admins(core: Core, clock: FakeClock) -> None:
    week = await rota_with_a_pick(core, clock)
    await press(core, rota.ACCEPT, str(week.id), user=week.first)
    text, refused = await say(core, "rota", f"choose <@{ANNA}> <@{BEN}>", user=CAROL)
    assert refused and text.startswith("Only the rota's lead (<@ULEAD>) or workspace admins")
    async with core.db.reading() as session:
        kept = await session.get(SupportWeek, week.id)
    assert kept is not None and kept.decided_by == week.first  # the accepted pair stands
    text, refused = await say(core, "rota", f"choose <@{ANNA}> <@{BEN}>", user=LEAD)
    assert not refused and text == "Chosen: <@UANNA> and <@UBEN>."


async def test_a_stranger_cannot_accept_and_the_follow_ups_stay(
    core: Core, clock: FakeClock
) -> None:
    week = await rota_with_a_pick(core, clock)
    text, refused = await press(core, rota.ACCEPT, str(week.id), user=EVE)
    assert refused and "Only the suggested people and the pair on support now" in text
    async with core.db.reading() as session:
        still = await session.get(SupportWeek, week.id)
        follow_ups = await session.scalars(
            select(Timer.step).where(Timer.step.like("remind_%"), Timer.fired_at.is_(None))
        )
        steps = sorted(s.split("@")[0] for s in follow_ups)
    assert still is not None and still.status == "suggested" and still.decided_by is None
    assert steps == ["remind_lead", "remind_pair"]  # Tuesday's safety net is still armed
    text, refused = await press(core, rota.ACCEPT, str(week.id), user=ADMIN)
    assert not refused and text == "Accepted."


async def test_a_swap_that_breaks_the_rules_is_refused_when_asked(
    core: Core, clock: FakeClock
) -> None:
    week = await rota_with_a_pick(core, clock)
    assert ANNA in (week.first, week.second)  # the only one with production access
    free = next(p for p in (BEN, CAROL, DAN) if p not in (week.first, week.second))
    text, refused = await say(core, "rota", f"swap <@{ANNA}> <@{free}>", user=ANNA)
    assert "breaks the rota's rules" in text and "production access" in text
    assert await count(core, RotaSwap) == 0  # nobody was asked to confirm
    text, refused = await say(core, "rota", f"swap <@{ANNA}> <@{free}>", user=EVE)
    assert refused and "Only members of this rota" in text


async def test_snooze_names_its_own_incident_and_its_commander(
    core: Core, clock: FakeClock
) -> None:
    await say(core, "support", "watch requests")
    for title in ("Checkout down", "Search slow"):
        await say(core, "incident", f"declare {title}", user=LEAD)
    async with core.db.transaction() as session:
        first, second = list(await session.scalars(select(Incident).order_by(Incident.id)))
        first.channel_id, second.channel_id = "CINC1", "CINC2"  # as the outbox would set them
    await core.incidents.refresh()
    await say(core, "incident", f"role commander <@{LEAD}>", channel="CINC1")
    await say(core, "incident", f"role commander <@{BEN}>", channel="CINC2")
    entries = await count(core, TimelineEntry)

    async def snooze(incident: int, *, user: str, channel: str, ws: str = WS) -> str:
        answer = await core.press(
            Pressed(ws, channel, user, incident_say.SNOOZE, f"{incident}:30"),
            asker=AdminLookups(ADMIN).asker(user),
        )
        assert answer.content is not None
        return answer.content.text

    # The reminder in #inc-1 carrying incident 2's id, pressed by 2's own commander.
    assert "no longer exists" in await snooze(second.id, user=BEN, channel="CINC1")
    # From another workspace: not "resolved", just not theirs.
    assert "no longer exists" in await snooze(first.id, user=LEAD, channel="CINC1", ws=OTHER)
    assert "Only the current incident commander (<@ULEAD>)" in await snooze(
        first.id, user=ANNA, channel="CINC1"
    )
    assert await count(core, TimelineEntry) == entries  # nothing written anywhere
    assert "Snoozed" in await snooze(first.id, user=LEAD, channel="CINC1")


async def test_declare_names_a_request_of_this_workspace(core: Core, clock: FakeClock) -> None:
    await say(core, "support", "watch requests")
    for ws, value in ((WS, f"{CH}:1700000000.000100"), (OTHER, f"{CH}:1700000000.000100")):
        text, refused = await press(
            core, incident_say.DECLARE_FROM_MESSAGE, value, user=ANNA, ws=ws
        )
        assert refused and text == "That request no longer exists here; nothing changed."
    assert await count(core, Incident) == 0


async def test_forged_and_stale_presses_change_nothing(core: Core, clock: FakeClock) -> None:
    week = await rota_with_a_pick(core, clock)
    for action, value in (
        (rota.ACCEPT, "999"),
        (rota.HANDOFF_DONE, "not-a-number"),
        (rota.SWAP, "12"),
        (incident_say.CONFIRM_HANDOFF, "7"),
        (WOKE, "5"),
        ("rota_gone", "1"),
    ):
        text, refused = await press(core, action, value, user=ADMIN)
        assert refused and ("nothing changed" in text or "older Firstline" in text), text
    # The week is decided: its buttons now say so, to everyone, before anything changes.
    await press(core, rota.ACCEPT, str(week.id), user=week.first)
    text, refused = await press(core, rota.ANOTHER, str(week.id), user=week.second)
    assert refused and text == "This week is already decided; nothing changed."
    # The week has started: the Choose… dialog submitted late is refused too.
    await advance(core, clock, 24 * 2)
    answer = await core.submit(
        Submitted(WS, CH, LEAD, rota.CHOOSE, str(week.id), {"first": ANNA, "second": BEN}),
        asker=AdminLookups().asker(LEAD),
    )
    assert answer.refused and answer.content is not None
    assert answer.content.text == "This week is already decided; nothing changed."


async def test_a_dialog_with_another_rotas_week_is_refused(core: Core, clock: FakeClock) -> None:
    week = await rota_with_a_pick(core, clock)
    await say(core, "rota", f"config tz=UTC lead=<@{EVE}>", channel="C2")
    # Eve leads the rota in C2; the dialog claims C2 but carries C1's week.
    answer = await core.submit(
        Submitted(WS, "C2", EVE, rota.CHOOSE, str(week.id), {"first": ANNA, "second": BEN}),
        asker=AdminLookups().asker(EVE),
    )
    assert answer.refused and answer.content is not None
    assert "no longer exists here" in answer.content.text
    async with core.db.reading() as session:
        unchanged = await session.get(SupportWeek, week.id)
    assert unchanged is not None and unchanged.status == "suggested"


async def test_admin_rights_are_looked_up_only_when_a_rule_needs_them(
    core: Core, clock: FakeClock
) -> None:
    lookups = AdminLookups(ADMIN)
    where = Where(WS, CH, ANNA)
    await core.command(group="support", text="help", where=where, asker=lookups.asker(ANNA))
    await core.command(group="rota", text="help", where=where, asker=lookups.asker(ANNA))
    assert lookups.asked == []
    answer = await core.command(
        group="support", text="watch requests", where=where, asker=lookups.asker(ANNA)
    )
    assert answer.refused and lookups.asked == [ANNA]
    assert core.channels.get(WS, CH) is None  # refused: nothing is watched
    answer = await core.command(
        group="support", text="watch requests", where=where, asker=lookups.asker(ADMIN)
    )
    assert not answer.refused and answer.rule == "support watch"  # for Slack to join


async def test_teams_words_and_a_chat_without_a_channel(core: Core, clock: FakeClock) -> None:
    teams = Asker(platform="teams", prefix="@Firstline ")
    answer = await core.command(
        group="support", text="watch requests", where=Where(WS, CH, ANNA), asker=teams
    )
    assert answer.refused and answer.content is not None
    assert answer.content.text == (
        "Only Firstline admins (FIRSTLINE_ADMINS) can change what Firstline watches; "
        "nothing changed."
    )
    answer = await core.command(
        group="support", text="help", where=Where(WS, CH, ANNA), asker=teams
    )
    assert answer.content is not None and ":eyes:" not in answer.content.text
    answer = await core.command(group="rota", text="who", where=Where(WS, "", ANNA), asker=teams)
    assert answer.refused and answer.content is not None
    assert answer.content.text.startswith("`@Firstline rota who` works in a channel")


async def test_time_off_in_lieu_is_routed_the_same_everywhere(core: Core, clock: FakeClock) -> None:
    await rota_with_a_pick(core, clock)
    text, refused = await say(core, "rota", "config toil=a", user=LEAD)
    assert not refused and "policy a" in text
    text, refused = await say(core, "rota", "toil", user=ANNA)
    assert not refused and "Time off in lieu" in text


async def test_a_swap_the_lead_chose_over_is_refused(core: Core, clock: FakeClock) -> None:
    """`/rota choose` replaced the pair: a swap proposed before would now change nobody."""
    week = await rota_with_a_pick(core, clock)
    partner = week.second if week.first == ANNA else week.first
    free = [p for p in (BEN, CAROL, DAN) if p != partner]
    text, refused = await say(core, "rota", f"swap <@{partner}> <@{free[0]}>", user=partner)
    assert not refused and "confirm the swap" in text, text
    text, refused = await say(core, "rota", f"choose <@{ANNA}> <@{free[1]}>", user=LEAD)
    assert not refused, text
    async with core.db.reading() as session:
        swap = await session.scalar(select(RotaSwap))
    assert swap is not None
    text, refused = await press(core, rota.SWAP, str(swap.id), user=free[0])
    assert refused and text == "The week changed since this swap; nothing changed."
