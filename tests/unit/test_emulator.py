"""The Slack emulator, driven through the real slack_sdk client as Firstline drives it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.emulator import TS_EPOCH, SlackEmulator

SUPPORT = "C0SUPPORT"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(
        team_id="T0TEST", team_name="Test Co", clock=lambda: TS_EPOCH
    ) as emulator:
        emulator.add_user("UADMIN", name="ada", is_admin=True)
        emulator.add_user("UOWNER", name="olga", is_owner=True, tz="America/New_York")
        emulator.add_user("UANNA", name="anna")
        emulator.add_user("UHELPER", name="helper", is_bot=True)
        emulator.add_channel(SUPPORT, name="support")
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.base_url, retry_handlers=[])


async def error_of(call: Awaitable[Any]) -> SlackApiError:
    """The SlackApiError the call raises."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def test_start_hands_out_a_loopback_api_url() -> None:
    emulator = SlackEmulator()
    base_url = await emulator.start()
    try:
        assert base_url == emulator.base_url
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/")
    finally:
        await emulator.stop()


async def test_auth_test(slack: SlackEmulator, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["team_id"] == "T0TEST" and response["team"] == "Test Co"
    assert response["user_id"] == "UFIRSTLINE" and response["bot_id"] == "BFIRSTLINE"
    assert response["url"] == "https://demo.slack.com/"
    [call] = slack.calls
    assert call.method == "auth.test" and call.token == "xoxb-test" and call.status == 200


async def test_post_update_and_messages(slack: SlackEmulator, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hello*"}}]
    first = await client.chat_postMessage(channel=SUPPORT, text="Hello", blocks=blocks)
    second = await client.chat_postMessage(channel=SUPPORT, text="Reply", thread_ts=first["ts"])
    assert first["channel"] == SUPPORT and first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "Hello" and first["message"]["bot_id"] == "BFIRSTLINE"

    updated = await client.chat_update(channel=SUPPORT, ts=first["ts"], text="Hello again")
    assert updated["ts"] == first["ts"] and updated["text"] == "Hello again"

    assert slack.messages(SUPPORT) == [
        {
            "ts": first["ts"],
            "text": "Hello again",
            "blocks": blocks,
            "thread_ts": None,
            "user": "UFIRSTLINE",
        },
        {
            "ts": second["ts"],
            "text": "Reply",
            "blocks": None,
            "thread_ts": first["ts"],
            "user": "UFIRSTLINE",
        },
    ]
    assert [c.method for c in slack.delivered()] == [
        "chat.postMessage",
        "chat.postMessage",
        "chat.update",
    ]
    assert slack.delivered("chat.update")[0].args["text"] == "Hello again"


async def test_timestamps_are_unique_and_increasing(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    stamps = [
        (await client.chat_postMessage(channel=SUPPORT, text=str(i)))["ts"] for i in range(30)
    ]
    assert len(set(stamps)) == 30
    assert stamps == sorted(stamps) == sorted(stamps, key=float)


async def test_update_delete_and_permalink(slack: SlackEmulator, client: AsyncWebClient) -> None:
    error = await error_of(client.chat_update(channel=SUPPORT, ts="1.000001", text="x"))
    assert error.response["error"] == "message_not_found"

    posted = await client.chat_postMessage(channel=SUPPORT, text="Bye")
    link = await client.chat_getPermalink(channel=SUPPORT, message_ts=posted["ts"])
    assert link["permalink"] == f"https://demo.slack.com/archives/{SUPPORT}/p1700000000000100"

    await client.chat_delete(channel=SUPPORT, ts=posted["ts"])
    assert slack.messages(SUPPORT) == []
    error = await error_of(client.chat_delete(channel=SUPPORT, ts=posted["ts"]))
    assert error.response["error"] == "message_not_found"


async def test_a_message_to_a_user_id_is_a_dm(slack: SlackEmulator, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="UANNA", text="Please look at this")
    again = await client.chat_postMessage(channel="UANNA", text="Still open")
    assert first["channel"].startswith("D") and again["channel"] == first["channel"]
    opened = await client.conversations_open(users="UANNA")
    assert opened["channel"]["id"] == first["channel"] and opened["already_open"] is True
    assert [m["text"] for m in slack.messages("UANNA")] == ["Please look at this", "Still open"]
    assert slack.messages(first["channel"]) == slack.messages("UANNA")

    error = await error_of(client.chat_postMessage(channel="UNOBODY", text="hi"))
    assert error.response["error"] == "channel_not_found"
    error = await error_of(client.chat_postMessage(channel="UHELPER", text="hi"))
    assert error.response["error"] == "cannot_dm_bot"


async def test_unknown_channels_are_created_on_first_post(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel="C0ELSEWHERE", text="hi")
    assert posted["channel"] == "C0ELSEWHERE"
    info = await client.conversations_info(channel="C0ELSEWHERE")
    assert info["channel"]["is_member"] is True
    error = await error_of(client.conversations_info(channel="C0NEVERSEEN"))
    assert error.response["error"] == "channel_not_found"


async def test_rate_limit_is_a_429_with_retry_after(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    slack.fail_next(2, status=429, retry_after=7)
    for _ in range(2):
        error = await error_of(client.chat_postMessage(channel=SUPPORT, text="hi"))
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "7"
        assert error.response["error"] == "ratelimited"
    await client.chat_postMessage(channel=SUPPORT, text="hi")
    assert [c.status for c in slack.calls] == [429, 429, 200]
    assert slack.calls[0].args["text"] == "hi" and slack.calls[0].token == "xoxb-test"
    assert len(slack.delivered()) == 1 and len(slack.messages(SUPPORT)) == 1


async def test_server_errors_and_outages(slack: SlackEmulator, client: AsyncWebClient) -> None:
    slack.fail_next(1, status=503, method="chat.update")
    await client.auth_test()  # another method: not affected
    posted = await client.chat_postMessage(channel=SUPPORT, text="hi")
    error = await error_of(client.chat_update(channel=SUPPORT, ts=posted["ts"], text="edit"))
    assert error.response.status_code == 503
    assert slack.calls[-1].status == 503 and not slack.calls[-1].ok

    slack.set_outage(500)
    error = await error_of(client.auth_test())
    assert error.response.status_code == 500
    slack.set_outage(None)
    assert (await client.auth_test())["ok"]
    assert [c.method for c in slack.delivered()] == ["auth.test", "chat.postMessage", "auth.test"]


async def test_users_info(slack: SlackEmulator, client: AsyncWebClient) -> None:
    admin = (await client.users_info(user="UADMIN"))["user"]
    assert admin["is_admin"] is True and admin["is_owner"] is False
    assert admin["is_primary_owner"] is False and admin["is_bot"] is False
    assert admin["profile"]["display_name"] == "ada" and admin["real_name"] == "ada"
    assert admin["tz"] == "Europe/Berlin" and admin["tz_offset"] in (3600, 7200)

    owner = (await client.users_info(user="UOWNER"))["user"]
    assert owner["is_owner"] is True and owner["is_admin"] is True  # owners are admins
    assert owner["tz_offset"] in (-18000, -14400)

    anna = (await client.users_info(user="UANNA"))["user"]
    assert not (anna["is_admin"] or anna["is_owner"] or anna["is_primary_owner"])

    error = await error_of(client.users_info(user="UNOBODY"))
    assert error.response["error"] == "user_not_found"


async def test_conversations_create(slack: SlackEmulator, client: AsyncWebClient) -> None:
    created = await client.conversations_create(name="inc-42-checkout", is_private=True)
    channel = created["channel"]
    assert channel["id"].startswith("C") and channel["name"] == "inc-42-checkout"
    assert channel["is_private"] is True and channel["is_member"] is True

    error = await error_of(client.conversations_create(name="inc-42-checkout"))
    assert error.response["error"] == "name_taken"
    error = await error_of(client.conversations_create(name="support"))
    assert error.response["error"] == "name_taken"
    for name, code in (
        ("Inc-Upper", "invalid_name_specials"),
        ("has space", "invalid_name_specials"),
        ("x" * 81, "invalid_name_maxlength"),
        ("--", "invalid_name_punctuation"),
    ):
        error = await error_of(client.conversations_create(name=name))
        assert error.response["error"] == code, name


async def test_topic_invite_join_and_pins(slack: SlackEmulator, client: AsyncWebClient) -> None:
    channel = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    await client.conversations_setTopic(channel=channel, topic="Commander: <@UANNA>")
    assert slack.topic(channel) == "Commander: <@UANNA>"

    await client.conversations_invite(channel=channel, users=["UANNA", "UADMIN"])
    assert slack.members(channel) == {"UFIRSTLINE", "UANNA", "UADMIN"}
    error = await error_of(client.conversations_invite(channel=channel, users="UFIRSTLINE"))
    assert error.response["error"] == "cant_invite_self"
    error = await error_of(client.conversations_invite(channel=channel, users="UNOBODY"))
    assert error.response["error"] == "user_not_found"

    joined = await client.conversations_join(channel=channel)
    assert joined["warning"] == "already_in_channel"

    posted = await client.chat_postMessage(channel=channel, text="Ticket")
    await client.pins_add(channel=channel, timestamp=posted["ts"])
    assert slack.pinned(channel) == [posted["ts"]]
    error = await error_of(client.pins_add(channel=channel, timestamp=posted["ts"]))
    assert error.response["error"] == "already_pinned"

    await client.reactions_add(channel=channel, timestamp=posted["ts"], name="eyes")
    assert slack.reactions(channel, posted["ts"]) == ["eyes"]
    error = await error_of(
        client.reactions_add(channel=channel, timestamp=posted["ts"], name="eyes")
    )
    assert error.response["error"] == "already_reacted"


async def test_ephemeral_usergroups_and_views(slack: SlackEmulator, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel=SUPPORT, user="UANNA", text="Only you")
    assert ephemeral["message_ts"]
    assert slack.messages(SUPPORT) == []  # ephemeral messages are not in the channel

    slack.add_usergroup("S0ONCALL", handle="oncall", name="On call")
    updated = await client.usergroups_users_update(usergroup="S0ONCALL", users=["UANNA"])
    assert updated["usergroup"]["users"] == ["UANNA"]
    assert slack.usergroup_members("S0ONCALL") == ["UANNA"]
    listed = await client.usergroups_list(include_users=True)
    assert [(g["handle"], g["users"]) for g in listed["usergroups"]] == [("oncall", ["UANNA"])]

    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    published = await client.views_publish(user_id="UANNA", view=view)
    again = await client.views_publish(user_id="UANNA", view=view)
    assert published["view"]["id"] == again["view"]["id"]
    home = slack.home_view("UANNA")
    assert home is not None and home["blocks"] == view["blocks"]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Swap"}, "blocks": []}
    opened = await client.views_open(trigger_id="123.456.abc", view=modal)
    assert opened["view"]["type"] == "modal"


async def test_files_upload_v2(slack: SlackEmulator, client: AsyncWebClient) -> None:
    uploaded = await client.files_upload_v2(
        channel=SUPPORT,
        filename="postmortem.md",
        content="# Postmortem\n",
        title="Postmortem",
        initial_comment="Resolved",
    )
    file = uploaded["file"]
    assert file["id"].startswith("F") and file["title"] == "Postmortem"
    assert slack.uploaded_files() == [
        {
            "id": file["id"],
            "name": "postmortem.md",
            "title": "Postmortem",
            "content": b"# Postmortem\n",
            "channels": [SUPPORT],
        }
    ]
    [message] = slack.messages(SUPPORT)
    assert message["text"] == "Resolved" and message["files"][0]["id"] == file["id"]
    assert [c.method for c in slack.delivered()] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


async def test_form_encoded_arguments_are_decoded(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "form"}}]
    await client.api_call(
        "chat.postMessage", data={"channel": SUPPORT, "text": "form", "blocks": json.dumps(blocks)}
    )
    [call] = slack.calls
    assert call.args == {"channel": SUPPORT, "text": "form", "blocks": blocks}
    assert slack.messages(SUPPORT)[0]["blocks"] == blocks


async def test_unknown_method_and_missing_token(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    error = await error_of(client.api_call("chat.doSomethingNew"))
    assert error.response.status_code == 200 and error.response["error"] == "unknown_method"

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{slack.base_url}auth.test", data={}) as reply,
    ):
        assert reply.status == 200
        assert await reply.json() == {"ok": False, "error": "not_authed"}
    assert slack.calls[-1].token is None and not slack.calls[-1].ok

    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{slack.base_url}auth.test",
            data="{not json",
            headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-test"},
        ) as reply,
    ):
        assert (await reply.json())["error"] == "invalid_json"


