"""Which messages in an incident channel are handoffs (Firstline then asks for a button)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.phrases import canonical_role, detect_handoff

ME, BETH, CAL = "U0ME", "U0BETH", "U0CAL"

TRIGGER = [
    ("I'll take over as incident commander", "commander", ME, None),
    ("I'm taking over as IC", "commander", ME, None),
    ("I am taking over IC now", "commander", ME, None),
    ("taking over comms", "communications", ME, None),
    ("ok, taking over as ops", "operations", ME, None),
    ("I can take over as ops lead from here", "operations", ME, None),
    ("Let me take over as incident commander, Alex has to drop", "commander", ME, None),
    ("I'll be the incident commander for this one", "commander", ME, None),
    ("I will take over communications", "communications", ME, None),
    ("I'm taking over the IC role", "commander", ME, None),
    (f"handing commander to <@{BETH}>", "commander", BETH, ME),
    (f"Handing over IC to <@{BETH}|beth>, I need to leave", "commander", BETH, ME),
    (f"<@{BETH}> can you take over as incident commander?", "commander", BETH, ME),
    (f"<@{BETH}> please take over comms", "communications", BETH, ME),
    (f"<@{BETH}>, could you take over ops?", "operations", BETH, ME),
    (f"passing the IC role to <@{BETH}>", "commander", BETH, ME),
    (f"<@{BETH}> you're the IC now", "commander", BETH, ME),
    (f"giving operations to <@{BETH}> while I grab lunch", "operations", BETH, ME),
    (f"handing over to <@{BETH}> as incident commander", "commander", BETH, ME),
    (f"<@{BETH}> take over as commander please, I'm off at 5", "commander", BETH, ME),
    ("I'M TAKING OVER AS IC", "commander", ME, None),
]

NO_TRIGGER = [
    "who is the incident commander?",
    "I'm not taking over as IC",
    "I can't take over comms right now",
    "I won't be taking over as IC, sorry",
    "the commander handed the logs to ops",
    "I took over as IC yesterday",
    "taking over the world, one deploy at a time",
    "ops is looking at the DB",
    "can someone take over?",
    f"handing commander to <@{ME}>",
    "> I'm taking over as IC",
    "`I'm taking over as IC` is what you type to take over",
    "```\nI'm taking over as IC\n```",
    f"<@{BETH}> <@{CAL}> can one of you take over as IC?",
    "we should take over the ops dashboard from the old team",
    "the IC is Beth",
    "Is anyone taking over as comms?",
    "Rolled back to 4.2.1, error rate dropping",
    "I never take over as IC on Fridays",
    "Beth's taking over as IC",
    "",
]


@pytest.mark.parametrize(("text", "role", "taker", "giver"), TRIGGER)
def test_handoff_phrases_trigger(text: str, role: str, taker: str, giver: str | None) -> None:
    intent = detect_handoff(text, speaker=ME)
    assert intent is not None, text
    assert (intent.role, intent.taker, intent.giver) == (role, taker, giver)
    assert intent.phrase


@pytest.mark.parametrize("text", NO_TRIGGER)
def test_other_messages_do_not(text: str) -> None:
    assert detect_handoff(text, speaker=ME) is None


def test_roles_have_aliases() -> None:
    assert canonical_role("IC") == "commander"
    assert canonical_role("Comms") == "communications"
    assert canonical_role("ops lead") == "operations"
    assert canonical_role("captain") is None


def test_custom_roles() -> None:
    roles = {"scribe": ("scribe", "note taker")}
    intent = detect_handoff("I'll take over as note taker", speaker=ME, roles=roles)
    assert intent is not None and intent.role == "scribe"


@given(st.text(max_size=300))
def test_never_raises(text: str) -> None:
    detect_handoff(text, speaker=ME)
