"""The evaluation of answers from history: each ranker on the labelled Clojurians set.

    python -m tests.eval.suggestions            # prints the table in docs/suggestions.md

Every new request of the set is matched against the requests before it in its channel
(as Firstline does: a channel's history only). At a ranker's default threshold a request
gets a suggestion when its closest past request scores at least the threshold; the
suggestion is right when a person labelled that past request as answering it.

- precision@1: right suggestions / suggestions made
- coverage: requests that got a suggestion / all new requests
- recall: right suggestions / requests that some past request answers
- net: right minus wrong suggestions (a wrong one costs a reader what a right one saves)

Each ranker's default threshold is the best of a sweep (highest net, then recall, then
precision@1: fitted to this set, so read the figures as optimistic); the default ranker
is the row with the highest net, then recall, then precision@1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.matching import DEFAULT_RANKER, RANKERS, Ranker

SET = Path(__file__).parent / "data" / "clojurians-suggestions.json"
SWEEP = tuple(range(10, 100, 5))


@dataclass(frozen=True)
class Row:
    ranker: str
    prepared: bool
    threshold: float
    requests: int
    answerable: int
    suggested: int
    right: int

    @property
    def precision(self) -> float:
        return self.right / self.suggested if self.suggested else 0.0

    @property
    def coverage(self) -> float:
        return self.suggested / self.requests if self.requests else 0.0

    @property
    def recall(self) -> float:
        return self.right / self.answerable if self.answerable else 0.0

    @property
    def net(self) -> int:
        return self.right - (self.suggested - self.right)


def load(path: Path = SET) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["channels"])


def top_matches(ranker: Ranker, channels: Iterable[dict[str, Any]]) -> list[tuple[float, bool]]:
    """For every labelled request: the best past request's score, and whether it is right."""
    found = []
    for channel in channels:
        requests = channel["requests"]
        for i, request in enumerate(requests):
            if "answered_by" not in request:
                continue
            past = requests[:i]
            ranked = ranker.rank(request["text"], [p["text"] for p in past])
            if not ranked:
                found.append((0.0, False))
                continue
            best, score = ranked[0]
            found.append((score, past[best]["ts"] in request["answered_by"]))
    return found


def row(
    ranker: Ranker, threshold: float, matches: list[tuple[float, bool]], answerable: int
) -> Row:
    made = [right for score, right in matches if score >= threshold]
    return Row(
        ranker=ranker.name,
        prepared=ranker.prepared,
        threshold=threshold,
        requests=len(matches),
        answerable=answerable,
        suggested=len(made),
        right=sum(made),
    )


def evaluate(path: Path = SET) -> tuple[list[Row], dict[str, Row]]:
    """Each ranker at its default threshold, and each ranker's best threshold of a sweep."""
    channels = load(path)
    answerable = sum(1 for c in channels for r in c["requests"] if r.get("answered_by"))
    rows, best = [], {}
    for name, ranker in RANKERS.items():
        matches = top_matches(ranker, channels)
        rows.append(row(ranker, ranker.default_threshold, matches, answerable))
        sweep = [row(ranker, t, matches, answerable) for t in SWEEP]
        best[name] = max(sweep, key=_merit)
    return rows, best


def _merit(r: Row) -> tuple[int, float, float, float]:
    return (r.net, r.recall, r.precision, -r.threshold)


def chosen(rows: list[Row]) -> Row:
    """The best net; among those, one that ranks against a prepared index (a ranker that
    redoes its work for every request holds the desk's transaction for it); then recall."""
    return max(rows, key=lambda r: (r.net, r.prepared, r.recall, r.precision))


def table(rows: list[Row]) -> str:
    lines = [
        "| ranker | per request | threshold | precision@1 | coverage | recall "
        "| right / suggested | net |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.ranker} | {'prepared index' if r.prepared else 'afresh'} | {r.threshold:g} "
            f"| {r.precision:.2f} | {r.coverage:.2f} | {r.recall:.2f} "
            f"| {r.right} / {r.suggested} | {r.net:+d} |"
        )
    return "\n".join(lines)


def main() -> None:
    rows, best = evaluate()
    first = rows[0]
    print(
        f"{first.requests} labelled new requests, {first.answerable} answered by an earlier "
        f"thread of their channel ({SET.name})\n"
    )
    print("At each ranker's default threshold:")
    print(table(rows))
    print(
        f"\nChosen default: {chosen(rows).ranker} (bot.matching.DEFAULT_RANKER = {DEFAULT_RANKER})"
    )
    print("\nEach ranker's best threshold on a sweep from 10 to 95 (fitted to this set):")
    print(table(list(best.values())))


if __name__ == "__main__":
    main()
