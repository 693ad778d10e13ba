"""Triage through the signed endpoint (message shortcut, modal, reply templates, stats by
category) and the common requests (FAQ matches above and below the threshold, the prompt
after three similar unmatched requests)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.matching import DEFAULT_THRESHOLD, similarity
from bot.tables import format_by_category
from bot.triage.service import figures_by_category
from handlers.slack.app import TRIAGE
from storage.models import FaqSettings
from tests.e2e.test_demo_and_cli import run_cli
from tests.harness import ANNA, BEN, LEAD, OPS, OPS2, SUPPORT, SlackWorld


async def ask(world: SlackWorld, user: str, text: str) -> str:
    ts = await world.post(user, text)
    await world.settle()
    return ts


def thread(world: SlackWorld, ts: str) -> list[str]:
    return [
        str(c.args["text"])
        for c in world.sent("chat.postMessage")
        if c.args.get("thread_ts") == ts and c.args["channel"] == SUPPORT
    ]


async def shortcut(world: SlackWorld, ts: str, *, user: str = OPS, text: str = "") -> None:
    assert world.sender is not None
    reply = await world.sender.shortcut(
        callback_id=TRIAGE,
        user=user,
        channel=SUPPORT,
        message={"ts": ts, "text": text, "user": ANNA},
    )
    assert reply.status == 200, reply
    await world.settle()


async def submit(world: SlackWorld, view: dict[str, Any], category: str | None, user: str = OPS):
    assert world.sender is not None
    values: dict[str, Any] = {"category": {"category": {"type": "static_select"}}}
    if category:
        values["category"]["category"]["selected_option"] = {"value": category}
    reply = await world.sender.view_submission(
        callback_id=view["callback_id"],
        user=user,
        private_metadata=view["private_metadata"],
        values=values,
    )
    assert reply.status == 200, reply
    await world.settle()
    return reply


async def test_triage_shortcut_modal_and_reply_templates(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    question = await ask(world, ANNA, "How do I export the monthly invoices?")
    await shortcut(world, question, text="How do I export the monthly invoices?")
    [opened] = world.sent("views.open")
    assert opened.ok and opened.args["trigger_id"].endswith(".trigger")
    view = opened.args["view"]
    assert view["callback_id"] == TRIAGE and view["private_metadata"] == f"{SUPPORT}:{question}"
    select = view["blocks"][1]["element"]
    labels = [o["text"]["text"] for o in select["options"]]
    assert labels == [
        "Bug",
        "Error",
        "Quick question",
        "Training gap",
        "Documented",
        "Not ours",
        "Self-serve data",
        "Admin panel",
        "Manual data change",
    ]
    assert "initial_option" not in select
    # Submitting without a choice is refused inside the modal.
    refused = await submit(world, view, None)
    assert json.loads(refused.body)["errors"] == {"category": "Choose a category."}
    await submit(world, view, "documented")
    [reply] = thread(world, question)
    assert reply.startswith("📖 <@UANNA>, this is answered in the documentation")
    assert "Triaged as *Documented* and posted its reply" in world.last_ephemeral(OPS)
    # The same category again posts nothing more; the modal now shows the current one.
    await submit(world, view, "documented")
    assert len(thread(world, question)) == 1
    assert "Already triaged" in world.last_ephemeral(OPS)
    await shortcut(world, question)
    again = world.sent("views.open")[-1].args["view"]
    assert again["blocks"][1]["element"]["initial_option"]["value"] == "documented"

    # A channel's own template, and one switched off.
    said = await world.command(
        'template admin panel "{requester}: Admin → Users → Reset, https://admin.example/users"',
        user=BEN,
    )
    assert "*Admin panel* reply set" in said
    assert "posts nothing" in await world.command("template quick question off")
    reset = await ask(world, BEN, "Please reset the password of driver 4711")
    await shortcut(world, reset)
    await submit(world, world.sent("views.open")[-1].args["view"], "admin_panel")
    assert thread(world, reset) == ["<@UBEN>: Admin → Users → Reset, https://admin.example/users"]
    quick = await ask(world, LEAD, "Is the API up?")
    await shortcut(world, quick)
    await submit(world, world.sent("views.open")[-1].args["view"], "quick_question")
    assert thread(world, quick) == []
    assert "Triaged as *Quick question*." in world.last_ephemeral(OPS)
    listing = await world.command("template")
    assert "https://admin.example/users" in listing and "nothing is posted" in listing
    assert "uses the default reply again" in await world.command("template quick-question default")
    bad = await world.command('template feature "x"')
    assert '"feature" is not a category' in bad and "manual_data_change" in bad

    # A message Firstline does not track gets an ephemeral explanation, no modal.
    opened_before = len(world.sent("views.open"))
    await shortcut(world, "1700000000.000001")
    assert len(world.sent("views.open")) == opened_before
    assert "Triage works on requests Firstline tracks" in world.last_ephemeral(OPS)

    # Stats by category, in Slack and for the CLI.
    await ask(world, OPS2, "Second question nobody triaged")
    stats = await world.command("stats 7d")
    assert "By category: Quick question 1 · Documented 1 · Admin panel 1 · Untriaged 1" in stats
    figures = await figures_by_category(world.core.db, now=world.clock.now(), channel_id=SUPPORT)
    assert {k: v.requests for k, v in figures.items()} == {
        "quick_question": 1,
        "documented": 1,
        "admin_panel": 1,
        "untriaged": 1,
    }
    table = format_by_category(figures, "csv").splitlines()
    assert table[0].startswith("category,requests,responded")
    assert table[1].startswith("quick_question,1,")
    assert (
        json.loads(format_by_category(figures, "json"))["categories"]["documented"]["requests"] == 1
    )
    if world.database_url.startswith("sqlite"):
        db = Path(world.database_url.split("///", 1)[1])
        done = await asyncio.to_thread(
            run_cli, "stats", "--by", "category", "--channel", SUPPORT, "--format", "csv", db=db
        )
        assert done.returncode == 0, done.stderr
        counts = {r["category"]: r["requests"] for r in csv.DictReader(io.StringIO(done.stdout))}
        assert counts == {
            "quick_question": "1",
            "documented": "1",
            "admin_panel": "1",
            "untriaged": "1",
        }


RESET_Q = "How do I reset a user's password?"
RESET_A = "Settings → Users → Reset password; the user gets an e-mail."


async def test_faq_matches_above_threshold_only(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    added = await world.command(f'faq add "{RESET_Q}" "{RESET_A}"', user=BEN)
    assert "Added common request #1" in added and "/support faq on" in added
    assert "Only workspace admins" in await world.command("faq on", user=BEN)
    assert "at least 85% similar" in await world.command("faq on")
    close = "how can I reset the password for a user"
    far = "The CSV export of orders fails with error 500"
    assert similarity(close, RESET_Q) >= DEFAULT_THRESHOLD > similarity(far, RESET_Q)
    matched = await ask(world, ANNA, close)
    [suggested] = thread(world, matched)
    assert "FAQ #1" in suggested and RESET_A in suggested
    unmatched = await ask(world, ANNA, far)
    assert thread(world, unmatched) == []
    listing = await world.command("faq list")
    assert "1. “How do I reset a user's password?”" in listing and "seen 1×" in listing
    # Raised above this request's score, the same wording no longer matches.
    score = similarity(close, RESET_Q)
    assert "at least 95%" in await world.command("faq on threshold=95")
    assert score < 95
    again = await ask(world, BEN, close)
    assert thread(world, again) == []
    assert "not a number from 50 to 100" in await world.command("faq on threshold=40")
    # Off: nothing is suggested, even for the question itself.
    await world.command("faq on threshold=85")
    assert "off" in await world.command("faq off")
    silent = await ask(world, LEAD, RESET_Q)
    assert thread(world, silent) == []
    assert "Removed common request #1" in await world.command("faq remove 1", user=ANNA)
    assert "no common request #1" in await world.command("faq remove 1")
    assert "No common requests" in await world.command("faq list")
    assert "Give the question and the answer" in await world.command('faq add "only a question"')


async def test_three_similar_unmatched_requests_prompt_once(world: SlackWorld) -> None:
    bad = await world.command("watch requests faq=maybe")
    assert 'faq: "maybe" is not on or off' in bad
    watched = await world.command("watch requests target=5m faq=on")
    assert "Watching" in watched and "Suggested answers are on" in watched
    asks = [
        (ANNA, "Where do I find the invoice export?"),
        (BEN, "where is the invoice export"),
        (LEAD, "Where can I find the invoice export, please?"),
        (ANNA, "where do I find the invoice export again"),
    ]

    def prompts() -> list[str]:
        return [
            str(c.args["text"])
            for c in world.sent("chat.postMessage")
            if c.args["channel"] == SUPPORT and "match no common request" in c.args["text"]
        ]

    await ask(world, *asks[0])
    await world.advance(minutes=60 * 24 * 3)
    await ask(world, OPS, "Unrelated: the scanner app crashes on login")
    await ask(world, *asks[1])
    assert prompts() == []
    await world.advance(minutes=60 * 24 * 10)
    await ask(world, *asks[2])
    [prompt] = prompts()
    assert prompt.startswith("🔁 3 similar requests in <#C0SUPPORT> within 30 days")
    assert '/support faq add "question" "answer"' in prompt
    await ask(world, *asks[3])
    assert len(prompts()) == 1  # once per group of similar requests
    # Requests older than 30 days do not count towards a new group.
    await world.advance(minutes=60 * 24 * 40)
    await ask(world, BEN, "Where is the invoice export?")
    await ask(world, LEAD, "where do I find the invoice export")
    assert len(prompts()) == 1
    # Without a rota there is no pair to DM: the channel hears it instead.
    assert not [c for c in world.sent("chat.postMessage") if c.args["channel"].startswith("U")]


async def test_the_pair_on_support_is_asked_by_dm(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    await world.command("faq on")
    await world.command("config", name="/rota")
    for person in (OPS, OPS2):
        await world.command(f"add <@{person}> prod", name="/rota")
    # Monday's pick, then Wednesday's start: OPS and OPS2 are on support.
    await world.advance(minutes=3 * 60)
    world.clock.set(world.clock.now() + timedelta(days=2))
    await world.settle()
    assert "<@UOPS1> and <@UOPS2>" in await world.command("who", name="/rota")
    for user, text in (
        (ANNA, "Can you add a new depot to the list?"),
        (BEN, "please add a new depot to the depot list"),
        (LEAD, "Could someone add a new depot to the list"),
    ):
        await ask(world, user, text)
    prompted = sorted(
        c.args["channel"]
        for c in world.sent("chat.postMessage")
        if "match no common request" in c.args["text"]
    )
    assert prompted == [OPS, OPS2]


async def test_another_replicas_faq_switch_arrives_within_seconds(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    await world.command(f'faq add "{RESET_Q}" "{RESET_A}"')
    first = await ask(world, ANNA, RESET_Q)  # loads the (empty) list of enabled channels
    assert thread(world, first) == []
    # Another replica turns suggestions on: this one notices within ten seconds.
    async with world.core.db.transaction() as session:
        session.add(
            FaqSettings(
                workspace_id=world.team,
                channel_id=SUPPORT,
                enabled=True,
                threshold=85,
                updated_at=world.clock.now(),
            )
        )
    await world.advance(seconds=11)
    second = await ask(world, BEN, RESET_Q)
    assert RESET_A in thread(world, second)[0]
