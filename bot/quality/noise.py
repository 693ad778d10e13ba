"""Is a top-level post only thanks, an acknowledgement, a greeting, a "solved" or emoji?

    classify("Danke dir! 🙏", phrases=default_phrases())  # → "thanks"
    classify("how do I read a file?", phrases=default_phrases())  # → None

A post is noise when, after removing emoji (``:name:`` and pictographs), mentions, links'
angle brackets, punctuation and case, what remains is either nothing (and the post had at
least one emoji) or a sequence of whole phrases from the channel's list. A post with a link or
ending with "?" is never noise; neither is a bare mention or an empty post with a file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# Short on purpose: every phrase must mean nothing but thanks, acknowledgement, greeting or
# "solved" on its own; "help", "question" or "problem" never belong here. English and German.
# fmt: off
DEFAULT_NOISE: Mapping[str, tuple[str, ...]] = {
    "thanks": (
        "thanks", "thank you", "thank u", "thx", "thnx", "ty", "tyvm", "cheers", "ta",
        "many thanks", "thanks a lot", "thanks so much", "thank you so much",
        "thank you very much", "thanks again", "thanks all", "thanks everyone",
        "thanks for the help", "thanks for your help", "much appreciated", "appreciated",
        "danke", "danke dir", "danke euch", "danke schön", "dankeschön", "danke sehr",
        "vielen dank", "besten dank", "merci", "dankeschoen", "danke schoen",
    ),
    "acknowledgement": (
        "ok", "okay", "k", "kk", "got it", "gotcha", "cool", "great", "perfect", "nice",
        "awesome", "sounds good", "makes sense", "will do", "noted", "understood", "yes",
        "yep", "yup", "sure", "alright", "all right", "ah", "oh", "i see", "ah i see",
        "lol", "haha", "+1", "alles klar", "klar", "verstanden", "super", "prima", "passt",
        "ja", "jo", "gut", "sehr gut", "ach so", "achso", "okidoki",
    ),
    "greeting": (
        "hi", "hello", "hey", "hey all", "hi all", "hello all", "hi everyone",
        "hello everyone", "hey everyone", "hi folks", "hey folks", "morning",
        "good morning", "hallo", "hallo zusammen", "moin", "servus", "guten morgen",
        "guten tag", "bye", "see you", "tschüss", "ciao",
    ),
    "solved": (
        "solved", "fixed", "resolved", "never mind", "nevermind", "nvm", "ignore me",
        "please ignore", "ignore that", "disregard", "figured it out", "i figured it out",
        "found it", "it works", "works now", "all good", "done", "sorted",
        "erledigt", "gelöst", "hat sich erledigt", "geht wieder", "funktioniert",
        "funktioniert jetzt", "vergesst es", "hab's", "habs",
    ),
}
# fmt: on
KINDS = (*DEFAULT_NOISE, "emoji")
MAX_PHRASE_WORDS = 6

_SHORTCODE = re.compile(r":[a-z0-9_+\-']+(?:::[a-z0-9_\-]+)?:", re.IGNORECASE)
_MENTION = re.compile(r"<[@#!][^>]*>")
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
# Apostrophes stay inside words ("hab's"); other punctuation separates them.
_WORD = re.compile(r"[\w'’+]+", re.UNICODE)


def default_phrases() -> dict[str, str]:
    """Phrase → kind, for the default list."""
    return {normalise(p): kind for kind, phrases in DEFAULT_NOISE.items() for p in phrases}


def channel_phrases(*, added: Iterable[str], removed: Iterable[str]) -> dict[str, str]:
    """The default list with a channel's additions (kind "custom") and removals."""
    phrases = default_phrases()
    for phrase in removed:
        phrases.pop(normalise(phrase), None)
    for phrase in added:
        phrases.setdefault(normalise(phrase), "custom")
    return phrases


def normalise(text: str) -> str:
    return " ".join(_words(text))


def _words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).replace("’", "'").lower()
    return [w.strip("'") for w in _WORD.findall(text) if w.strip("'")]


# In ASCII only ^ and ` are symbols of these categories ("Sk"), and none is an "So": most
# posts are ASCII, and classifying runs on every post that would open a request.
_ASCII_MARKS = str.maketrans({"^": " ", "`": " "})


def _has_pictograph(text: str) -> bool:
    if text.isascii():
        return False
    return any(unicodedata.category(ch) == "So" for ch in text)


def _strip_pictographs(text: str) -> str:
    # "So" (other symbol) covers emoji; variation selectors and joiners are format chars.
    if text.isascii():
        return text.translate(_ASCII_MARKS)
    return "".join(" " if unicodedata.category(ch) in ("So", "Sk", "Cf") else ch for ch in text)


def classify(text: str, *, phrases: Mapping[str, str]) -> str | None:
    """The kind of noise ``text`` is ("thanks", "acknowledgement", "greeting", "solved",
    "custom", "emoji"), or None when it may be a request."""
    if _LINK.search(text) or text.rstrip().endswith("?"):
        return None  # a link is something to look at; a question asks something
    had_emoji = bool(_SHORTCODE.search(text)) or _has_pictograph(text)
    stripped = _strip_pictographs(_MENTION.sub(" ", _SHORTCODE.sub(" ", text)))
    words = _words(stripped)
    if not words:
        return "emoji" if had_emoji else None
    kinds = _cover(words, phrases)
    if kinds is None:
        return None
    # The kind that says most about why the post is not a request wins.
    for kind in ("solved", "thanks", "greeting", "custom", "acknowledgement"):
        if kind in kinds:
            return kind
    return None


def _cover(words: list[str], phrases: Mapping[str, str]) -> set[str] | None:
    """The kinds of a split of ``words`` into whole phrases, or None if there is none."""
    # reachable[i]: kinds used to cover words[:i]; a short dynamic programme over positions.
    reachable: list[set[str] | None] = [set()] + [None] * len(words)
    furthest = 0  # no phrase reaches past here: the rest cannot be covered
    for start in range(len(words)):
        if start > furthest:
            return None
        done = reachable[start]
        if done is None:
            continue
        for end in range(start + 1, min(len(words), start + MAX_PHRASE_WORDS) + 1):
            kind = phrases.get(" ".join(words[start:end]))
            if kind is not None and reachable[end] is None:
                reachable[end] = done | {kind}
                furthest = max(furthest, end)
    return reachable[len(words)]
