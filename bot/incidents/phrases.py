"""Recognises incident-role handoffs said in plain words in an incident channel.

    detect_handoff("I'm taking over as IC", speaker="U1")
    # HandoffIntent(role="commander", taker="U1", giver=None, phrase="I'm taking over as IC")

This module owns the words: which role names exist (``DEFAULT_ROLES``, ``canonical_role``)
and which sentences hand a role over (``detect_handoff``). It changes nothing itself.
Firstline never moves a role on a phrase alone, it asks the taker to confirm with a button,
but a prompt nobody wanted is noise in a channel where people are fighting a fire. So the
patterns lean towards explicit statements made now:

- taking: "I'll take over as IC", "I'm taking comms", "I've got ops", "I'll be the IC";
- giving: "handing IC to @beth", "@beth can you take over comms?", "@beth you're IC now".

Not handoffs: questions ("who is IC?"), negations near the verb ("I can't take over comms"),
conditions ("if needed I can take over as IC"), simple past ("I took over as IC yesterday"
narrates; only the present perfect "I've taken over as IC" announces), later plans ("…as IC
tomorrow"), a role word that starts a longer noun ("the IC's backup", "ops dashboard"),
quoted lines, quoted speech and code. A give names exactly one other person: none, several,
or the speaker themself is not a give. A message yields at most one intent, its first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    # "lead" alone is not an alias: "the lead said…", "Lead is in another call" and
    # "I'll take the lead on the DB" are far more common than handoffs, and which role a
    # bare "lead" means depends on the team. The qualified forms are unambiguous.
    "commander": ("incident commander", "ic", "commander", "incident lead", "incident manager"),
    "operations": ("operations lead", "ops lead", "operations", "ops"),
    "communications": ("communications lead", "comms lead", "communications", "comms"),
}

_MAX_CHARS = 4000
_USER = r"<@(?P<user>[UW][A-Z0-9]{2,})(?:\|[^<>]*)?>"
_ANY_USER = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>", re.IGNORECASE)

# Cleaning: what is not the speaker's own words, and markup that only decorates them.
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.DOTALL)
_QUOTED_LINE = re.compile(r"^[ \t]*(?:>|&gt;).*$", re.MULTILINE)
_QUOTED_SPEECH = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|„[^“”\n]*[“”]|«[^»\n]*»|‘[^’\n]*’")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "′": "'", "`": "'"})
_DECORATION = re.compile(r"[*~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")

# What may follow a role word for it to be the role and not the start of a longer noun
# ("ops dashboard", "the IC's backup", "comms-related") or a later plan ("IC tomorrow").
_FOLLOWERS = (
    r"now|today|tonight|please|pls|plz|for|while|until|till|so|and|but|then|again|here|if|"
    r"since|because|as|instead|meanwhile|thanks|thank|thx|ty|too|asap|right|going|cheers|ok|"
    r"okay|though|anyway|(?:starting|effective)\s+(?:now|immediately)|from\s+(?!\d|tomorrow|"
    r"tonight|next|later|mon|tue|wed|thu|fri|sat|sun)"
)
_END = rf"(?=\s*$|\s*[^\w\s'-]|\s+(?:{_FOLLOWERS})\b)"

# Subjects and verbs. "'" is optional everywhere: people type "Ill", "Im", "youre".
_ADVERBS = r"(?:(?:now|also|just|officially|happily|gladly|then)\s+){0,2}"
_WILL = (
    r"\b(?:i'?ll|i\s+will|i'?m\s+going\s+to|i\s+am\s+going\s+to|i'?m\s+gonna|i\s+can|"
    r"let\s+me|i'?d\s+(?:like|love)\s+to|i\s+want\s+to|i'?ll\s+go\s+ahead\s+and)\s+" + _ADVERBS
)
_AM = r"\b(?:i'?m|i\s+am)\s+" + _ADVERBS
_HAVE = r"\b(?:i'?ve|i\s+have)\s+" + _ADVERBS
_FROM = r"(?:(?:from|for)\s+(?:here|now|<@[^<>]+>|[a-z]+)\s+)?"
_TAKE = (
    rf"(?:take\s+over\s+{_FROM}(?:as\s+)?|take\s+(?:the\s+)?lead\s+(?:on|for)\s+|take\s+|"
    r"step\s+(?:in|up)\s+as\s+|act\s+as\s+|"
    r"cover\s+|handle\s+|pick\s+up\s+|be\s+)"
)
_TAKING = (
    rf"(?:taking\s+over\s+{_FROM}(?:as\s+)?|taking\s+(?:the\s+)?lead\s+(?:on|for)\s+|"
    r"taking\s+|stepping\s+(?:in|up)\s+as\s+|"
    r"acting\s+as\s+|covering\s+|handling\s+|picking\s+up\s+)"
)
_TAKEN = rf"(?:taken\s+over\s+{_FROM}(?:as\s+)?|taken\s+|got\s+|stepped\s+(?:in|up)\s+as\s+)"
_GIVE = r"\b(?:hand(?:ing)?|pass(?:ing)?|giv(?:e|ing)|transfer(?:ring)?|delegat(?:e|ing))"
# Start of the text or of a sentence or clause, or right after a mention ("<@U1> taking IC").
_SENTENCE_START = r"(?:^|(?<=[.!;:,\n—–>]))\s*"

# Clauses: a negation or condition cancels a handoff only inside its own clause.
_CLAUSE_BREAK = re.compile(
    r"[.!?;,\n—–]|\s-\s|\b(?:but|so|and|because|though|although|however|then|anyway)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|never|no|nope|nobody|noone|cannot|unable|neither|nor|dont|cant|wont|isnt|"
    r"arent|wasnt|werent|didnt|doesnt|shouldnt|couldnt|wouldnt|havent|hasnt|aint)\b"
    r"|\bno\s+one\b|n't\b",
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"\b(?:if|unless|whether|in\s+case|when|whenever|once|after|before)\b", re.IGNORECASE
)
_CLAUSE_END = re.compile(r"[.!?;,\n—–]")
_TAG_QUESTION = re.compile(
    r"[\s,]*(?:ok(?:ay)?|alright|right|yeah|fine|cool|agreed|(?:does\s+that\s+)?sounds?\s+good)"
    r"\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class HandoffIntent:
    role: str  # canonical role, a key of the roles mapping
    taker: str  # user id who would hold the role afterwards
    giver: str | None  # user id handing it over; None when someone takes it
    phrase: str  # the matched words, for the confirmation prompt


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    gives: bool  # the speaker hands the role to someone (else the speaker takes it)
    asks: bool  # a request: allowed to end in "?"


def canonical_role(word: str, roles: Mapping[str, Sequence[str]] = DEFAULT_ROLES) -> str | None:
    """The role ``word`` names: "IC" → "commander", "Comms" → "communications", else None.

    Case and spacing don't matter, nor a leading "the" or a trailing "role".
    """
    wanted = " ".join(word.lower().split())
    wanted = re.sub(r"^the\s+|\s+role$", "", wanted)
    if not wanted:
        return None
    for role, aliases in roles.items():
        if wanted == role.lower() or wanted in (" ".join(a.lower().split()) for a in aliases):
            return role
    return None


def detect_handoff(
    text: str, *, speaker: str, roles: Mapping[str, Sequence[str]] = DEFAULT_ROLES
) -> HandoffIntent | None:
    """The handoff ``text`` (said by ``speaker``) expresses, or None if it expresses none.

    Only the first handoff in a message counts; ambiguous ones (a give naming two people,
    or nobody, or the speaker) are not handoffs.
    """
    clean = _clean(text)
    if not clean.strip():
        return None
    patterns = _patterns(_freeze(roles))
    found: list[tuple[int, int, HandoffIntent]] = []
    for order, pattern in enumerate(patterns):
        for match in pattern.regex.finditer(clean):
            intent = _intent(clean, match, pattern, speaker=speaker, roles=roles)
            if intent is not None:
                found.append((match.start(), order, intent))
                break
    return min(found, key=lambda hit: hit[:2])[2] if found else None


def _intent(
    text: str,
    match: re.Match[str],
    pattern: _Pattern,
    *,
    speaker: str,
    roles: Mapping[str, Sequence[str]],
) -> HandoffIntent | None:
    if _cancelled(text, match) or (_is_question(text, match) and not pattern.asks):
        return None
    role = canonical_role(match.group("role"), roles)
    if role is None:
        return None
    phrase = " ".join(match.group(0).split())
    if not pattern.gives:
        return HandoffIntent(role=role, taker=speaker, giver=None, phrase=phrase)
    others = {user.upper() for user in _ANY_USER.findall(text)} - {speaker.upper()}
    named = match.groupdict().get("user")
    if named is not None and named.upper() == speaker.upper():
        return None  # "handing IC to <@me>" gives nothing
    if len(others) != 1:
        return None  # nobody to give it to, or several people: whom?
    [taker] = others
    return HandoffIntent(role=role, taker=taker, giver=speaker, phrase=phrase)


def _clean(text: str) -> str:
    """The speaker's own words: no code, quoted lines or quoted speech; plain apostrophes."""
    text = (text or "")[:_MAX_CHARS]
    text = _CODE.sub(" ", text)
    text = _QUOTED_LINE.sub(" ", text)
    text = _QUOTED_SPEECH.sub(" ", text)
    text = text.translate(_APOSTROPHES)
    return _DECORATION.sub("", text)


