"""Any event shape Slack could send (or an attacker could sign) is answered without a 5xx.

A 5xx makes Slack retry the event for hours, so a shape the core cannot handle must be
ignored, not raised. Hypothesis drives the real endpoint of one running server.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import SUPPORT, SlackWorld

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
plausible = st.sampled_from(
    [
        SUPPORT,
        "UOPS1",
        "UANNA",
        "1795442400.000100",
        "99999999999.999999",
        "0.0",
        "message",
        "bot_message",
        "message_changed",
        "message_deleted",
        "thread_broadcast",
        "file_share",
        "reaction_added",
        "white_check_mark",
        "eyes",
        "",
    ]
)
field = json_values | plausible
ids = itertools.count(1)
events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["message", "reaction_added", "reaction_removed", "app_mention", "member_joined"]
        )
    },
    optional={
        key: field
        for key in (
            "subtype",
            "channel",
            "user",
            "bot_id",
            "ts",
            "thread_ts",
            "event_ts",
            "text",
            "message",
            "previous_message",
            "deleted_ts",
            "attachments",
            "reaction",
            "item_user",
        )
    }
    | {"item": st.fixed_dictionaries({}, optional={"type": field, "channel": field, "ts": field})},
)


# Shapes close to real traffic, so the core (not only Bolt's routing) sees odd values.
valid_ts = st.integers(min_value=1_795_442_000, max_value=1_795_449_999).map(
    lambda n: f"{n}.000100"
)
messages = st.fixed_dictionaries(
    {"type": st.just("message"), "channel": st.just(SUPPORT), "ts": valid_ts},
    optional={
        "user": st.sampled_from(["UOPS1", "UANNA", "UFIRSTLINE"]) | field,
        "text": st.text(max_size=200) | field,
        "subtype": st.sampled_from(
            ["bot_message", "thread_broadcast", "message_changed", "message_deleted", "file_share"]
        )
        | field,
        "thread_ts": valid_ts | field,
        "bot_id": field,
        "message": st.fixed_dictionaries({"ts": valid_ts}, optional={"text": field, "user": field})
        | field,
        "previous_message": field,
        "deleted_ts": valid_ts | field,
        "attachments": field,
    },
)
reactions = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["reaction_added", "reaction_removed"]),
        "user": st.sampled_from(["UANNA", "UOPS1"]) | field,
        "reaction": st.sampled_from(["eyes", "white_check_mark"]) | field,
        "item": st.fixed_dictionaries(
            {"type": st.just("message"), "channel": st.just(SUPPORT), "ts": valid_ts | field}
        )
        | field,
    },
    optional={"event_ts": valid_ts | field},
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(event=messages | reactions | events)
async def test_no_event_shape_gets_a_server_error(world: SlackWorld, event: dict[str, Any]) -> None:
    if not getattr(world, "watching", False):
        await world.command("watch requests target=5m")
        world.watching = True  # type: ignore[attr-defined]
    assert world.sender is not None
    body = {
        "token": "legacy-verification-token",
        "team_id": world.team,
        "api_app_id": "AFIRSTLINE",
        "event": event,
        "type": "event_callback",
        "event_id": f"EvPROP{next(ids)}",
        "event_time": 1795442400,
    }
    reply = await world.sender.raw(json.dumps(body), headers={"Content-Type": "application/json"})
    assert reply.status < 500, (event, reply)
    await world.settle()
