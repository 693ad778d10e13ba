"""Teams activities as facts, commands and presses; Content as Teams messages and cards."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from bot.content import Button, Content
from bot.facts import Deleted, Edited, Posted
from handlers.teams.cards import Mentionable, Names, render, render_text
from handlers.teams.directory import neutral_id
from handlers.teams.emulator import refusal
from handlers.teams.normalise import CommandText, Press, normalise

TENANT = "4a7c8e21-93b0-4f5d-9c1e-7e2f0d6b3a58"
CHANNEL = "19:backend-support@thread.tacv2"
BOT = "28:firstline"
COMMANDS = ("support", "rota", "incident")


def activity(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "id": "1795442400123",
        "timestamp": "2026-11-23T14:00:00.123Z",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:1anna", "name": "Anna", "aadObjectId": "aad-anna"},
        "recipient": {"id": BOT, "name": "Firstline"},
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": f"{CHANNEL};messageid=1795442400123",
        },
        "text": "Orders are stuck",
        "channelData": {
            "channel": {"id": CHANNEL, "name": "support"},
            "team": {"id": "19:general@thread.tacv2", "name": "Backend"},
            "tenant": {"id": TENANT},
        },
    }
    body.update(overrides)
    return body


def test_a_top_level_post_is_a_request_post_at_its_own_time() -> None:
    seen = normalise(activity(), commands=COMMANDS)
    assert isinstance(seen.what, Posted)
    fact = seen.what
    assert fact.workspace_id == neutral_id("T", TENANT) and fact.workspace_id.startswith("T")
    assert fact.channel_id == neutral_id("C", CHANNEL) and len(fact.channel_id) == 13
    assert fact.ts == "1795442400123" and fact.thread_ts is None and not fact.is_reply
    assert fact.at == datetime(2026, 11, 23, 14, 0, 0, 123000, tzinfo=UTC)
    assert fact.user == neutral_id("W", "29:1anna") and fact.is_human
    assert seen.conversation is not None and seen.conversation.conversation_id == CHANNEL
    assert seen.conversation.tenant_id == TENANT and seen.conversation.name == "support"
    assert seen.key == f"teams:message:{CHANNEL}:1795442400123"


def test_a_reply_in_the_chain_is_a_thread_reply_with_mentions() -> None:
    seen = normalise(
        activity(
            id="1795442460000",
            conversation={
                "isGroup": True,
                "conversationType": "channel",
                "id": f"{CHANNEL};messageid=1795442400123",
            },
            text="<p><at>Olga Ops</at> looking &amp; fixing</p>",
            entities=[
                {
                    "type": "mention",
                    "text": "<at>Olga Ops</at>",
                    "mentioned": {"id": "29:1olga", "name": "Olga Ops"},
                },
                {"type": "clientInfo", "locale": "en-GB"},
            ],
        ),
        commands=COMMANDS,
    )
    fact = seen.what
    assert isinstance(fact, Posted) and fact.is_reply and fact.thread_ts == "1795442400123"
    olga = neutral_id("W", "29:1olga")
    assert fact.text == f"<@{olga}> looking & fixing" and fact.mentions == (olga,)
    assert {p.user_id: p.name for p in seen.people}[olga] == "Olga Ops"


def test_edits_and_deletions() -> None:
    edited = normalise(
        activity(type="messageUpdate", text="Orders are stuck in Hamburg"), commands=COMMANDS
    )
    assert isinstance(edited.what, Edited) and edited.what.text == "Orders are stuck in Hamburg"
    again = normalise(activity(type="messageUpdate", text="Orders: Hamburg"), commands=COMMANDS)
    assert again.key != edited.key  # a second edit of the same message is not a retry
    deleted = normalise(activity(type="messageDelete", text=""), commands=COMMANDS)
    assert isinstance(deleted.what, Deleted) and deleted.what.ts == "1795442400123"
    data = dict(activity()["channelData"], eventType="softDeleteMessage")
    soft = normalise(activity(type="messageUpdate", channelData=data), commands=COMMANDS)
    assert isinstance(soft.what, Deleted)


def test_a_message_starting_with_the_bots_mention_is_a_command() -> None:
    seen = normalise(
        activity(
            text="<at>Firstline</at> incident handoff commander <at>Beth Berg</at> 'after lunch'",
            entities=[
                {"type": "mention", "text": "<at>Firstline</at>", "mentioned": {"id": BOT}},
                {
                    "type": "mention",
                    "text": "<at>Beth Berg</at>",
                    "mentioned": {"id": "29:1beth", "name": "Beth Berg"},
                },
            ],
        ),
        commands=COMMANDS,
    )
    command = seen.what
    assert isinstance(command, CommandText) and command.group == "incident"
    beth = neutral_id("W", "29:1beth")
    assert command.text == f"handoff commander <@{beth}> 'after lunch'"
    # Mentioning the bot mid-sentence is an ordinary post.
    mid = normalise(
        activity(
            text="Is <at>Firstline</at> down?",
            entities=[{"type": "mention", "text": "<at>Firstline</at>", "mentioned": {"id": BOT}}],
        ),
        commands=COMMANDS,
    )
    assert isinstance(mid.what, Posted) and mid.what.text == "Is Firstline down?"


def test_card_presses_as_messages_and_invokes() -> None:
    data = {"action_id": "desk_on_it", "value": "C1:1795442400123"}
    as_message = normalise(activity(text="", value=data), commands=COMMANDS)
    assert isinstance(as_message.what, Press) and not as_message.what.invoke
    assert (as_message.what.action_id, as_message.what.value) == ("desk_on_it", "C1:1795442400123")
    as_invoke = normalise(
        activity(type="invoke", name="adaptiveCard/action", value={"action": {"data": data}}),
        commands=COMMANDS,
    )
    assert isinstance(as_invoke.what, Press) and as_invoke.what.invoke


def test_odd_shapes_are_ignored_not_fatal() -> None:
    for odd in (
        {"type": "message"},
        activity(timestamp="yesterday"),
        activity(entities="nope", channelData=[]),
        activity(type="conversationUpdate"),
        activity(**{"from": {"id": BOT}}),
    ):
        seen = normalise(odd, commands=COMMANDS)
        assert not isinstance(seen.what, Edited | Deleted)


def names() -> Names:
    people = {"WANNA": Mentionable("29:1anna", "Anna"), "WBEN": Mentionable("29:1ben", "Ben")}
    return Names(
        person=people.get,
        channel=lambda c: "support" if c == "CSUP" else None,
        message_link=lambda c, ts: f"https://teams.microsoft.com/l/message/x/{ts}",
    )


def test_markup_becomes_teams_markdown_with_mention_entities() -> None:
    text, entities = render_text(
        "*Hi* <@WANNA> and <@WBEN> and <@WGONE|gone> in <#CSUP>: "
        "<ref:CSUP:1795442400123|open it> <!subteam^S1|@oncall> <https://x.example|docs>",
        names=names(),
    )
    assert text == (
        "**Hi** <at>Anna</at> and <at>Ben</at> and @gone in #support: "
        "[open it](https://teams.microsoft.com/l/message/x/1795442400123) @oncall "
        "[docs](https://x.example)"
    )
    assert [e["mentioned"]["id"] for e in entities] == ["29:1anna", "29:1ben"]


def test_buttons_make_an_adaptive_card_with_submit_actions() -> None:
    content = Content(
        text="🚨 <@WANNA>: can you take it?",
        fields=(("Requester", "<@WBEN>"),),
        buttons=(Button("I'm on it", "desk_on_it", "CSUP:1", "primary"),),
        context="Sent 3 min late",
    )
    activity_out = render(content, names=names())
    card = activity_out["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["actions"] == [
        {
            "type": "Action.Submit",
            "title": "I'm on it",
            "data": {"action_id": "desk_on_it", "value": "CSUP:1"},
            "style": "positive",
        }
    ]
    ids = {e["mentioned"]["id"] for e in card["msteams"]["entities"]}
    assert ids == {"29:1anna", "29:1ben"}
    plain = render(Content(text="Hello <@WANNA>"), names=names())
    assert plain["text"] == "Hello <at>Anna</at>" and "attachments" not in plain


def test_a_slack_only_install_never_imports_the_teams_sdk() -> None:
    code = (
        "import sys\n"
        "from bot.config import Settings\n"
        "from handlers.server import build_server\n"
        "import handlers.cli\n"
        "build_server(Settings(slack_bot_token='xoxb-1', slack_signing_secret='s'))\n"
        "assert not [m for m in sys.modules if m.startswith(('botbuilder', 'microsoft_agents'))]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_other_apps_and_webhooks_post_as_bots() -> None:
    app = normalise(
        activity(**{"from": {"id": "28:bugsnag", "name": "Bugsnag"}}), commands=COMMANDS
    )
    assert isinstance(app.what, Posted) and not app.what.is_human
    assert app.what.bot_id == neutral_id("B", "28:bugsnag") and app.what.user is None
    hook = activity(textFormat="markdown")
    del hook["from"]
    seen = normalise(hook, commands=COMMANDS)
    assert isinstance(seen.what, Posted) and seen.what.bot_id == "B-webhook"
    assert seen.what.author == "B-webhook"


def test_a_reply_without_the_messageid_suffix_uses_reply_to_id() -> None:
    conversation = {"isGroup": True, "conversationType": "channel", "id": CHANNEL}
    seen = normalise(
        activity(id="1795442460000", conversation=conversation, replyToId="1795442400123"),
        commands=COMMANDS,
    )
    assert isinstance(seen.what, Posted) and seen.what.thread_ts == "1795442400123"


def test_every_rendered_mention_passes_the_bot_connectors_checks() -> None:
    people = {
        "WANNA": Mentionable("29:1anna", "Anna"),
        "WNONAME": Mentionable("29:1noname", ""),
    }
    named = Names(person=people.get, channel=lambda c: None, message_link=lambda c, ts: None)
    contents = [
        Content(text="<@WANNA> and <@WNONAME>, can you take it?"),
        Content(text="Handoff", context="Asked first: <@WANNA>"),
        Content(text="Pick", fields=[("Pair", "<@WANNA> and <@WNONAME>")], buttons=[]),
        Content(text="<@WANNA>", buttons=[Button("I'm on it", "desk_on_it", "x")]),
    ]
    for content in contents:
        activity = render(content, names=named)
        assert refusal(activity) is None, activity
        mentions = (
            activity.get("entities") or activity["attachments"][0]["content"]["msteams"]["entities"]
        )
        assert all(m["mentioned"]["id"] and m["mentioned"]["name"] for m in mentions)
    nameless = render(Content(text="<@WNONAME>"), names=named)
    assert nameless["entities"][0]["mentioned"] == {"id": "29:1noname", "name": "someone"}
