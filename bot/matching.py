"""How alike texts are: one module for the FAQ's matches and for answers from history.

    similarity("How do I reset a user's password?", "how can I reset the password for a user")
    # 91.5
    RANKERS["tfidf-char"].rank("deploy fails with timeout", ["reset password", "deploy timed out"])
    # [(1, 43.8), (0, 0.0)]

``similarity`` compares two texts (rapidfuzz): ``token_set_ratio`` ignores word order and
extra words, which suits questions asked in different words; for very short texts (fewer
than three words on either side) it would call any shared word a perfect match, so plain
``ratio`` is used there instead.

A ``Ranker`` orders a channel's past requests by how closely each matches a new one,
scored 0–100 so a channel's threshold reads the same whatever the ranker. Every ranker
runs offline on the texts it is given: nothing is downloaded, no model is loaded. Which
ranker is the default, and at which threshold, was chosen by measurement
(tests/eval/suggestions.py, table in docs/suggestions.md).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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


def searchable(text: str) -> str:
    """The words of a message a ranker should see: no link targets or mentions. Code stays:
    a class or function name in pasted code is often the only word two questions share."""
    return normalise(text)


Ranked = list[tuple[int, float]]  # (index into the documents, score 0–100), best first


class RankIndex(Protocol):
    """A ranker prepared on one set of documents, to rank many queries against them."""

    def rank(self, query: str) -> Ranked: ...


class Ranker(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def default_threshold(self) -> float: ...

    @property
    def prepared(self) -> bool: ...

    def rank(self, query: str, documents: Sequence[str]) -> Ranked: ...

    def index(self, documents: Sequence[str]) -> RankIndex: ...


@dataclass(frozen=True)
class _Unindexed:
    """For rankers with nothing worth preparing: each query ranks the documents afresh."""

    ranker: Ranker
    documents: Sequence[str]

    def rank(self, query: str) -> Ranked:
        return self.ranker.rank(query, self.documents)


class _RanksAfresh:
    prepared = False  # every request redoes the work over all documents

    def index(self, documents: Sequence[str]) -> RankIndex:
        return _Unindexed(self, list(documents))  # type: ignore[arg-type]


def _ordered(scores: Sequence[float]) -> Ranked:
    pairs = [(i, round(float(s), 1)) for i, s in enumerate(scores)]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


@dataclass(frozen=True)
class FuzzyRanker(_RanksAfresh):
    """The FAQ's rapidfuzz similarity of the whole texts."""

    name: str = "rapidfuzz"
    default_threshold: float = 90.0

    def rank(self, query: str, documents: Sequence[str]) -> Ranked:
        return _ordered([similarity(query, d) for d in documents])


@dataclass(frozen=True)
class Bm25Ranker(_RanksAfresh):
    """Okapi BM25 over words (bm25s, English stop words removed).

    BM25 scores have no upper bound, so the query is indexed beside the documents and
    each score is taken relative to the query's score against itself: 100 means "as
    close as the question itself"."""

    name: str = "bm25"
    default_threshold: float = 35.0

    def rank(self, query: str, documents: Sequence[str]) -> Ranked:
        import bm25s  # imported when first used: numpy and scipy are slow to load

        texts = [searchable(d) for d in documents]
        wanted = searchable(query)
        if not wanted or not documents:
            return _ordered([0.0] * len(documents))
        corpus = bm25s.tokenize([*texts, wanted], stopwords="en", show_progress=False)
        index = bm25s.BM25()
        index.index(corpus, show_progress=False)
        words = bm25s.tokenize([wanted], stopwords="en", show_progress=False, return_ids=False)
        if not words or not words[0] or words[0] == [""]:
            return _ordered([0.0] * len(documents))
        scores = index.get_scores(words[0])
        itself = float(scores[-1])
        if itself <= 0:
            return _ordered([0.0] * len(documents))
        return _ordered([min(100.0, 100.0 * float(s) / itself) for s in scores[:-1]])


@dataclass(frozen=True)
class CharTfidfRanker:
    """Cosine similarity of TF-IDF vectors of character 3–5-grams within words
    (scikit-learn): forgiving of inflections, typos and identifiers like ``core.async``."""

    name: str = "tfidf-char"
    default_threshold: float = 35.0
    prepared: bool = True  # a new request costs its own n-grams, not a refit

    def rank(self, query: str, documents: Sequence[str]) -> Ranked:
        return self.index(documents).rank(query)

    def index(self, documents: Sequence[str]) -> CharTfidfIndex:
        """Fitting is the slow part (n-grams of every document): done once per set of
        documents, so each new request only costs its own n-grams and one product."""
        from sklearn.feature_extraction.text import TfidfVectorizer  # slow to load

        texts = [searchable(d) for d in documents]
        if not any(texts):
            return CharTfidfIndex(size=len(texts))
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        return CharTfidfIndex(
            size=len(texts), vectorizer=vectorizer, matrix=vectorizer.fit_transform(texts)
        )


@dataclass(frozen=True)
class CharTfidfIndex:
    size: int
    vectorizer: Any = None
    matrix: Any = None

    def rank(self, query: str) -> Ranked:
        from scipy.sparse import csr_matrix

        wanted = searchable(query)
        if self.vectorizer is None or not wanted:
            return _ordered([0.0] * self.size)
        vocabulary, idf = self.vectorizer.vocabulary_, self.vectorizer.idf_
        # The query weighed as one more document would be: its n-grams no document has
        # still count in its length (a question mostly about something else scores low).
        unseen = math.log((self.size + 2) / 2) + 1
        columns, weights, length = [], [], 0.0
        for gram, count in Counter(self.vectorizer.build_analyzer()(wanted)).items():
            column = vocabulary.get(gram)
            weight = (1 + math.log(count)) * (unseen if column is None else float(idf[column]))
            length += weight * weight
            if column is not None:
                columns.append(column)
                weights.append(weight)
        if not length:
            return _ordered([0.0] * self.size)
        vector = csr_matrix((weights, ([0] * len(columns), columns)), shape=(1, len(vocabulary)))
        # Document rows are L2-normalised: the product over the query's length is the cosine.
        scores = (self.matrix @ vector.T).toarray().ravel() / math.sqrt(length)
        return _ordered([100.0 * float(s) for s in scores])


@dataclass(frozen=True)
class BlendRanker(_RanksAfresh):
    """BM25 and character TF-IDF averaged: words that match exactly, and near misses."""

    name: str = "bm25+tfidf-char"
    default_threshold: float = 35.0

    def rank(self, query: str, documents: Sequence[str]) -> Ranked:
        words = dict(Bm25Ranker().rank(query, documents))
        chars = dict(CharTfidfRanker().rank(query, documents))
        return _ordered([(words[i] + chars[i]) / 2 for i in range(len(documents))])


RANKERS: dict[str, Ranker] = {
    r.name: r for r in (FuzzyRanker(), Bm25Ranker(), CharTfidfRanker(), BlendRanker())
}
# Chosen from the evaluation table in docs/suggestions.md: the best net with a prepared
# index (the blend ties on net and finds one more, but redoes BM25 for every request).
DEFAULT_RANKER = "tfidf-char"
