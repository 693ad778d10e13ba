"""What Firstline says about time off in lieu."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.content import Button, Content, message_ref

WOKE = "toil_woke"

POLICIES = {
    "a": "policy a: 0.25 day per call-out handled awake, 0.5 day if it woke you, 0.25 day per "
    "hour beyond the first; alerts within an hour of the first count once",
    "b": "policy b: 0.125 hour per hour of standby outside the 7.5-hour day, 3 hours per hour "
    "of active work",
    "off": "time off in lieu is not recorded",
}


def out_of_hours_dm(
    *, entry_id: int, channel_id: str, ts: str, handled_at: datetime, tz: str, kind: str
) -> Content:
    local = handled_at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")
    noun = "an alert" if kind == "alerts" else "a request"
    return Content(
        text=(
            f"🌙 You handled {noun} in <#{channel_id}> out of hours ({local}, {tz}): "
            f"{message_ref(channel_id, ts, 'open it')}. It is recorded as time off in lieu "
            "(0.25 day). If it woke you, press the button: a call-out that woke you counts "
            "0.5 day. Close it with ✅ when you are done so the time you worked counts too."
        ),
        buttons=(Button("It woke me", WOKE, value=str(entry_id), style="primary"),),
    )


def policy_set(*, team: str, policy: str) -> str:
    return f"Time off in lieu for *{team}*: {POLICIES[policy]}."
