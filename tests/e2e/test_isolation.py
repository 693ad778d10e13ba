"""Two workspaces on one server: A can neither see nor change B's data.

Workspace B (installed by OAuth) builds real state through its own slash commands,
buttons and events: a watched channel with an open request, a rota with an accepted
week and a pending swap, an incident with a pending handoff. Workspace A then attacks
through the same endpoint, with requests Slack would sign for A, carrying B's ids:
slash commands in B's channels, forged button payloads with B's week, swap, handoff,
incident and request ids, and the rota API and calendar with A's own team token. Each
attack is followed by the same action from B (which works), so the ids were right.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from bot.incidents import messaging as incident_say
from bot.messages import ON_IT
from bot.rota import service as rota
from handlers.slack.simulator import SlackSender
from storage.models import Handoff, Incident, Request, RotaSwap, RotaTeam, SupportWeek
from tests.e2e.installs import TA, TB, install
from tests.e2e.test_incidents import buttons
from tests.harness import ADMIN, ANNA, BEN, LEAD, OPS, SlackWorld

CA, CB = "C0ALPHA", "C0BRAVO"
CAROL = "UCAROL"
SECRET_TEXT = "Bravo's payroll export is broken"


async def cmd(sender: SlackSender, name: str, text: str, *, user: str, channel: str) -> str:
    reply = await sender.command(command=name, text=text, user=user, channel=channel)
    assert reply.status == 200, reply
    return str(reply.json()["text"])


async def press(
    world: SlackWorld, sender: SlackSender, action_id: str, value: str, *, user: str, channel: str
) -> str:
    """Press a button as ``sender``'s workspace; returns the ephemeral answer."""
    before = len(world.sent("chat.postEphemeral"))
    reply = await sender.action(
        action_id=action_id, value=value, user=user, channel=channel, message_ts="1.1"
    )
    assert reply.status == 200, reply
    await world.settle()
    answers = [c for c in world.sent("chat.postEphemeral")[before:] if c.args["user"] == user]
    return str(answers[-1].args["text"]) if answers else ""


def posted(world: SlackWorld, channel: str, fragment: str) -> Any:
    return [
        c
        for c in world.sent("chat.postMessage")
        if c.args["channel"] == channel and fragment in c.args["text"]
    ][-1]


async def rows(world: SlackWorld, model: type, **where: Any) -> list[Any]:
    async with world.core.db.reading() as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(await session.scalars(query))


