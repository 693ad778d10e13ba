"""Which messages in an incident channel are role handoffs (Firstline then asks for a button)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.incidents.phrases import DEFAULT_ROLES, HandoffIntent, canonical_role, detect_handoff

ME, BETH, CAL, ALEX = "U0ME", "U0BETH", "U0CAL", "U0ALEX"
IC, OPS, COMMS = "commander", "operations", "communications"

# (message said by ME, role, taker, giver)
TRIGGER: list[tuple[str, str, str, str | None]] = [
    # The speaker takes the role.
    ("I'll take over as incident commander", IC, ME, None),
    ("I'm taking over as IC", IC, ME, None),
    ("I am taking over IC now", IC, ME, None),
    ("taking over comms", COMMS, ME, None),
    ("I can take over as ops lead from here", OPS, ME, None),
    ("I'll be the incident commander", IC, ME, None),
    ("I'll be the incident commander for this one", IC, ME, None),
    ("ok, taking over as ops", OPS, ME, None),
    ("Let me take over as incident commander, Alex has to drop", IC, ME, None),
    ("I will take over communications", COMMS, ME, None),
    ("I'm taking over the IC role", IC, ME, None),
    ("I'M TAKING OVER AS IC", IC, ME, None),
    ("I’m taking over as IC", IC, ME, None),  # curly apostrophe, as phones type it
    ("Im taking over comms", COMMS, ME, None),
    ("I'll take comms", COMMS, ME, None),
    ("I've got comms, go fix it", COMMS, ME, None),
    ("I've taken over as IC.", IC, ME, None),
    ("I'm stepping in as incident commander while Alex is on the bridge", IC, ME, None),
    ("Thanks Alex. Taking over as IC", IC, ME, None),
    ("*Taking over as IC*", IC, ME, None),
    ("I'm the IC now, updates every 30 min", IC, ME, None),
    ("I'm handling comms", COMMS, ME, None),
    ("I'm taking over as IC, ok?", IC, ME, None),
    ("I'm taking over as IC. Anyone object?", IC, ME, None),
    ("No idea what broke yet but I'll take over as IC", IC, ME, None),
    ("Nobody's on it, so I'm taking over ops", OPS, ME, None),
    (f"<@{ALEX}> taking over IC from you", IC, ME, None),
    (f"I'll take over from <@{ALEX}> as IC", IC, ME, None),
    ("I'll take over as comms lead 👍", COMMS, ME, None),
    ("ok I'll take the lead on comms", COMMS, ME, None),
    # The speaker gives the role to the one person named.
    (f"handing commander to <@{BETH}>", IC, BETH, ME),
    (f"Handing over IC to <@{BETH}|beth>, I need to leave", IC, BETH, ME),
    (f"<@{BETH}> can you take over as incident commander?", IC, BETH, ME),
    (f"<@{BETH}> please take over comms", COMMS, BETH, ME),
    (f"passing the IC role to <@{BETH}>", IC, BETH, ME),
    (f"<@{BETH}> you're the IC now", IC, BETH, ME),
    (f"<@{BETH}>, could you take over ops?", OPS, BETH, ME),
    (f"giving operations to <@{BETH}> while I grab lunch", OPS, BETH, ME),
    (f"handing over to <@{BETH}> as incident commander", IC, BETH, ME),
    (f"<@{BETH}> take over as commander please, I'm off at 5", IC, BETH, ME),
    (f"Hey <@{BETH}>, can you take over as IC? I have to pick up my kid", IC, BETH, ME),
    (f"could you take over comms, <@{BETH}>?", COMMS, BETH, ME),
    (f"<@{BETH}> would you mind taking over comms?", COMMS, BETH, ME),
    (f"<@{BETH}> is taking over as IC", IC, BETH, ME),
    (f"<@{BETH}> will take ops from here", OPS, BETH, ME),
    (f"<@{BETH}> comms is all yours", COMMS, BETH, ME),
    (f"<@{BETH}> you have ops", OPS, BETH, ME),
    (f"handing off ops to <@{BETH}>, I'm going heads down on the fix", OPS, BETH, ME),
    (f"Sorry, I can't stay — <@{BETH}> can you take IC?", IC, BETH, ME),
    (f"<@{ME}> handing IC to <@{BETH}>", IC, BETH, ME),  # mentioning yourself is fine
]

NO_TRIGGER: list[str] = [
    "",
    "who is the incident commander?",
    "who's taking over as IC",
    "Is anyone taking over as comms?",
    "can someone take over?",
    "I'll take over from here",
    "I'm not taking over as IC",
    "I can't take over comms right now",
    "I cannot take over as IC, I'm on a train",
    "I won't be taking over as IC, sorry",
    "I don't think I'll take over as IC",
    "I never take over as IC on Fridays",
    "If needed I can take over as IC",
    "I took over as IC yesterday",
    "I took over as IC during the last outage",
    "I'll take over as IC tomorrow",
    "I'll take over as IC first thing tomorrow",
    "I'm taking over as IC from 3pm",
    "the commander handed the logs to ops",
    "the IC is Beth",
    "Beth's taking over as IC",
    "taking over the world, one deploy at a time",
    "ops is looking at the DB",
    "I'm taking over ops dashboard duty",
    "I'll be the IC's backup tonight",
    "we should take over the ops dashboard from the old team",
    "I'll take a look at the incident",
    "Lead is in another call",
    "Rolled back to 4.2.1, error rate dropping",
    f"handing commander to <@{ME}>",
    "handing commander to myself",
    "handing IC to Beth",
    "> I'm taking over as IC",
    "&gt; I'm taking over as IC",
    "`I'm taking over as IC` is what you type to take over",
    "```\nI'm taking over as IC\n```",
    'Alex said "I\'m taking over as IC" and then dropped off',
    f"<@{BETH}> <@{CAL}> can one of you take over as IC?",
    f"<@{BETH}> can you take over as IC? cc <@{CAL}>",
    f"thanks <@{CAL}>! handing IC to <@{BETH}>",
    f"<@{BETH}> are you the IC?",
    f"<@{BETH}> you're IC now?",
    f"should I hand IC to <@{BETH}>?",
    f"<@{BETH}> when you take over as IC please update the doc",
    f"don't hand IC to <@{BETH}>, she's asleep",
    f"<@{BETH}> is the ops person on the DB team",
    f"<@{BETH}> could you take a look at the ops dashboard?",
]


@pytest.mark.parametrize(("text", "role", "taker", "giver"), TRIGGER)
def test_handoff_phrases_trigger(text: str, role: str, taker: str, giver: str | None) -> None:
    intent = detect_handoff(text, speaker=ME)
    assert intent is not None, text
    assert (intent.role, intent.taker, intent.giver) == (role, taker, giver), text
    assert intent.phrase and intent.phrase in " ".join(text.replace("’", "'").split())


@pytest.mark.parametrize("text", NO_TRIGGER)
def test_other_messages_do_not(text: str) -> None:
    assert detect_handoff(text, speaker=ME) is None


def test_the_tables_are_big_enough() -> None:
    assert len(TRIGGER) >= 20 and len(NO_TRIGGER) >= 20


def test_the_phrase_is_what_was_said() -> None:
    intent = detect_handoff(f"Handing over IC to <@{BETH}|beth>, I need to leave", speaker=ME)
    assert intent == HandoffIntent(IC, BETH, ME, f"Handing over IC to <@{BETH}|beth>")


def test_the_first_handoff_in_a_message_counts() -> None:
    text = f"I'll take over as IC, <@{BETH}> can you take comms?"
    assert detect_handoff(text, speaker=ME) == HandoffIntent(IC, ME, None, "I'll take over as IC")


def test_a_negated_handoff_does_not_hide_a_later_one() -> None:
    text = "I can't take over comms. I'll take over as IC though"
    intent = detect_handoff(text, speaker=ME)
    assert intent is not None and (intent.role, intent.taker) == (IC, ME)


def test_roles_have_aliases() -> None:
    assert canonical_role("IC") == IC
    assert canonical_role("Comms") == COMMS
    assert canonical_role("ops  lead") == OPS
    assert canonical_role("the incident commander role") == IC
    assert canonical_role("lead") is None
    assert canonical_role("captain") is None
    assert canonical_role("") is None


def test_custom_roles() -> None:
    roles = {"scribe": ("Note Taker", "scribe"), "commander": ("ic",)}
    intent = detect_handoff("I'll take over as note taker", speaker=ME, roles=roles)
    assert intent == HandoffIntent("scribe", ME, None, "I'll take over as note taker")
    assert canonical_role("NOTE TAKER", roles) == "scribe"
    assert detect_handoff("I'm taking over comms", speaker=ME, roles=roles) is None
    given_ = detect_handoff(f"handing the scribe role to <@{BETH}>", speaker=ME, roles=roles)
    assert given_ == HandoffIntent("scribe", BETH, ME, f"handing the scribe role to <@{BETH}>")


_PIECES = st.sampled_from(
    [
        "I'm", "I'll", "take", "taking", "over", "as", "IC", "comms", "ops", "the", "role",
        "not", "can't", "to", "handing", "you're", "now", "?", ",", ".", "\n", ">", "`", "```",
        '"', "“", "’", "*", "_", "<@U0BETH>", "<@U0ME>", "<@W0CAL|cal>", "<@", "|", "please",
    ]
)  # fmt: skip


@given(st.text(max_size=300))
@example("<@U0BETH|" + "x" * 5000)
@example("I'm taking over as " + "IC " * 2000)
def test_never_raises_on_any_text(text: str) -> None:
    intent = detect_handoff(text, speaker=ME)
    assert intent is None or intent.role in DEFAULT_ROLES


@given(st.lists(_PIECES, max_size=25).map(" ".join))
def test_never_raises_on_near_misses(text: str) -> None:
    intent = detect_handoff(text, speaker=ME)
    if intent is not None:
        assert intent.role in DEFAULT_ROLES and intent.phrase
        assert intent.taker != ME if intent.giver else intent.taker == ME
