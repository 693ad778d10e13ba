"""Facts that arrive while the desk's transaction runs are committed together, and nobody
hears back before the commit that holds their fact (issue 14's group commit)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.channels import Watch
from bot.desk import NewRequest, Outcome
from bot.facts import Posted, ts_to_datetime
from storage.models import FaqMatch, Request, Timer
from tests.harness import ALERTS, SUPPORT, TEAM, SlackWorld


async def watch_support(world: SlackWorld) -> None:
    text = await world.command("watch requests target=5m")
    assert "Watching" in text, text


def post(world: SlackWorld, user: str) -> Posted:
    ts = world.next_ts()
    return Posted(
        workspace_id=TEAM,
        channel_id=SUPPORT,
        ts=ts,
        at=ts_to_datetime(ts),
        user=user,
        text=f"Exports are stuck ({user})",
        thread_ts=None,
        bot_id=None,
        mentions=(),
    )


def hold_first(world: SlackWorld, *, fail_for: str | None = None) -> tuple[asyncio.Event, Any]:
    """A hook keeping UFIRST's transaction open until the event is set (so later facts queue
    behind it), and failing the request of ``fail_for``; returns the event and the hook."""
    release = asyncio.Event()

    async def hook(session: object, request: NewRequest, watch: Watch, now: datetime) -> None:
        if request.requester == "UFIRST":
            await release.wait()
        if request.requester == fail_for:
            raise RuntimeError("a hook failed for this request")

    world.core.desk.on_opened.append(hook)
    return release, hook


def committed_groups(world: SlackWorld) -> list[int]:
    """The sizes of the groups the desk commits from now on (a group that fails, and whose
    facts then go alone, is not counted)."""
    desk = world.core.desk
    sizes: list[int] = []
    together = desk._group._together

    async def counting(group: list[Any]) -> list[Outcome]:
        outcomes = await together(group)
        sizes.append(len(group))
        return outcomes

    desk._group._together = counting
    return sizes


async def counts(world: SlackWorld) -> tuple[int, int]:
    async with world.core.db.reading() as session:
        requests = await session.scalar(select(func.count()).select_from(Request))
        timers = await session.scalar(
            select(func.count()).select_from(Timer).where(Timer.subject.like("request:%"))
        )
    return int(requests or 0), int(timers or 0)


async def test_facts_waiting_on_a_transaction_commit_together_and_answer_after_it(
    world: SlackWorld,
) -> None:
    await watch_support(world)
    desk = world.core.desk
    release, _ = hold_first(world)
    groups = committed_groups(world)
    first = asyncio.create_task(desk.handle(post(world, "UFIRST"), event_key="slack:T1:Ev0"))
    await asyncio.sleep(0)
    others = [
        asyncio.create_task(desk.handle(post(world, f"UASK{i}"), event_key=f"slack:T1:Ev{i}"))
        for i in range(1, 9)
    ]
    # The same event delivered twice while the first delivery waits: one does the work.
    retry = asyncio.create_task(desk.handle(post(world, "UASK9"), event_key="slack:T1:Ev9"))
    again = asyncio.create_task(desk.handle(post(world, "UASK9"), event_key="slack:T1:Ev9"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not any(t.done() for t in [first, *others, retry, again])  # nothing before commit
    assert await counts(world) == (0, 0)

    release.set()
    outcomes = await asyncio.gather(first, *others, retry, again)
    assert [o.what for o in outcomes[:9]] == ["opened"] * 9
    assert sorted(o.what for o in outcomes[9:]) == ["duplicate", "opened"]
    assert len({o.request_id for o in outcomes if o.what == "opened"}) == 10
    assert groups == [10]  # the nine posts and the retry that waited went in one transaction
    assert await counts(world) == (10, 30)


async def test_one_failing_fact_fails_only_its_own_event(world: SlackWorld) -> None:
    await watch_support(world)
    desk = world.core.desk
    release, hooks = hold_first(world, fail_for="UBAD")
    first = asyncio.create_task(desk.handle(post(world, "UFIRST"), event_key="slack:T1:Ev0"))
    await asyncio.sleep(0)
    users = ["UASK1", "UBAD", "UASK2"]
    rest = [
        asyncio.create_task(desk.handle(post(world, user), event_key=f"slack:T1:Ev{user}"))
        for user in users
    ]
    for _ in range(20):
        await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert isinstance(results[0], Outcome) and results[0].what == "opened"
    assert [r.what if isinstance(r, Outcome) else type(r).__name__ for r in results[1:]] == [
        "opened",
        "RuntimeError",
        "opened",
    ]
    assert await counts(world) == (3, 9)  # the failed fact left nothing behind
    async with world.core.db.reading() as session:
        requesters = set((await session.scalars(select(Request.requester))).all())
    assert requesters == {"UFIRST", "UASK1", "UASK2"}
    # Slack retries the failed event; with the hook healthy it opens its request once.
    desk.on_opened.remove(hooks)
    again = await desk.handle(post(world, "UBAD"), event_key="slack:T1:EvUBAD")
    assert again.what == "opened"
    assert await counts(world) == (4, 12)


async def test_a_cancelled_caller_does_not_stall_the_desk(world: SlackWorld) -> None:
    await watch_support(world)
    desk = world.core.desk
    release, _ = hold_first(world)
    first = asyncio.create_task(desk.handle(post(world, "UFIRST"), event_key="slack:T1:Ev0"))
    await asyncio.sleep(0)
    gone = asyncio.create_task(desk.handle(post(world, "UGONE"), event_key="slack:T1:Ev1"))
    await asyncio.sleep(0)
    gone.cancel()  # the client went away while waiting for its turn
    release.set()
    assert (await first).what == "opened"
    later = await asyncio.wait_for(
        desk.handle(post(world, "ULATER"), event_key="slack:T1:Ev2"), timeout=30
    )
    assert later.what == "opened"


async def test_a_request_answered_in_its_own_group_keeps_no_pending_steps(
    world: SlackWorld,
) -> None:
    # Ladder steps of a group are written when the group commits; an answer later in the
    # same group must still retire them (nothing pending for an answered request).
    await watch_support(world)
    desk = world.core.desk
    release, _ = hold_first(world)
    first = asyncio.create_task(desk.handle(post(world, "UFIRST"), event_key="slack:T1:Ev0"))
    await asyncio.sleep(0)
    asked = post(world, "UASK1")
    reply = replace(post(world, "UHELPER"), thread_ts=asked.ts, text="On it, restarting the export")
    queued = [
        asyncio.create_task(desk.handle(asked, event_key="slack:T1:Ev1")),
        asyncio.create_task(desk.handle(reply, event_key="slack:T1:Ev2")),
    ]
    for _ in range(20):
        await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(first, *queued)
    assert [o.what for o in outcomes] == ["opened", "opened", "responded"]
    async with world.core.db.reading() as session:
        pending = (
            await session.scalars(
                select(Timer.subject).where(
                    Timer.fired_at.is_(None), Timer.subject.like("request:%")
                )
            )
        ).all()
        retired = (
            await session.scalars(
                select(Timer.outcome).where(Timer.subject == f"request:{outcomes[1].request_id}")
            )
        ).all()
    assert set(pending) == {f"request:{outcomes[0].request_id}"}  # only UFIRST's steps wait
    assert len(retired) == 3 and all(retired), retired


async def test_a_group_gives_each_post_the_outcome_it_gets_alone(world: SlackWorld) -> None:
    # The group reads its posts' requests with one query (bot/desk.py, _Lookahead); the
    # same posts applied one at a time in another channel must come out the same.
    await watch_support(world)
    other = ALERTS
    assert "Watching" in await world.command("watch requests target=5m", channel=other)
    rng = random.Random(11)
    users = ["UREQ1", "UREQ2", "UREQ3", "UHELP"]
    script: list[tuple[str, str, int | None]] = []  # (user, text, reply to step or None)
    for step in range(31):
        user = rng.choice(users)
        if step and rng.random() < 0.25:
            script.append((user, "On it, restarting", rng.randrange(step)))
            continue
        text = rng.choice(
            ["Exports are stuck", "thanks!", "still broken for us", "<@{who}> looking now", "👍"]
        )
        script.append((user, text.format(who=rng.choice(users)), None))

    def facts(channel: str) -> list[Posted]:
        made: list[Posted] = []
        for user, text, reply_to in script:
            ts = world.next_ts()
            made.append(
                Posted(
                    workspace_id=TEAM,
                    channel_id=channel,
                    ts=ts,
                    at=ts_to_datetime(ts),
                    user=user,
                    text=text,
                    thread_ts=made[reply_to].ts if reply_to is not None else None,
                    bot_id=None,
                    mentions=tuple(u for u in users if f"<@{u}>" in text),
                )
            )
        return made

    desk = world.core.desk
    committed = committed_groups(world)
    release, _ = hold_first(world)
    first = asyncio.create_task(desk.handle(post(world, "UFIRST"), event_key="slack:T1:Ev0"))
    await asyncio.sleep(0)
    grouped = [
        asyncio.create_task(desk.handle(fact, event_key=f"slack:T1:EvG{i}"))
        for i, fact in enumerate(facts(SUPPORT))
    ]
    for _ in range(20):
        await asyncio.sleep(0)
    release.set()
    grouped_outcomes = [o.what for o in await asyncio.gather(first, *grouped)][1:]
    alone = [
        (await desk.handle(fact, event_key=f"slack:T1:EvA{i}")).what
        for i, fact in enumerate(facts(other))
    ]
    assert committed == [31]  # the script went in as one group (no fallback to alone)
    assert grouped_outcomes == alone
    assert {"opened", "follow_up", "responded"} <= set(alone), alone  # the script is varied


async def test_a_group_with_common_answers_and_history_on_commits_every_match(
    world: SlackWorld,
) -> None:
    # With the FAQ and answers from history on, each new request gets rows that refer to
    # it (FAQ matches) while the group's ladder steps wait to be written together: the
    # group must still commit as one, with every row.
    await watch_support(world)
    await world.command('faq add "Exports are stuck" "Restart the export worker"')
    await world.command("faq on")
    await world.command("suggest on")
    desk = world.core.desk
    committed = committed_groups(world)
    release, _ = hold_first(world)
    first = asyncio.create_task(desk.handle(post(world, "UFIRST"), event_key="slack:T1:Ev0"))
    await asyncio.sleep(0)
    queued = [
        asyncio.create_task(desk.handle(post(world, f"UASK{i}"), event_key=f"slack:T1:Ev{i}"))
        for i in range(1, 6)
    ]
    for _ in range(20):
        await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(first, *queued)
    assert [o.what for o in outcomes] == ["opened"] * 6
    assert committed == [5]  # one transaction, not five after a failed group
    async with world.core.db.reading() as session:
        matched = (await session.scalars(select(FaqMatch.request_id))).all()
        opened = (await session.scalars(select(Request.id))).all()
    assert sorted(matched) == sorted(o.request_id or 0 for o in outcomes) == sorted(opened)
    assert await counts(world) == (6, 18)
