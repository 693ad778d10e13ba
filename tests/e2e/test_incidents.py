"""Incidents end to end: declare → roles → handoffs → timeline → nudges → resolve → export."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from bot.incidents import messaging as say
from tests.harness import ANNA, BEN, LEAD, OPS, OPS2, SUPPORT, SlackWorld


def buttons(call: Any) -> list[dict[str, Any]]:
    return [
        element
        for block in call.args.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


async def declare(world: SlackWorld) -> str:
    await world.command("watch requests target=5m")
    await world.command(f"responders <@{ANNA}> <@{BEN}>")
    text = await world.incident("declare Checkout fails for EU sev2", user=LEAD, channel=SUPPORT)
    assert "Declared *Checkout fails for EU* (SEV2)" in text
    await world.settle()
    [created] = world.sent("conversations.create")
    assert created.args["name"] == "inc-20261123-checkout-fails-for-eu"
    return str(created.response["channel"]["id"])


async def test_declare_creates_channel_invites_pins_and_announces(world: SlackWorld) -> None:
    inc = await declare(world)
    [invite] = world.sent("conversations.invite")
    assert invite.args["channel"] == inc
    assert set(invite.args["users"].split(",")) == {LEAD, ANNA, BEN}
    ticket = next(
        c for c in world.sent("chat.postMessage") if "Production support ticket" in c.args["text"]
    )
    assert ticket.args["channel"] == inc
    for heading in (
        "Original request",
        "Symptoms",
        "Scope",
        "Root cause(s)",
        "Next actions",
        "Fixes for symptoms",
        "Fixes for root cause",
        "Whys",
        "Prevention / mitigation",
    ):
        assert f"*{heading}*" in ticket.args["text"]
    [pin] = world.sent("pins.add")
    assert pin.args["timestamp"] == ticket.response["ts"]
    assert "Commander: @lead" in world.slack.topic(inc)
    announce = [c for c in world.sent("chat.postMessage") if c.args["channel"] == SUPPORT]
    assert len(announce) == 1 and f"<#{inc}>" in announce[0].args["text"]


async def test_ticket_is_edited_in_place(world: SlackWorld) -> None:
    inc = await declare(world)
    await world.incident("set symptoms Checkout returns 502 for EU cards", user=LEAD, channel=inc)
    await world.incident(f'action add "Roll back payments 4.2" <@{BEN}>', user=LEAD, channel=inc)
    await world.incident(
        'why "the new TLS config was never tested on EU gateways"', user=LEAD, channel=inc
    )
    await world.incident("action done 1", user=BEN, channel=inc)
    await world.incident("severity sev1", user=LEAD, channel=inc)
    await world.settle()
    ticket_ts = world.sent("pins.add")[0].args["timestamp"]
    edits = [c for c in world.sent("chat.update") if c.args["ts"] == ticket_ts]
    assert len(edits) == 5
    final = world.slack.messages(inc)
    text = next(m["text"] for m in final if m["ts"] == ticket_ts)
    assert "Checkout returns 502" in text and "☑ 1. Roll back payments 4.2" in text
    assert "1. the new TLS config" in text and "SEV1" in text
    assert "SEV1" in world.slack.topic(inc)


async def test_handoff_by_command_needs_the_takers_button(world: SlackWorld) -> None:
    inc = await declare(world)
    await world.incident(f"role operations <@{BEN}>", user=LEAD, channel=inc)
    await world.incident(
        "update Rolled back the payment service; watching error rates", user=LEAD, channel=inc
    )
    reply = await world.incident(
        f"handoff commander <@{ANNA}> I have to leave at 3", user=LEAD, channel=inc
    )
    assert "Asked <@UANNA>" in reply
    await world.settle()
    handoff = next(
        c for c in world.sent("chat.postMessage") if "hands *commander*" in c.args["text"]
    )
    [button] = buttons(handoff)
    assert button["text"]["text"] == "I'm taking over as commander"
    fields = str(handoff.args["blocks"])
    assert "Rolled back the payment service" in fields and "I have to leave at 3" in fields
    assert "Commander: @lead" in world.slack.topic(inc)  # nothing changed yet
    await world.press(say.CONFIRM_HANDOFF, button["value"], user=BEN, channel=inc)
    assert "Only <@UANNA>" in world.last_ephemeral(BEN)
    assert "Commander: @lead" in world.slack.topic(inc)
    await world.press(say.CONFIRM_HANDOFF, button["value"], user=ANNA, channel=inc)
    assert "Commander: @anna" in world.slack.topic(inc)
    assert any("took over as *commander*" in c.args["text"] for c in world.sent("chat.update"))
    await world.press(say.CONFIRM_HANDOFF, button["value"], user=ANNA, channel=inc)
    assert "already settled" in world.last_ephemeral(ANNA)


async def test_handoff_by_phrase_asks_the_right_person(world: SlackWorld) -> None:
    inc = await declare(world)
    await world.post(BEN, "I'm taking over as IC, Lead is in another call", channel=inc)
    await world.settle()
    prompt = world.sent("chat.postEphemeral")[-1]
    assert prompt.args["user"] == BEN and "take over as *commander*" in prompt.args["text"]
    value = next(b["value"] for b in buttons(prompt) if b["action_id"] == say.CONFIRM_HANDOFF)
    await world.press(say.CONFIRM_HANDOFF, value, user=BEN, channel=inc)
    assert "Commander: @ben" in world.slack.topic(inc)
    await world.post(BEN, f"handing comms to <@{ANNA}>", channel=inc)
    await world.settle()
    prompt = world.sent("chat.postEphemeral")[-1]
    assert prompt.args["user"] == ANNA
    await world.post(OPS2, "who is the incident commander now?", channel=inc)
    await world.settle()
    assert world.sent("chat.postEphemeral")[-1] is prompt  # a question prompts nobody


async def test_unconfirmed_handoff_tells_the_holder_after_ten_minutes(world: SlackWorld) -> None:
    inc = await declare(world)
    await world.incident(f"handoff commander <@{ANNA}>", user=LEAD, channel=inc)
    await world.advance(minutes=9)
    assert not [c for c in world.sent("chat.postMessage") if c.args["channel"] == LEAD]
    await world.advance(minutes=1)
    [told] = [
        c
        for c in world.sent("chat.postMessage")
        if c.args["channel"] == LEAD and "not confirmed" in c.args["text"]
    ]
    assert "<@UANNA>" in told.args["text"]


async def test_update_nudges_and_snooze(world: SlackWorld) -> None:
    inc = await declare(world)
    await world.incident(f"role communications <@{BEN}>", user=LEAD, channel=inc)
    await world.advance(minutes=29)
    await world.post(LEAD, "Still investigating, next update in 30", channel=inc)  # an update
    await world.advance(minutes=29)
    assert not [c for c in world.sent("chat.postMessage") if c.args["channel"] == LEAD]
    await world.advance(minutes=1)
    [nudge] = [c for c in world.sent("chat.postMessage") if c.args["channel"] == LEAD]
    assert "No update" in nudge.args["text"]
    assert [c for c in world.sent("chat.postMessage") if c.args["channel"] == BEN]  # comms too
    snooze = next(b for b in buttons(nudge) if b["text"]["text"] == "Snooze 15 min")
    await world.press(say.SNOOZE, snooze["value"], user=LEAD, channel=LEAD)
    await world.advance(minutes=14)
    assert len([c for c in world.sent("chat.postMessage") if c.args["channel"] == LEAD]) == 1
    await world.advance(minutes=1)
    assert len([c for c in world.sent("chat.postMessage") if c.args["channel"] == LEAD]) == 2


async def test_pushpin_and_note_make_the_timeline_and_resolve_exports(world: SlackWorld) -> None:
    inc = await declare(world)
    said = await world.post(ANNA, "Found it: the EU gateway rejects TLS 1.3", channel=inc)
    await world.react(BEN, "pushpin", said, channel=inc)
    await world.incident("note Rollback started", user=LEAD, channel=inc)
    await world.advance(minutes=40)
    reply = await world.incident("resolve Rolled back payments to 4.1", user=LEAD, channel=inc)
    assert "Resolved after" in reply
    await world.settle()
    finals = [
        c
        for c in world.sent("chat.postMessage")
        if "Resolved: *Checkout fails for EU*" in c.args["text"]
    ]
    assert {c.args["channel"] for c in finals} == {inc, SUPPORT}
    assert world.sent("files.completeUploadExternal")
    markdown = await world.core.incidents.export(1)
    assert "# Postmortem: Checkout fails for EU" in markdown
    assert "EU gateway rejects TLS 1.3" in markdown and "Rollback started" in markdown
    assert "Rolled back payments to 4.1" in markdown
    assert "Resolved" in world.slack.topic(inc)
    # The draft uploaded at resolve links its messages, as the export does.
    [uploaded] = [f for f in world.slack.uploaded_files() if f["name"].startswith("postmortem-")]
    posted = uploaded["content"].decode()
    assert f"https://demo.slack.com/archives/{inc}/p{said.replace('.', '')}" in posted
    # …and names people as Slack shows them, not by id.
    assert "by @lead" in posted and "| @anna |" in posted and "@ULEAD" not in posted
    cli = subprocess.run(  # noqa: ASYNC221 - the CLI, as an operator runs it
        [sys.executable, "-m", "handlers.cli", "incident", "export", "1", "--tz", "Europe/Berlin"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DATABASE_URL": world.database_url},
    )
    assert cli.stdout.startswith("# Postmortem: Checkout fails for EU")
    assert "CET by @ULEAD" in cli.stdout and "https://demo.slack.com/archives/" in cli.stdout
    # With a bot token the CLI names people too.
    named = await asyncio.to_thread(  # the emulator answers from this event loop meanwhile
        subprocess.run,
        [sys.executable, "-m", "handlers.cli", "incident", "export", "1", "--tz", "Europe/Berlin"],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "DATABASE_URL": world.database_url,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_API_URL": world.slack.base_url,
        },
    )
    assert "CET by @lead" in named.stdout
    missing = subprocess.run(  # noqa: ASYNC221
        [sys.executable, "-m", "handlers.cli", "incident", "export", "99"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": world.database_url},
    )
    assert missing.returncode == 2 and "no incident 99" in missing.stderr
    assert "Added to the timeline" in await world.incident(
        "note after the fact", user=LEAD, channel=inc
    )
    assert "resolved" in await world.incident("set scope EU", user=LEAD, channel=inc)


async def test_fire_reaction_offers_to_declare_once(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    request = await world.post(OPS, "All orders in Munich show 'payment pending'")
    await world.react(ANNA, "fire", request)
    await world.settle()
    offer = world.sent("chat.postEphemeral")[-1]
    assert offer.args["user"] == ANNA
    [button] = buttons(offer)
    await world.press(button["action_id"], button["value"], user=ANNA, channel=SUPPORT)
    assert "Declared" in world.last_ephemeral(ANNA)
    [created] = world.sent("conversations.create")
    assert created.args["name"].startswith("inc-20261123-all-orders-in-munich")
    await world.press(button["action_id"], button["value"], user=BEN, channel=SUPPORT)
    assert "already declared" in world.last_ephemeral(BEN)
    assert len(world.sent("conversations.create")) == 1
    # A second :fire: on the same request points to its incident instead of offering again.
    await world.react(BEN, "fire", request)
    await world.settle()
    again = world.sent("chat.postEphemeral")[-1]
    assert again.args["user"] == BEN and not buttons(again)
    inc = created.response["channel"]["id"]
    assert f"already has an incident: <#{inc}>" in again.args["text"]


async def test_channel_names_transliterate_letters(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    await world.incident("declare Überweisungen hängen sev2", user=LEAD, channel=SUPPORT)
    await world.settle()
    [created] = world.sent("conversations.create")
    assert created.args["name"] == "inc-20261123-uberweisungen-hangen"


async def test_bad_input_changes_nothing(world: SlackWorld) -> None:
    inc = await declare(world)
    assert "not an incident role" in await world.incident(
        f"role captain <@{ANNA}>", user=LEAD, channel=inc
    )
    assert "yourself" in await world.incident(
        f"handoff commander <@{LEAD}>", user=LEAD, channel=inc
    )
    await world.incident(f"role operations <@{BEN}>", user=LEAD, channel=inc)
    assert "already holds" in await world.incident(
        f"handoff operations <@{BEN}>", user=LEAD, channel=inc
    )
    assert "inside the incident's channel" in await world.incident(
        "set scope EU", user=LEAD, channel=SUPPORT
    )
    assert "Give the incident a title" in await world.incident(
        "declare sev1", user=LEAD, channel=SUPPORT
    )
    assert "no actions yet" in await world.incident("action done 7", user=LEAD, channel=inc)
    assert "I don't know" in await world.incident("explode", user=LEAD, channel=inc)
    listing = await world.incident("list", user=OPS, channel=SUPPORT)
    assert "Checkout fails for EU" in listing and "open" in listing


async def test_roles_are_configurable(database_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    roles = "commander=ic,incident commander;ops=operations;scribe=note taker"
    env = {"FIRSTLINE_INCIDENT_ROLES": roles}
    async with SlackWorld(database_url=database_url, clock=clock, env=env) as world:
        inc = await declare(world)
        assert "Scribe: –" in world.slack.topic(inc)
        assert "is now scribe" in await world.incident(
            f"role note taker <@{BEN}>", user=LEAD, channel=inc
        )
        rejected = await world.incident(f"role comms <@{ANNA}>", user=LEAD, channel=inc)
        assert '"comms" is not an incident role' in rejected and "scribe (note taker)" in rejected
        await world.post(ANNA, "I'll take over as note taker", channel=inc)
        await world.settle()
        assert "take over as *scribe*" in world.last_ephemeral(ANNA)
        assert "Scribe: @ben" in world.slack.topic(inc)


def test_bad_role_configuration_is_explained() -> None:
    from bot.config import Settings
    from bot.errors import ConfigurationError

    try:
        Settings.from_env({"FIRSTLINE_INCIDENT_ROLES": "ops=operations"})
    except ConfigurationError as error:
        assert "must include commander" in error.message
    else:
        raise AssertionError("accepted roles without a commander")


async def test_declared_by_command_offers_the_latest_open_request(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    await world.post(BEN, "An older question, still open")
    request = await world.post(OPS, "Payments in Munich hang at 'pending' since 10:02")
    assert world.sender is not None
    reply = await world.sender.command(
        command="/incident", text="declare Payments hang sev2", user=LEAD, channel=SUPPORT
    )
    body = reply.json()
    assert "Declared *Payments hang*" in body["text"]
    assert "latest open request here, from <@UOPS1>" in body["text"]
    [button] = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    await world.settle()
    ticket = next(
        c for c in world.sent("chat.postMessage") if "Production support ticket" in c.args["text"]
    )
    assert "no original message" in ticket.args["text"]
    await world.press(button["action_id"], button["value"], user=LEAD, channel=SUPPORT)
    assert "ticket now starts with that request" in world.last_ephemeral(LEAD)
    edited = world.sent("chat.update")[-1].args["text"]
    assert "> Payments in Munich hang at 'pending' since 10:02" in edited
    assert f"archives/{SUPPORT}/p{request.replace('.', '')}" in edited
    await world.press(button["action_id"], button["value"], user=LEAD, channel=SUPPORT)
    assert "already starts with" in world.last_ephemeral(LEAD)


async def test_declare_accepts_a_message_link(world: SlackWorld) -> None:
    await world.command("watch requests target=5m")
    request = await world.post(OPS, "Exports are empty for every merchant")
    link = f"<https://demo.slack.com/archives/{SUPPORT}/p{request.replace('.', '')}>"
    text = await world.incident(f"declare Exports empty sev3 {link}", user=LEAD, channel=SUPPORT)
    assert "Declared *Exports empty*" in text and "latest open request" not in text
    await world.settle()
    ticket = next(
        c for c in world.sent("chat.postMessage") if "Production support ticket" in c.args["text"]
    )
    assert "> Exports are empty for every merchant" in ticket.args["text"]
    # A link to a message that is not a request: the ticket links it, without a quote.
    other = f"https://demo.slack.com/archives/{SUPPORT}/p1795000000000100"
    await world.incident(f"declare Search down {other}", user=LEAD, channel=SUPPORT)
    await world.settle()
    second = next(
        c for c in world.sent("chat.postMessage") if "ticket: Search down" in c.args["text"]
    )
    assert f"archives/{SUPPORT}/p1795000000000100" in second.args["text"]
    assert "no original message" not in second.args["text"]
