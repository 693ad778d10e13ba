"""Many workspaces: Slack's OAuth install through the real endpoint, against the emulator.

Each workspace is installed through /slack/install → Slack's consent (the emulator's
``approve_install``) → /slack/oauth_redirect; afterwards events from each workspace are
processed with that workspace's token and the deliverer sends with it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from storage.models import (
    OutboxMessage,
    SlackBot,
    SlackInstallation,
    SlackOAuthState,
    Workspace,
)
from tests.e2e.installs import CLIENT_ID, CLIENT_SECRET, TA, TB, get, install, start_install
from tests.harness import ADMIN, OPS, SUPPORT, SlackWorld


async def test_install_stores_each_workspace_and_sends_with_its_own_token(
    tenants: SlackWorld,
) -> None:
    world = tenants
    page = await install(world, TA)
    assert page.status == 200, page.text
    assert "Firstline is installed" in page.text
    assert "Alpha &amp; Co &lt;script&gt;" in page.text  # the name is escaped
    assert (await install(world, TB)).status == 200
    [token_a], [token_b] = world.slack.token_for(TA), world.slack.token_for(TB)

    async with world.core.db.reading() as session:
        bots = {b.team_id: b.bot_token for b in await session.scalars(select(SlackBot))}
        installs = list(await session.scalars(select(SlackInstallation)))
        workspaces = {w.id: w for w in await session.scalars(select(Workspace))}
        states = list(await session.scalars(select(SlackOAuthState)))
    assert bots == {TA: token_a, TB: token_b}
    assert {i.team_id for i in installs} == {TA, TB}
    assert all(i.user_id == ADMIN for i in installs)
    assert workspaces[TA].url == "https://alpha.slack.com/"
    assert workspaces[TA].bot_user_id == f"UBOT{TA}"
    assert states == []  # both states were consumed

    async with world.sender_for(TA) as alpha, world.sender_for(TB) as bravo:
        for sender, channel in ((alpha, "C0ALPHA"), (bravo, "C0BRAVO")):
            reply = await sender.command(
                command="/support", text="watch requests target=5m", user=ADMIN, channel=channel
            )
            assert reply.status == 200 and "Watching" in reply.json()["text"], reply
        ts = world.next_ts()
        reply = await alpha.event(
            {"type": "message", "channel": "C0ALPHA", "user": OPS, "text": "help", "ts": ts}
        )
        assert reply.status == 200
        ts_b = world.next_ts()
        reply = await bravo.event(
            {"type": "message", "channel": "C0BRAVO", "user": OPS, "text": "help", "ts": ts_b}
        )
        assert reply.status == 200
    await world.advance(minutes=6)  # both breach: the bot posts in each channel

    posts = [c for c in world.sent() if c.args.get("channel") in ("C0ALPHA", "C0BRAVO")]
    assert {c.args["channel"] for c in posts} == {"C0ALPHA", "C0BRAVO"}
    for call in posts:
        expected = token_a if call.args["channel"] == "C0ALPHA" else token_b
        assert call.token == expected, (call.method, call.args["channel"])
    # The answers to slash commands and the events were authorised with each workspace's
    # token too (Bolt's authorize calls auth.test with the token it found).
    auth_tokens = {c.token for c in world.sent("auth.test")}
    assert {token_a, token_b} <= auth_tokens


async def test_switching_from_one_workspace_keeps_serving_it_without_a_reinstall(
    database_url: str, clock: FakeClock
) -> None:
    env = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-test-token",  # the old single-workspace token
    }
    async with SlackWorld(database_url=database_url, clock=clock, env=env, bot_token=None) as world:
        world.slack.set_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        world.slack.add_workspace(TA, name="Alpha")
        await world.command("watch requests target=5m")
        await world.post(OPS, "help")
        await world.advance(minutes=6)
        [breach] = [c for c in world.sent("chat.postMessage") if c.args["channel"] == SUPPORT]
        assert breach.token == "xoxb-test-token"
        assert (await install(world, TA)).status == 200  # and others can install
        await world.restart()  # adopting again does not duplicate the workspace
        async with world.core.db.reading() as session:
            bots = sorted(str(b.team_id) for b in await session.scalars(select(SlackBot)))
        assert bots == sorted([TA, world.team])


async def test_a_workspace_that_never_installed_gets_a_clear_answer(tenants: SlackWorld) -> None:
    hooks = tenants.slack.hooks_url()
    async with tenants.sender_for("TNEVER") as stranger:
        reply = await stranger.command(
            command="/support", text="status", user=OPS, channel="C1", response_url=hooks
        )
        assert reply.status == 200
        event = {"type": "message", "channel": "C1", "user": OPS, "text": "hi", "ts": "1.000001"}
        assert (await stranger.event(event)).status == 200  # acknowledged, nothing stored
    [answer] = tenants.slack.responses
    assert "not installed in this workspace" in answer["text"]
    assert answer.get("response_type", "ephemeral") == "ephemeral"


async def test_uninstall_forgets_the_token_and_pending_messages_fail_clearly(
    tenants: SlackWorld,
) -> None:
    world = tenants
    assert (await install(world, TA)).status == 200
    assert (await install(world, TB)).status == 200
    hooks = world.slack.hooks_url()
    async with world.sender_for(TA) as alpha, world.sender_for(TB) as bravo:
        for sender, channel in ((alpha, "C0ALPHA"), (bravo, "C0BRAVO")):
            await sender.command(
                command="/support", text="watch requests target=5m", user=ADMIN, channel=channel
            )
            ts = world.next_ts()
            event = {"type": "message", "channel": channel, "user": OPS, "text": "help", "ts": ts}
            assert (await sender.event(event)).status == 200
        # Alpha uninstalls: Slack sends app_uninstalled (its token is already dead).
        gone = await alpha.event({"type": "app_uninstalled", "event_ts": world.next_ts()})
        assert gone.status == 200
        await world.advance(minutes=6)  # both requests breach
        reply = await alpha.command(
            command="/support", text="status", user=ADMIN, channel="C0ALPHA", response_url=hooks
        )
        assert reply.status == 200
    async with world.core.db.reading() as session:
        assert {b.team_id for b in await session.scalars(select(SlackBot))} == {TB}
        assert {i.team_id for i in await session.scalars(select(SlackInstallation))} == {TB}
        failed = [
            row
            for row in await session.scalars(select(OutboxMessage))
            if row.workspace_id == TA and row.failed
        ]
    assert failed and all(
        "not installed in workspace TALPHA" in (r.last_error or "") for r in failed
    )
    assert [c.args["channel"] for c in world.sent("chat.postMessage")] == ["C0BRAVO"]
    assert "not installed in this workspace" in world.slack.responses[-1]["text"]


async def test_revoked_bot_token_is_forgotten(tenants: SlackWorld) -> None:
    world = tenants
    assert (await install(world, TA)).status == 200
    async with world.sender_for(TA) as alpha:
        revoked = {"type": "tokens_revoked", "tokens": {"bot": [f"UBOT{TA}"]}}
        assert (await alpha.event(revoked)).status == 200
    async with world.core.db.reading() as session:
        assert list(await session.scalars(select(SlackBot))) == []


@pytest.mark.parametrize(
    ("query", "with_cookie", "status", "says"),
    [
        ("code={code}&state=forged-state", True, 400, "expired or was already used"),
        ("code={code}&state={state}", False, 400, "started in another browser"),
        ("error=access_denied&state={state}", True, 400, "The install was cancelled"),
        ("code=not-a-code&state={state}", True, 400, "Slack did not confirm the install"),
        ("state={state}", True, 400, "Slack did not confirm the install"),
    ],
)
async def test_bad_redirects_get_a_clear_page_and_install_nothing(
    tenants: SlackWorld, query: str, with_cookie: bool, status: int, says: str
) -> None:
    world = tenants
    state, cookie = await start_install(world)
    code = world.slack.approve_install(TA)
    forged_cookie = "slack-app-oauth-state=forged-state" if "forged" in query else cookie
    page = await get(
        world,
        "/slack/oauth_redirect?" + query.format(code=code, state=state),
        cookie=forged_cookie if with_cookie else None,
    )
    assert page.status == status, page
    assert says in page.text
    assert 'href="/slack/install"' in page.text  # says how to start again
    async with world.core.db.reading() as session:
        assert list(await session.scalars(select(SlackBot))) == []


async def test_an_expired_or_reused_state_is_refused(tenants: SlackWorld) -> None:
    world = tenants
    state, cookie = await start_install(world)
    world.clock.advance(minutes=11)  # install links last 10 minutes
    code = world.slack.approve_install(TA)
    page = await get(world, f"/slack/oauth_redirect?code={code}&state={state}", cookie=cookie)
    assert page.status == 400 and "expired or was already used" in page.text

    state, cookie = await start_install(world)
    code = world.slack.approve_install(TA)
    first = await get(world, f"/slack/oauth_redirect?code={code}&state={state}", cookie=cookie)
    assert first.status == 200
    again = await get(world, f"/slack/oauth_redirect?code={code}&state={state}", cookie=cookie)
    assert again.status == 400 and "expired or was already used" in again.text


async def test_single_workspace_mode_has_no_install_pages(world: SlackWorld) -> None:
    assert (await get(world, "/slack/install")).status == 404
    assert (await get(world, "/slack/oauth_redirect?code=x&state=y")).status == 404
