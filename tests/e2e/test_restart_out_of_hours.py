"""A restart out of hours never escalates at once.

Hours Mon-Fri 10:00-18:00 Berlin with German public holidays, target 5 min. A request at
17:50; the server stops a minute later, so the nudge (17:53), the thread message (17:55)
and the second line (18:00) fall due while nothing runs. It starts again out of hours (a
Saturday, Christmas Day, before Tuesday's opening): nothing is sent until the channel
next opens, then each overdue step fires once and says it is late (the nudge DMs too).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.test_desk_flow import dms, thread_posts, watch_support
from tests.harness import ANNA, BEN, LEAD, OPS, SlackWorld

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


async def advance_to(world: SlackWorld, when: datetime) -> None:
    await world.advance(seconds=(when - world.clock.now()).total_seconds())


@pytest.mark.parametrize(
    ("asked", "back", "opening"),
    [
        ("2026-11-27 17:50", "2026-11-28 11:00", "2026-11-30 10:00"),  # Friday → Saturday
        ("2026-12-24 17:50", "2026-12-25 11:00", "2026-12-28 10:00"),  # → Christmas Day
        ("2026-11-30 17:50", "2026-12-01 08:00", "2026-12-01 10:00"),  # → before opening
    ],
    ids=["saturday", "public-holiday", "before-opening"],
)
async def test_steps_overdue_across_a_restart_wait_for_the_next_opening(
    world: SlackWorld, asked: str, back: str, opening: str
) -> None:
    world.clock.set(berlin(asked))
    await watch_support(world, 'hours="Mon-Fri 10:00-18:00" tz=Europe/Berlin holidays=DE')
    request = await world.post(OPS, "Invoices fail to export")
    await world.advance(minutes=1)
    await world.stop_server()
    world.clock.set(berlin(back))
    await world.start_server()
    await world.settle()
    assert dms(world, ANNA) == [] and thread_posts(world, request) == []

    await advance_to(world, berlin(opening.replace("10:00", "09:59")))
    assert dms(world, ANNA) == [] and thread_posts(world, request) == []

    await advance_to(world, berlin(opening.replace("10:00", "10:01")))
    for person in (ANNA, BEN):
        [nudge] = dms(world, person)
        assert "late" in nudge["text"], nudge["text"]
    [breach] = thread_posts(world, request)
    assert "late" in breach["text"], breach["text"]
    # The second line fell due at closing (twice the 5 min target) and comes along too.
    [edit] = world.sent("chat.update")
    assert "late" in edit.args["text"], edit.args["text"]
    told_lead = len(dms(world, LEAD))
    assert told_lead >= 1
    await world.advance(minutes=60)
    assert len(dms(world, LEAD)) == told_lead
    assert len(dms(world, ANNA)) == 1 and len(dms(world, BEN)) == 1
    assert len(thread_posts(world, request)) == 1 and len(world.sent("chat.update")) == 1