def _cancelled(text: str, match: re.Match[str]) -> bool:
    """A negation in the clause up to the end of the match, or a condition before it."""
    before = text[max(0, match.start() - 80) : match.start()]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    if _CONDITION.search(clause):
        return True
    return _NEGATION.search(clause + " " + match.group(0)) is not None


def _is_question(text: str, match: re.Match[str]) -> bool:
    """The clause the match is in ends in "?" (a tag such as " ok?" does not count)."""
    end = _CLAUSE_END.search(text, match.end())
    if end is None or end.group(0) != "?":
        return False
    return _TAG_QUESTION.fullmatch(text[match.end() : end.start()]) is None


def _freeze(roles: Mapping[str, Sequence[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((role, tuple(aliases)) for role, aliases in roles.items())


@lru_cache(maxsize=32)
def _patterns(roles: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[_Pattern, ...]:
    names = {" ".join(n.lower().split()) for role, aliases in roles for n in (role, *aliases)}
    names.discard("")
    words = sorted(names, key=lambda n: (-len(n), n))
    alternatives = "|".join(r"\s+".join(re.escape(w) for w in name.split()) for name in words)
    role = rf"(?:the\s+)?(?:new\s+)?(?P<role>{alternatives})(?:\s+role)?{_END}"
    bare_role = rf"(?:the\s+)?(?P<role>{alternatives})(?:\s+role)?"
    asking = (
        r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+|pls\s+)?"
        r"|are\s+you\s+(?:able|ok|okay|happy|good|free)\s+to\s+|(?:please|pls|plz)\s+)"
    )
    you = r"\b(?:you'?re|you\s+are)\s+(?:now\s+)?"
    takes = [
        _WILL + _TAKE + role,  # I'll take over as IC / I can take comms / I'll be the IC
        _AM + _TAKING + role,  # I'm taking over as IC / I am handling comms
        _HAVE + _TAKEN + role,  # I've taken over as IC / I've got comms
        _AM + r"(?:now\s+)?the\s+" + role,  # I'm the IC now / I'm the new commander
        _AM + r"now\s+" + role,  # I'm now IC
        _AM + bare_role + r"(?=\s+now\b)",  # I'm IC now
        _SENTENCE_START + r"(?:(?:ok(?:ay)?|alright|right|sure)[,.!]?\s+)?" + _TAKING + role,
    ]
    gives = [
        # handing IC to @beth / passing the IC role over to @beth
        _GIVE + r"\s+(?:over\s+|off\s+|on\s+)?" + bare_role + r"\s+(?:over\s+|back\s+)?to\s+"
        r"(?:you\s+)?" + _USER,
        # handing over to @beth as IC
        _GIVE + r"\s+(?:over|off|on)\s+to\s+" + _USER + r"\s+(?:as|for)\s+" + role,
        # @beth take over comms (please)
        _USER + r"[\s,:]+(?:please\s+|pls\s+)?" + _TAKE + role,
        # @beth is taking over as IC / @beth will take comms / @beth is the new IC
        _USER
        + r"(?:'s|\s+is|\s+will|\s+can|\s+should)\s+"
        + _ADVERBS
        + r"(?:be\s+)?(?:"
        + _TAKING
        + r"|"
        + _TAKE
        + r"|(?:now\s+)?the\s+)"
        + role,
        _USER + r"\s+is\s+now\s+" + role,
        # you're the IC now / you are IC
        you + r"(?:the\s+)?" + role,
        # you take over as IC / you can take comms / you'll be ops
        r"\byou(?:'ll|\s+will|\s+can|\s+could|\s+should)?\s+" + _TAKE + role,
        r"\b" + bare_role + r"\s+is\s+(?:all\s+)?yours\b",
        r"\bover\s+to\s+you\s+(?:as|for|on)\s+" + role,
        r"\byou(?:'?ve\s+got|\s+have(?:\s+got)?)\s+" + role,  # you've got comms
        # Take over as IC, @beth. (imperative, addressed to the one person named)
        _SENTENCE_START + r"take\s+over\s+(?:as\s+)?" + role,
    ]
    asks = [
        # @beth can you take over as IC? / could you take comms, @beth?
        r"\b" + asking + _TAKE + role,
        r"\b(?:would|do)\s+you\s+mind\s+" + _TAKING + role,
    ]
    flags = re.IGNORECASE
    return (
        *(_Pattern(re.compile(p, flags), gives=False, asks=False) for p in takes),
        *(_Pattern(re.compile(p, flags), gives=True, asks=False) for p in gives),
        *(_Pattern(re.compile(p, flags), gives=True, asks=True) for p in asks),
    )
