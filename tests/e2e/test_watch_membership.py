"""`/support watch` makes sure Slack will tell Firstline about the channel: it joins a public
channel itself, and refuses (without watching) where only an invitation helps."""

from __future__ import annotations

from tests.harness import SlackWorld

PUBLIC, PRIVATE = "C0NEWPUB", "G0PRIVATE"


async def test_watch_joins_a_public_channel_it_is_not_in(world: SlackWorld) -> None:
    world.slack.add_channel(PUBLIC, name="help-desk", bot_member=False)
    text = await world.command("watch requests target=5m", channel=PUBLIC)
    assert "Watching" in text
    assert world.slack.bot_user_id in world.slack.members(PUBLIC)
    assert [c.args["channel"] for c in world.sent("conversations.join")] == [PUBLIC]
    assert world.core.channels.get(world.slack.team_id, PUBLIC) is not None


async def test_watch_in_a_private_channel_without_the_bot_asks_for_an_invite(
    world: SlackWorld,
) -> None:
    world.slack.add_channel(PRIVATE, name="vip-support", is_private=True, bot_member=False)
    text = await world.command("watch requests target=5m", channel=PRIVATE)
    assert "Not watching" in text and "/invite @Firstline" in text
    assert "Watching" not in text
    assert world.core.channels.get(world.slack.team_id, PRIVATE) is None

    world.slack.invite_bot(PRIVATE)  # /invite @Firstline; now watching works

    text = await world.command("watch requests target=5m", channel=PRIVATE)
    assert "Watching" in text


async def test_watch_where_the_bot_already_is_still_works(world: SlackWorld) -> None:
    text = await world.command("watch requests target=5m")
    assert "Watching" in text
