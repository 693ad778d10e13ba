"""How alike two requests are, 0–100 (rapidfuzz), the same for FAQ matches and repeats.

    similarity("How do I reset a user's password?", "how can I reset the password for a user")
    # 91.5

``token_set_ratio`` ignores word order and extra words, which suits questions asked in
different words; for very short texts (fewer than three words on either side) it would
call any shared word a perfect match, so plain ``ratio`` is used there instead.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, utils

DEFAULT_THRESHOLD = 85
_SLACK_MARKUP = re.compile(r"<[^>]*>")


def normalise(text: str) -> str:
    return str(utils.default_process(_SLACK_MARKUP.sub(" ", text or "")))


def similarity(a: str, b: str) -> float:
    left, right = normalise(a), normalise(b)
    if not left or not right:
        return 0.0
    if min(len(left.split()), len(right.split())) < 3:
        return float(fuzz.ratio(left, right))
    return float(fuzz.token_set_ratio(left, right))