async def test_workspace_a_can_neither_see_nor_change_workspace_b(tenants: SlackWorld) -> None:
    world = tenants
    world.slack.add_user(CAROL, name="carol")
    assert (await install(world, TA)).status == 200
    assert (await install(world, TB)).status == 200
    async with world.sender_for(TA) as alpha, world.sender_for(TB) as bravo:
        # --- B builds its state through its own commands, events and buttons -------------
        await cmd(bravo, "/support", "watch requests target=5m", user=ADMIN, channel=CB)
        request_ts = world.next_ts()
        event = {"type": "message", "channel": CB, "user": OPS, "text": SECRET_TEXT}
        assert (await bravo.event({**event, "ts": request_ts})).status == 200
        await cmd(bravo, "/rota", f"config tz=UTC lead=<@{LEAD}>", user=ADMIN, channel=CB)
        for who in (f"<@{ANNA}> prod", f"<@{BEN}>", f"<@{CAROL}> prod"):
            await cmd(bravo, "/rota", f"add {who}", user=ADMIN, channel=CB)
        await world.advance(minutes=180)  # Monday 17:00 UTC: B's pick
        pick = posted(world, CB, "<@UANNA> and <@UBEN>")
        accept = next(b for b in buttons(pick) if b["text"]["text"] == "Accept")
        await press(world, bravo, accept["action_id"], accept["value"], user=ANNA, channel=CB)
        await cmd(bravo, "/rota", f"swap <@{BEN}> <@{CAROL}> 2026-11-25", user=BEN, channel=CB)
        await world.settle()
        [swap_button] = buttons(posted(world, CB, "Swap proposed"))
        await cmd(bravo, "/incident", "declare Bravo checkout down sev2", user=LEAD, channel=CB)
        await world.settle()
        [incident] = await rows(world, Incident, workspace_id=TB)
        assert incident.channel_id is not None
        inc_b = incident.channel_id
        await cmd(bravo, "/incident", f"handoff commander <@{ANNA}>", user=LEAD, channel=inc_b)
        await world.settle()
        [handoff_button] = buttons(posted(world, inc_b, "hands *commander*"))
        [team_b] = await rows(world, RotaTeam, workspace_id=TB)
        [week_b] = await rows(world, SupportWeek, team_id=team_b.id)
        assert week_b.status == "accepted"
        # --- A has its own rota, so it holds a valid token of its own --------------------
        await cmd(alpha, "/support", "watch requests", user=ADMIN, channel=CA)
        await cmd(alpha, "/rota", "config tz=UTC", user=ADMIN, channel=CA)
        [team_a] = await rows(world, RotaTeam, workspace_id=TA)

        # --- A's slash commands in B's channels see nothing of B ------------------------
        status = await cmd(alpha, "/support", "status", user=ADMIN, channel=CB)
        assert "not watched" in status and SECRET_TEXT not in status
        stats = await cmd(alpha, "/support", "stats 30d", user=ADMIN, channel=CA)
        assert SECRET_TEXT not in stats
        who = await cmd(alpha, "/rota", "who", user=ANNA, channel=CB)
        assert "no rota yet" in who and "UANNA" not in who
        unwatch = await cmd(alpha, "/support", "unwatch", user=ADMIN, channel=CB)
        assert "was not watched; nothing changed" in unwatch
        resolve = await cmd(alpha, "/incident", "resolve", user=LEAD, channel=inc_b)
        assert "Bravo checkout" not in resolve
        handoff_cmd = await cmd(
            alpha, "/incident", f"role commander <@{BEN}>", user=LEAD, channel=inc_b
        )
        assert "Bravo checkout" not in handoff_cmd

        # --- A's forged buttons carry B's ids: each is refused -------------------------
        answer = await press(world, alpha, rota.HANDOFF_DONE, str(week_b.id), user=ANNA, channel=CA)
        assert "no longer exists" in answer
        answer = await press(world, alpha, rota.SWAP, swap_button["value"], user=BEN, channel=CA)
        assert "no longer exists" in answer
        answer = await press(world, alpha, rota.SWAP, swap_button["value"], user=CAROL, channel=CA)
        assert "no longer exists" in answer
        answer = await press(
            world,
            alpha,
            incident_say.CONFIRM_HANDOFF,
            handoff_button["value"],
            user=ANNA,
            channel=CA,
        )
        assert "no longer exists" in answer
        answer = await press(
            world, alpha, incident_say.SNOOZE, f"{incident.id}:30", user=LEAD, channel=CA
        )
        assert "no longer exists" in answer  # not "resolved": B's incident is not A's business
        await press(world, alpha, ON_IT, f"{CB}:{request_ts}", user=ANNA, channel=CA)

        # --- A's HTTP calls with B's team id and A's token are refused -----------------
        async with aiohttp.ClientSession() as http:
            api = f"{world.base_url}/api/rota/{team_b.id}/current"
            auth = {"Authorization": f"Bearer {team_a.api_token}"}
            async with http.get(api, headers=auth) as reply:
                assert reply.status == 401
                assert "ANNA" not in await reply.text()
            ics = f"{world.base_url}/rota/{team_b.id}.ics?token={team_a.api_token}"
            async with http.get(ics) as reply:
                assert reply.status == 401
                assert "VEVENT" not in await reply.text()
            # B's own token works: the ids were right.
            b_auth = {"Authorization": f"Bearer {team_b.api_token}"}
            async with http.get(api, headers=b_auth) as reply:
                assert reply.status == 200  # (the week starts on Wednesday: no pair yet)

        # --- nothing of B changed --------------------------------------------------------
        [request] = await rows(world, Request, workspace_id=TB)
        assert request.first_response_at is None and request.closed_at is None
        [swap] = await rows(world, RotaSwap)
        assert swap.status == "pending" and swap.out_confirmed_at is None
        assert swap.in_confirmed_at is None
        [handoff] = await rows(world, Handoff)
        assert handoff.status == "pending"
        [incident] = await rows(world, Incident, workspace_id=TB)
        assert incident.status == "open"
        [week] = await rows(world, SupportWeek, team_id=team_b.id)
        assert week.handoff_at is None and week.status == "accepted"
        [team_b_after] = await rows(world, RotaTeam, workspace_id=TB)
        assert (team_b_after.channel_id, team_b_after.lead, team_b_after.api_token) == (
            CB,
            LEAD,
            team_b.api_token,
        )
        assert len(await rows(world, Request, workspace_id=TA)) == 0
        assert world.slack.topic(inc_b).count("@lead") == 1  # still B's commander

        # --- the same buttons pressed in B do work ---------------------------------------
        answer = await press(world, bravo, rota.SWAP, swap_button["value"], user=BEN, channel=CB)
        assert "waiting for <@UCAROL>" in answer
        answer = await press(
            world,
            bravo,
            incident_say.CONFIRM_HANDOFF,
            handoff_button["value"],
            user=ANNA,
            channel=inc_b,
        )
        assert "You are now commander" in answer
        await press(world, bravo, ON_IT, f"{CB}:{request_ts}", user=ANNA, channel=CB)
        [request] = await rows(world, Request, workspace_id=TB)
        assert request.first_responder == ANNA
