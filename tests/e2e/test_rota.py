"""The rota through the endpoint on the fake clock: Monday pick, reminders, week start."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import select

from bot.rota import service as rota
from bot.stats import compute_stats, summary
from storage.models import RotaTeam
from tests.e2e.test_incidents import buttons
from tests.harness import ANNA, BEN, LEAD, OPS, SUPPORT, SlackWorld

CAROL, DAN = "UCAROL", "UDAN"


async def rota_cmd(world: SlackWorld, text: str, user: str = "UADMIN") -> str:
    return await world.command(text, user=user, channel=SUPPORT, name="/rota")


async def set_up(world: SlackWorld) -> None:
    world.slack.add_user(CAROL, name="carol")
    world.slack.add_user(DAN, name="dan")
    reply = await rota_cmd(
        world, f"config tz=Europe/Berlin holidays=DE lead=<@{LEAD}> group=<!subteam^S0SUP|support>"
    )
    assert "Started the rota" in reply and "picks Mon 17:00" in reply
    await world.command("watch requests target=5m responders=team")
    assert "production access" in await rota_cmd(world, f"add <@{ANNA}> prod")
    await rota_cmd(world, f"add <@{BEN}>")
    await rota_cmd(world, f"add <@{CAROL}|carol> prod")
    assert "observes one week first" in await rota_cmd(world, f"add <@{DAN}> new")


def channel_posts(world: SlackWorld) -> list:
    return [c for c in world.sent("chat.postMessage") if c.args["channel"] == SUPPORT]


async def test_a_fortnight_of_picks_and_handoffs(world: SlackWorld) -> None:
    await set_up(world)
    # Monday 23 Nov, 15:00 Berlin. The pick is at 17:00 Berlin = 16:00 UTC.
    await world.advance(minutes=119)
    assert channel_posts(world) == []
    await world.advance(minutes=1)
    [pick] = channel_posts(world)
    assert (
        f"<@{ANNA}> and <@{BEN}>" in pick.args["text"] and f"observer <@{DAN}>" in pick.args["text"]
    )
    another = next(b for b in buttons(pick) if b["text"]["text"] == "Suggest another")
    await world.press(another["action_id"], another["value"], user=ANNA, channel=SUPPORT)
    edited = world.sent("chat.update")[-1]
    assert f"<@{ANNA}> and <@{CAROL}>" in edited.args["text"]
    # Tuesday 17:00 Berlin: nobody accepted, so the lead hears of it.
    world.clock.set(datetime(2026, 11, 24, 15, 59, tzinfo=UTC))
    await world.settle()
    assert len(channel_posts(world)) == 1
    await world.advance(minutes=1)
    assert f"<@{LEAD}>" in channel_posts(world)[-1].args["text"]
    # Wednesday 09:00 Berlin = 08:00 UTC: the suggestion becomes the pair.
    world.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    await world.settle()
    start = channel_posts(world)[-1]
    assert "suggestion became the pair" in start.args["text"]
    [group] = world.sent("usergroups.users.update")
    assert group.args == {"usergroup": "S0SUP", "users": f"{ANNA},{CAROL}"}
    assert world.slack.topic(SUPPORT) == "On support: @anna, @carol until Tue 1 Dec"
    assert "Handoff done" in str(buttons(start))
    assert (
        "*Handoff*" in start.args["text"]
        and "Revoke it from the outgoing pair" in start.args["text"]
    )
    # responders=team now means the pair: they get the nudge.
    await world.post(OPS, "Scanner app down in Hamburg")
    await world.advance(minutes=3)
    nudged = {
        c.args["channel"] for c in world.sent("chat.postMessage") if "waited" in c.args["text"]
    }
    assert nudged == {ANNA, CAROL}
    who = await rota_cmd(world, "who", user=OPS)
    assert f"<@{ANNA}> and <@{CAROL}>" in who and f"observer <@{DAN}>" in who
    # Deploy scripts ask the API with the team token.
    async with world.core.db.reading() as session:
        team = await session.scalar(select(RotaTeam))
    assert team is not None
    async with aiohttp.ClientSession() as http:
        url = f"{world.base_url}/api/rota/{team.id}/current"
        async with http.get(url, headers={"Authorization": f"Bearer {team.api_token}"}) as r:
            assert r.status == 200 and (await r.json())["pair"] == [ANNA, CAROL]
        async with http.get(url, headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        # The team's name as people see it works too, in any case; an unknown one is a 404.
        by_name = f"{world.base_url}/api/rota/{quote(team.name.upper())}/current"
        async with http.get(by_name, headers={"Authorization": f"Bearer {team.api_token}"}) as r:
            assert r.status == 200 and (await r.json())["pair"] == [ANNA, CAROL]
        unknown = f"{world.base_url}/api/rota/no-such-team/current"
        async with http.get(unknown, headers={"Authorization": f"Bearer {team.api_token}"}) as r:
            assert r.status == 404 and "no rota team 'no-such-team'" in (await r.json())["error"]
        async with http.get(f"{world.base_url}/rota/no-such-team.ics?token=x") as r:
            assert r.status == 404
    handoff = next(b for b in buttons(start) if b["text"]["text"] == "Handoff done")
    await world.press(handoff["action_id"], handoff["value"], user=CAROL, channel=SUPPORT)
    assert "Handoff done, confirmed by <@UCAROL>" in channel_posts(world)[-1].args["text"]
    # Next Monday: Anna and Carol have a week each; Dan has observed, Ben has none.
    world.clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    await world.settle()
    pick = channel_posts(world)[-1]
    assert f"<@{BEN}> and <@{ANNA}>" in pick.args["text"]  # Ben and Dan lack production access
    accept = next(b for b in buttons(pick) if b["text"]["text"] == "Accept")
    await world.press(accept["action_id"], accept["value"], user=BEN, channel=SUPPORT)
    assert "Accepted by <@UBEN>" in world.sent("chat.update")[-1].args["text"]
    # Wednesday 2 Dec: the handoff sums up Anna and Carol's week as `firstline stats` does.
    world.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    await world.settle()
    handoff = channel_posts(world)[-1].args["text"]
    report = await compute_stats(
        world.core.db,
        now=world.clock.now(),
        channel_id=SUPPORT,
        since=datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
        until=world.clock.now(),
    )
    assert summary(report.total) in handoff and "breached: 1" in handoff
    assert "Handing over from <@UANNA> and <@UCAROL>" in handoff
    assert "*Breaches*\n• <https://demo.slack.com/archives/C0SUPPORT/p" in handoff
    assert "Scanner app down in Hamburg" in handoff.split("*Still open*")[1]
    assert world.slack.topic(SUPPORT) == "On support: @ben, @anna until Tue 8 Dec"


async def test_rota_bad_input(world: SlackWorld) -> None:
    assert "no rota yet" in await rota_cmd(world, f"add <@{ANNA}> prod")
    await set_up(world)
    assert "workspace admins and owners" in await rota_cmd(world, f"add <@{BEN}>", user=OPS)
    assert "not a date range" in await rota_cmd(world, f"away <@{ANNA}> next-week", user=OPS)
    assert "ends before it starts" in await rota_cmd(
        world, f"away <@{ANNA}> 2026-12-05..2026-12-01"
    )
    assert "not on this rota" in await rota_cmd(world, "away <@UNOBODY> 2026-12-01")
    assert "not yes or no" in await rota_cmd(world, f"set <@{ANNA}> prod=maybe")
    assert "is not a weekday and time" in await rota_cmd(world, "config start=Someday")
    assert "tz=" in await rota_cmd(world, f"set <@{ANNA}> tz=Mars/Olympus")
    await rota_cmd(world, f"set <@{ANNA}> tz=Europe/Lisbon days=Mon-Thu")
    assert "· Mon-Thu · Europe/Lisbon" in await rota_cmd(world, "show", user=OPS)
    assert "away Tue 01 Dec" in await rota_cmd(
        world, f"away <@{ANNA}> 2026-12-01..2026-12-04 dentist", user=ANNA
    )


def test_occurrences_follow_local_time_across_dst() -> None:
    # Berlin leaves summer time on 25 Oct 2026; Toronto on 1 Nov 2026.
    berlin = [
        rota.next_occurrence("Mon 17:00", "Europe/Berlin", datetime(2026, 10, d, tzinfo=UTC))
        for d in (19, 20)
    ]
    assert [t.isoformat() for t in berlin] == [
        "2026-10-19T15:00:00+00:00",
        "2026-10-26T16:00:00+00:00",
    ]
    toronto = [
        rota.next_occurrence("Wed 09:00", "America/Toronto", datetime(2026, 10, d, tzinfo=UTC))
        for d in (27, 29)
    ]
    assert [t.isoformat() for t in toronto] == [
        "2026-10-28T13:00:00+00:00",
        "2026-11-04T14:00:00+00:00",
    ]


async def test_leave_holidays_choose_plan_history_and_calendar(world: SlackWorld) -> None:
    from icalendar import Calendar

    await set_up(world)
    # Anna is away on Thursday of the coming week.
    await rota_cmd(world, f"away <@{ANNA}> 2026-11-26 dentist", user=ANNA)
    await world.advance(minutes=120)  # Monday 17:00 Berlin
    pick = channel_posts(world)[-1]
    assert f"<@{BEN}> and <@{CAROL}>" in pick.args["text"]  # Anna's leave is respected
    refused = await rota_cmd(world, f"choose <@{ANNA}> <@{BEN}>")
    assert "breaks the rota's rules" in refused and "can't work Thu 26 Nov" in refused
    refused = await rota_cmd(world, f"choose <@{BEN}> <@{DAN}>")
    assert "Neither has production access" in refused and "observes a week" in refused
    chosen = await rota_cmd(world, f"choose <@{ANNA}> <@{BEN}> fallback=<@{CAROL}>")
    assert "Chosen" in chosen
    await world.settle()
    assert "Accepted by <@UADMIN>" in world.sent("chat.update")[-1].args["text"]
    plan = await rota_cmd(world, "plan 4", user=OPS)
    assert plan.count("•") == 4 and f"<@{CAROL}>" in plan
    world.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    await world.settle()
    history = await rota_cmd(world, "history", user=OPS)
    assert "accepted by <@UADMIN>" in history
    assert "DM" in await rota_cmd(world, "calendar", user=OPS)
    await world.settle()
    link = next(c for c in world.sent("chat.postMessage") if c.args["channel"] == OPS)
    path = link.args["text"].split("localhost:", 1)[1].split()[0]
    path = path[path.index("/") :]
    async with aiohttp.ClientSession() as http:
        async with http.get(world.base_url + path) as r:
            assert r.status == 200 and r.content_type == "text/calendar"
            cal = Calendar.from_ical(await r.read())
        async with http.get(world.base_url + path.split("?")[0] + "?token=nope") as r:
            assert r.status == 401
    async with world.core.db.reading() as session:
        team_name = (await session.scalars(select(RotaTeam.name))).one()
    [event] = [c for c in cal.walk("VEVENT")]
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Berlin" and start.hour == 9 and start.weekday() == 2
    # Calendar apps show text: people by name, not Slack ids.
    assert str(event.get("summary")) == "Support: anna & ben"
    assert "Fallback: carol" in str(event.get("description"))
    async with aiohttp.ClientSession() as http:
        by_name = f"/rota/{quote(team_name)}.ics?{path.split('?', 1)[1]}"
        async with http.get(world.base_url + by_name) as r:
            assert r.status == 200 and r.content_type == "text/calendar"


async def test_swap_needs_both_and_keeps_the_rules(world: SlackWorld) -> None:
    await set_up(world)
    await world.advance(minutes=120)  # Monday pick: Anna and Ben
    pick = channel_posts(world)[-1]
    accept = next(b for b in buttons(pick) if b["text"]["text"] == "Accept")
    await world.press(accept["action_id"], accept["value"], user=ANNA, channel=SUPPORT)
    assert "is not on this rota" in await rota_cmd(world, f"swap <@{BEN}> <@UNOBODY>", user=BEN)
    assert "already on support" in await rota_cmd(world, f"swap <@{BEN}> <@{ANNA}>", user=BEN)
    reply = await rota_cmd(world, f"swap <@{ANNA}> <@{BEN}>", user=ANNA)
    assert "already on support" in reply
    posts = len(channel_posts(world))
    # Refused when asked, with the reasons, before anyone is asked to confirm.
    refusal = await rota_cmd(world, f"swap <@{ANNA}> <@{DAN}>", user=ANNA)
    assert "breaks the rota's rules" in refusal and "Neither has production access" in refusal
    await world.settle()
    assert len(channel_posts(world)) == posts
    # Ben swaps out for Carol instead: allowed, and the pick message shows it.
    reply = await rota_cmd(world, f"swap <@{BEN}> <@{CAROL}> 2026-11-25", user=BEN)
    assert "less than a week ahead" in reply
    await world.settle()
    [confirm] = buttons(channel_posts(world)[-1])
    await world.press(confirm["action_id"], confirm["value"], user=ANNA, channel=SUPPORT)
    assert "Only <@UBEN> and <@UCAROL>" in world.last_ephemeral(ANNA)
    for user in (BEN, CAROL):
        await world.press(confirm["action_id"], confirm["value"], user=user, channel=SUPPORT)
    assert any(
        f"<@{ANNA}> and <@{CAROL}>" in c.args["text"] and "Accepted" in c.args["text"]
        for c in world.sent("chat.update")
    )


async def test_choose_before_the_first_pick_creates_the_week(world: SlackWorld) -> None:
    await set_up(world)
    assert "picks Fri 10:00" in await rota_cmd(world, "config pick=Fri 10:00")
    # Monday 23 Nov, 15:00 Berlin: a new rota, nothing picked yet; no waiting for Friday.
    chosen = await rota_cmd(world, f"choose <@{ANNA}> <@{BEN}>")
    assert chosen == f"Chosen: <@{ANNA}> and <@{BEN}> for the week from Wed 25 Nov 09:00."
    await world.settle()
    [pick] = channel_posts(world)
    assert f"<@{ANNA}> and <@{BEN}>" in pick.args["text"]
    # The week starts on Wednesday as if it had been picked; the Friday pick adds the next.
    world.clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    await world.settle()
    assert f"<@{ANNA}> and <@{BEN}>" in await rota_cmd(world, "who", user=OPS)


async def test_choose_dialog_refuses_a_pair_that_breaks_the_rules(world: SlackWorld) -> None:
    await set_up(world)
    await world.advance(minutes=120)
    pick = channel_posts(world)[-1]
    choose = next(b for b in buttons(pick) if b["text"]["text"] == "Choose…")
    await world.press(choose["action_id"], choose["value"], user=BEN, channel=SUPPORT)
    [opened] = world.sent("views.open")
    view = opened.args["view"]
    assert [b["element"]["type"] for b in view["blocks"]] == ["users_select"] * 3
    assert world.sender is not None

    def values(first: str, second: str) -> dict:
        return {
            "first": {"user": {"type": "users_select", "selected_user": first}},
            "second": {"user": {"type": "users_select", "selected_user": second}},
            "fallback": {"user": {"type": "users_select", "selected_user": None}},
        }

    refused = await world.sender.view_submission(
        callback_id=view["callback_id"],
        user=BEN,
        private_metadata=view["private_metadata"],
        values=values(BEN, DAN),
    )
    assert refused.status == 200
    errors = refused.json()
    assert errors["response_action"] == "errors"
    assert "Neither has production access" in errors["errors"]["first"]
    accepted = await world.sender.view_submission(
        callback_id=view["callback_id"],
        user=BEN,
        private_metadata=view["private_metadata"],
        values=values(BEN, CAROL),
    )
    assert accepted.status == 200 and not accepted.body
    await world.settle()
    assert f"<@{BEN}> and <@{CAROL}>" in world.sent("chat.update")[-1].args["text"]
    assert "Accepted by <@UBEN>" in world.sent("chat.update")[-1].args["text"]


async def test_a_month_across_daylight_saving_in_two_zones(database_url: str) -> None:
    """Berlin leaves summer time on 25 Oct, Toronto on 1 Nov: picks and starts keep local time."""
    from bot.clock import FakeClock
    from tests.harness import ALERTS

    clock = FakeClock(datetime(2026, 10, 19, 6, 0, tzinfo=UTC))
    async with SlackWorld(database_url=database_url, clock=clock) as world:
        for user in (CAROL, DAN):
            world.slack.add_user(user, name=user.lower())
        await rota_cmd(world, "config tz=Europe/Berlin holidays=DE-SN")
        await world.command("config tz=America/Toronto", channel=ALERTS, name="/rota")
        for channel in (SUPPORT, ALERTS):
            await world.command(f"add <@{ANNA}> prod", channel=channel, name="/rota")
            await world.command(f"add <@{BEN}>", channel=channel, name="/rota")
        # Carol never works Wednesdays: she fits only a week whose Wednesday is a holiday.
        await rota_cmd(world, f"add <@{CAROL}> prod")
        await rota_cmd(world, f"set <@{CAROL}> days=Mon-Tue,Thu-Fri")
        seen: list[tuple[str, str, datetime]] = []
        end = datetime(2026, 11, 19, 0, 0, tzinfo=UTC)
        while True:
            due = await world.core.timers.next_due()
            if due is None or due > end:
                break
            world.clock.set(due)
            before = len(world.sent("chat.postMessage"))
            await world.settle()
            for call in world.sent("chat.postMessage")[before:]:
                text = call.args["text"]
                kind = (
                    "pick"
                    if "Next support week" in text
                    else "start"
                    if "New support week" in text
                    else ""
                )
                if kind and call.args["channel"] in (SUPPORT, ALERTS):
                    seen.append((call.args["channel"], kind, due))
        berlin, toronto = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Toronto")
        for channel, zone in ((SUPPORT, berlin), (ALERTS, toronto)):
            picks = [t.astimezone(zone) for c, k, t in seen if c == channel and k == "pick"]
            starts = [t.astimezone(zone) for c, k, t in seen if c == channel and k == "start"]
            assert [(p.strftime("%a %H:%M"), p.day) for p in picks] == [
                ("Mon 17:00", d) for d in (19, 26, 2, 9, 16)
            ]
            assert [(s.strftime("%a %H:%M"), s.day) for s in starts] == [
                ("Wed 09:00", d) for d in (21, 28, 4, 11, 18)
            ]
        utc_picks = [
            t.strftime("%d %H:%M")
            for c, k, t in sorted(seen, key=lambda item: item[2])
            if c == SUPPORT and k == "pick"
        ]
        assert utc_picks[:2] == ["19 15:00", "26 16:00"]  # one hour later in UTC after the change
        # 18 Nov is Buß- und Bettag in Saxony: that week has no Wednesday to cover, so Carol fits.
        weeks = await rota_cmd(world, "history")
        [week_of_18th] = [line for line in weeks.splitlines() if "Wed 18 Nov" in line]
        assert f"<@{CAROL}>" in week_of_18th
