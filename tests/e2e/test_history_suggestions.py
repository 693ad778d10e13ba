"""Answers from history through the signed endpoint: kept from live threads and imports,
suggested once where it is on, Helpful and Not related, forget, stats, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.history.messages import HELPFUL, UNRELATED
from handlers.slack.importer import import_paths
from storage.models import HistoryReply, HistoryThread, Request, Suggestion
from tests.harness import ANNA, BEN, LEAD, OPS, OPS2, SUPPORT, TEAM, SlackWorld

OTHER = "C0OTHER"
CARL = "UCARL"


def thread(world: SlackWorld, ts: str, channel: str = SUPPORT) -> list[Any]:
    return [
        c
        for c in world.sent("chat.postMessage")
        if c.args.get("thread_ts") == ts and c.args["channel"] == channel
    ]


def suggestions_in(world: SlackWorld, ts: str, channel: str = SUPPORT) -> list[Any]:
    return [c for c in thread(world, ts, channel) if "earlier request" in str(c.args["text"])]


def buttons(call: Any) -> dict[str, str]:
    found = {}
    for block in call.args.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["action_id"]] = element["value"]
    return found


async def ask(world: SlackWorld, user: str, text: str, **kwargs: Any) -> str:
    ts = await world.post(user, text, **kwargs)
    await world.settle()
    return ts


async def answered(world: SlackWorld, user: str, text: str, *, by: str, answer: str) -> str:
    ts = await ask(world, user, text)
    await world.post(by, answer, thread_ts=ts)
    await world.settle()
    return ts


async def request(world: SlackWorld, ts: str) -> Request:
    async with world.core.db.reading() as session:
        found = await session.scalar(select(Request).where(Request.ts == ts))
        assert found is not None
        return found


async def test_suggested_once_buttons_never_again_and_helpful_closes(world: SlackWorld) -> None:
    world.slack.add_user(CARL, name="carl", is_admin=False)
    await world.command("watch requests target=30m")
    past = await answered(
        world,
        ANNA,
        "How do I export the monthly invoices as CSV?",
        by=OPS,
        answer="Billing → Invoices → Export, then choose CSV.",
    )
    await world.post(ANNA, "thanks!", thread_ts=past)  # the requester's own reply is not kept
    await answered(
        world, BEN, "The staging deploy fails with a timeout", by=OPS2, answer="Restart the runner."
    )
    async with world.core.db.reading() as session:
        kept = (await session.scalars(select(HistoryThread).order_by(HistoryThread.id))).all()
        replies = (await session.scalars(select(HistoryReply))).all()
    assert (kept[0].ts, kept[0].answered_by, kept[0].replies) == (past, OPS, 1)
    assert {r.user for r in replies} == {OPS, OPS2}

    # Off until an admin turns it on.
    quiet = await ask(world, LEAD, "how can I export monthly invoices to csv?")
    assert suggestions_in(world, quiet) == []
    assert "Only workspace admins" in await world.command("suggest on", user=BEN)
    said = await world.command("suggest on")
    assert "Answers from history are on" in said and "2 answered requests" in said

    # A new request like the past one: suggested in its thread, once, with both buttons.
    event_id = "EvSuggestOnce"
    new = await ask(world, CARL, "How can I export the monthly invoices to CSV?", event_id=event_id)
    await world.post(CARL, "How can I export the monthly invoices to CSV?", event_id=event_id)
    await world.settle()
    [posted] = suggestions_in(world, new)
    text = str(posted.args["text"])
    assert "<@UOPS1> answered: “Billing → Invoices → Export, then choose CSV.”" in text
    assert past.replace(".", "") in json.dumps(posted.args.get("blocks"))  # the link
    ids = buttons(posted)
    assert set(ids) == {HELPFUL, UNRELATED}
    # A suggestion is not a first response: a person still owes one.
    assert (await request(world, new)).first_response_at is None

    # Not related: that thread is never suggested for this question again.
    await world.press(UNRELATED, ids[UNRELATED], user=CARL, channel=SUPPORT)
    assert "will not suggest that thread" in world.last_ephemeral(CARL)
    await world.press(HELPFUL, ids[HELPFUL], user=CARL, channel=SUPPORT)
    assert "already marked this suggestion not related" in world.last_ephemeral(CARL)
    again = await ask(world, OPS2, "How can I export the monthly invoices to CSV?")
    assert suggestions_in(world, again) == []

    # Helpful from someone else counts; Helpful from the requester closes the request.
    await world.advance(minutes=5)  # past anna's burst window: a new request, not a burst
    lead_ask = await ask(world, ANNA, "Where do I export monthly invoices (CSV)?")
    [for_anna] = suggestions_in(world, lead_ask)
    await world.press(HELPFUL, buttons(for_anna)[HELPFUL], user=ANNA, channel=SUPPORT)
    assert "your request is closed" in world.last_ephemeral(ANNA)
    closed = await request(world, lead_ask)
    assert closed.closed_by == ANNA and closed.first_response_via == "history"
    await world.advance(minutes=120)
    assert [c for c in thread(world, lead_ask) if "earlier request" not in c.args["text"]] == []

    ben_ask = await ask(world, BEN, "Exporting the monthly invoices as CSV: how?")
    [for_ben] = suggestions_in(world, ben_ask)
    await world.press(HELPFUL, buttons(for_ben)[HELPFUL], user=OPS, channel=SUPPORT)
    assert "counted as helpful. The request stays open" in world.last_ephemeral(OPS)
    assert (await request(world, ben_ask)).closed_at is None

    stats = await world.command("stats 7d")
    assert "Answers from history: 3 suggested, 2 marked helpful, 1 not related." in stats

    # A channel's history is only suggested in that channel.
    await world.command("watch requests target=30m", channel=OTHER)
    await world.command("suggest on", channel=OTHER)
    same = "How do I export the monthly invoices as CSV?"
    elsewhere = await ask(world, LEAD, same, channel=OTHER)
    assert suggestions_in(world, elsewhere, OTHER) == []

    # Forget: the thread and its replies are gone, and it is not suggested again.
    link = f"<https://demo.slack.com/archives/{SUPPORT}/p{past.replace('.', '')}>"
    assert "Forgot" in await world.command(f"suggest forget {link}")
    async with world.core.db.reading() as session:
        left = await session.scalar(select(HistoryThread).where(HistoryThread.ts == past))
        assert left is not None and left.forgotten and left.question == ""
        assert (
            await session.scalars(select(HistoryReply).where(HistoryReply.thread_id == left.id))
        ).all() == []
    after = await ask(world, CARL, "How do I export the monthly invoices as CSV, please?")
    assert suggestions_in(world, after) == []
    async with world.core.db.reading() as session:
        assert len((await session.scalars(select(Suggestion))).all()) == 3


async def test_bad_suggest_commands_say_what_to_type(world: SlackWorld) -> None:
    await world.command("watch requests")
    assert "not a score from 1 to 100" in await world.command("suggest on threshold=lots")
    assert "not a score from 1 to 100" in await world.command("suggest on threshold=0")
    assert "Say what to do with answers from history" in await world.command("suggest")
    assert '"maybe" is not a suggest action' in await world.command("suggest maybe")
    assert "is not a message link" in await world.command("suggest forget yesterday")
    other = f"https://demo.slack.com/archives/{OTHER}/p1700000000000100"
    assert "Run the command there" in await world.command(f"suggest forget {other}")
    assert "keeps no answered request" in await world.command(
        f"suggest forget https://demo.slack.com/archives/{SUPPORT}/p1700000000000100"
    )
    assert "threshold 42" not in await world.command("suggest on threshold=42")
    assert "at least 42 (of 100)" in await world.command("suggest on threshold=42")
    assert "are off" in await world.command("suggest off")


async def test_imported_threads_answer_live_requests(world: SlackWorld, tmp_path: Path) -> None:
    await world.command("watch requests target=30m")
    await world.command("suggest on")
    base = world.clock.now().timestamp() - 86400
    question, answer = f"{base:.6f}", f"{base + 60:.6f}"
    events = [
        {"type": "message", "channel": SUPPORT, "user": ANNA, "ts": question, "team": TEAM,
         "text": "Why does the nightly report email arrive empty?"},
        {"type": "message", "channel": SUPPORT, "user": OPS, "ts": answer, "team": TEAM,
         "thread_ts": question, "text": "The report filter was reset; set it to All teams."},
    ]  # fmt: skip
    history = tmp_path / "history.jsonl"
    history.write_text("\n".join(json.dumps(e) for e in events))
    await import_paths(world.core, [str(history)], workspace_id=TEAM)
    await import_paths(world.core, [str(history)], workspace_id=TEAM)  # twice: nothing more
    await world.settle()
    assert world.sent("chat.postMessage") == []  # an import says nothing
    async with world.core.db.reading() as session:
        [kept] = (await session.scalars(select(HistoryThread))).all()
        assert (kept.ts, kept.answered_by, kept.replies) == (question, OPS, 1)
    live = await ask(world, BEN, "the nightly report email arrives empty, why?")
    [posted] = suggestions_in(world, live)
    assert "set it to All teams" in str(posted.args["text"])
