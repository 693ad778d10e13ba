"""Recognises role handoffs said in plain words in an incident channel.

    detect_handoff("I'm taking over as IC", speaker="U1")
    # HandoffIntent(role="commander", taker="U1", giver=None, phrase="taking over as IC")

Firstline never changes a role on a phrase alone: it asks the taker to confirm with a
button. So the patterns lean towards explicit, present-tense statements; questions,
negations, past tense, quotes and code are not handoffs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    # "lead" alone is left out: "the lead said…" is far more common than a handoff.
    "commander": ("incident commander", "incident lead", "commander", "ic"),
    "operations": ("operations lead", "operations", "ops lead", "ops"),
    "communications": ("communications lead", "communications", "comms lead", "comms"),
}

_MENTION = r"<@(?P<user>[UW][A-Z0-9]+)(?:\|[^>]*)?>"
_NEGATION = re.compile(r"\b(not|never|cannot|can't|cant|won't|wont|don't|dont|no longer)\b|n't\b")
_CODE = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)
_QUOTED = re.compile(r"^\s*(>|&gt;).*$", re.MULTILINE)
_ALL_MENTIONS = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class HandoffIntent:
    role: str
    taker: str
    giver: str | None
    phrase: str


def canonical_role(word: str, roles: Mapping[str, Sequence[str]] = DEFAULT_ROLES) -> str | None:
    """ "IC" → "commander", "comms" → "communications"; None if it names no role."""
    wanted = " ".join(word.lower().split())
    for role, aliases in roles.items():
        if wanted == role or wanted in aliases:
            return role
    return None


def _patterns(
    roles: Mapping[str, Sequence[str]],
) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    aliases = sorted(
        {a for names in roles.values() for a in (*names,)} | set(roles), key=len, reverse=True
    )
    role = r"(?:the\s+)?(?P<role>" + "|".join(re.escape(a) for a in aliases) + r")(?:\s+role)?\b"
    take = [
        r"\b(?:i'?ll|i\s+will|i'?m|i\s+am|i\s+can|let\s+me|i'?d\s+like\s+to)\s+(?:now\s+)?"
        r"(?:be\s+)?(?:taking|take)\s+over\s+(?:as\s+)?" + role,
        r"^\s*(?:ok(?:ay)?[,.!]?\s+)?taking\s+over\s+(?:as\s+)?" + role,
        r"\b(?:i'?ll|i\s+will)\s+be\s+" + role,
    ]
    give = [
        r"\b(?:handing|passing|giving)\s+(?:over\s+)?" + role + r"\s+(?:over\s+)?to\s+" + _MENTION,
        r"\b(?:handing|passing)\s+over\s+to\s+" + _MENTION + r"\s+as\s+" + role,
        _MENTION
        + r"[\s,:]+(?:can|could|would)\s+you\s+(?:please\s+)?take\s+over\s+(?:as\s+)?"
        + role,
        _MENTION + r"[\s,:]+(?:please\s+)?take\s+over\s+(?:as\s+)?" + role,
        _MENTION + r"[\s,:]+you'?re\s+" + role + r"\s+now\b",
    ]
    flags = re.IGNORECASE | re.MULTILINE
    return [re.compile(p, flags) for p in take], [re.compile(p, flags) for p in give]


_DEFAULT = _patterns(DEFAULT_ROLES)


def detect_handoff(
    text: str, *, speaker: str, roles: Mapping[str, Sequence[str]] = DEFAULT_ROLES
) -> HandoffIntent | None:
    """The handoff ``text`` expresses, or None when it expresses none (or is ambiguous)."""
    take, give = _DEFAULT if roles is DEFAULT_ROLES else _patterns(roles)
    clean = _QUOTED.sub(" ", _CODE.sub(" ", text or ""))[:2000]
    if "?" in clean and not _ALL_MENTIONS.search(clean):
        return None  # "who is IC now?", "can someone take over?"
    for pattern in give:
        match = pattern.search(clean)
        if match is None or _negated(clean, match):
            continue
        others = {u for u in _ALL_MENTIONS.findall(clean) if u != speaker}
        taker = match.group("user")
        if taker == speaker or len(others) != 1:
            return None
        role = canonical_role(match.group("role"), roles)
        return HandoffIntent(role, taker, speaker, match.group(0).strip()) if role else None
    for pattern in take:
        match = pattern.search(clean)
        if match is None or _negated(clean, match):
            continue
        role = canonical_role(match.group("role"), roles)
        return HandoffIntent(role, speaker, None, match.group(0).strip()) if role else None
    return None


def _negated(text: str, match: re.Match[str]) -> bool:
    window = text[max(0, match.start() - 25) : match.end()].lower()
    return _NEGATION.search(window) is not None
