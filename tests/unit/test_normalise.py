"""Slack's event shapes, odd ones included, as facts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.facts import Deleted, Edited, Posted, ts_to_datetime
from handlers.slack.normalise import normalise_message, normalise_reaction

W = "T1"


def test_plain_post_and_mentions() -> None:
    fact = normalise_message(
        {
            "type": "message",
            "channel": "C1",
            "user": "U1",
            "ts": "1517781728.000107",
            "text": "hi <@U2|bob> and <@W3>",
        },
        workspace_id=W,
    )
    assert isinstance(fact, Posted) and fact.is_human and not fact.is_reply
    assert fact.mentions == ("U2", "W3")
    assert fact.at == ts_to_datetime("1517781728.000107")
    assert fact.at.microsecond == 107


def test_thread_broadcast_and_file_share_are_posts() -> None:
    for subtype in ("thread_broadcast", "file_share"):
        fact = normalise_message(
            {
                "type": "message",
                "subtype": subtype,
                "channel": "C1",
                "user": "U1",
                "ts": "2.0",
                "thread_ts": "1.0",
            },
            workspace_id=W,
        )
        assert isinstance(fact, Posted)


def test_ignored_subtypes() -> None:
    for subtype in (
        "channel_join",
        "channel_leave",
        "channel_topic",
        "message_replied",
        "me_message",
        "pinned_item",
    ):
        assert (
            normalise_message(
                {"type": "message", "subtype": subtype, "channel": "C1", "user": "U1", "ts": "1.0"},
                workspace_id=W,
            )
            is None
        )


def test_bot_message_without_text_uses_attachment_title() -> None:
    fact = normalise_message(
        {
            "type": "message",
            "subtype": "bot_message",
            "channel": "C1",
            "bot_id": "B1",
            "ts": "1.0",
            "attachments": [{"fallback": "[repo] 1 new commit"}],
        },
        workspace_id=W,
    )
    assert isinstance(fact, Posted) and not fact.is_human and fact.text == "[repo] 1 new commit"


def test_changed_without_previous_and_deleted() -> None:
    edited = normalise_message(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "ts": "5.0",
            "message": {"ts": "1.0", "text": "new"},
        },
        workspace_id=W,
    )
    assert edited == Edited(W, "C1", "1.0", "new")
    assert (
        normalise_message(
            {"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "5.0"},
            workspace_id=W,
        )
        is None
    )
    deleted = normalise_message(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": "C1",
            "deleted_ts": "1.0",
            "ts": "6.0",
        },
        workspace_id=W,
    )
    assert deleted == Deleted(W, "C1", "1.0")


def test_reaction_on_file_is_ignored() -> None:
    assert (
        normalise_reaction(
            {
                "type": "reaction_added",
                "user": "U1",
                "reaction": "eyes",
                "item": {"type": "file", "file": "F1"},
                "event_ts": "1.0",
            },
            workspace_id=W,
            added=True,
        )
        is None
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
event_keys = st.sampled_from(
    [
        "type",
        "subtype",
        "channel",
        "user",
        "bot_id",
        "ts",
        "thread_ts",
        "text",
        "message",
        "deleted_ts",
        "attachments",
        "item",
        "reaction",
        "event_ts",
    ]
)


@given(
    st.dictionaries(
        event_keys,
        json_values
        | st.sampled_from(["1.0", "C1", "U1", "message", "bot_message", "message_changed"]),
    )
)
def test_no_event_shape_raises(event: dict) -> None:
    normalise_message(event, workspace_id=W)
    normalise_reaction(event, workspace_id=W, added=True)