async def test_oauth_v2_access_hands_out_one_token_per_approved_install(
    slack: SlackEmulator,
) -> None:
    slack.set_app(client_id="1.2", client_secret="s3cret")
    slack.add_workspace("TOTHER", name="Other Co", url="https://other.slack.com/")
    anonymous = AsyncWebClient(base_url=slack.base_url, retry_handlers=[])
    code = slack.approve_install("TOTHER", user="UANNA")
    wrong = await error_of(
        anonymous.oauth_v2_access(client_id="1.2", client_secret="nope", code=code)
    )
    assert wrong.response["error"] == "bad_client_secret"
    granted = await anonymous.oauth_v2_access(client_id="1.2", client_secret="s3cret", code=code)
    assert granted["team"] == {"id": "TOTHER", "name": "Other Co"}
    assert granted["authed_user"] == {"id": "UANNA"} and granted["token_type"] == "bot"
    token = str(granted["access_token"])
    assert slack.token_for("TOTHER") == [token]
    reused = await error_of(
        anonymous.oauth_v2_access(client_id="1.2", client_secret="s3cret", code=code)
    )
    assert reused.response["error"] == "invalid_code"
    # The token acts in its own workspace; others act in the emulator's first one.
    other = await anonymous.auth_test(token=token)
    assert (other["team_id"], other["url"]) == ("TOTHER", "https://other.slack.com/")
    first = await AsyncWebClient(token="xoxb-any", base_url=slack.base_url).auth_test()
    assert first["team_id"] == "T0TEST"
    assert slack.calls[-2].team == "TOTHER" and slack.calls[-1].team == "T0TEST"
