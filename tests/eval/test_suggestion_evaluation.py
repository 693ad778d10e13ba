"""The suggestion evaluation runs on the committed labelled set and prints its table."""

from __future__ import annotations

import pytest

from bot.matching import DEFAULT_RANKER, RANKERS
from tests.eval import suggestions


def test_the_default_ranker_is_the_best_row_of_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    suggestions.main()
    printed = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + printed)
    rows, _ = suggestions.evaluate()
    assert {r.ranker for r in rows} == set(RANKERS)
    assert suggestions.chosen(rows).ranker == DEFAULT_RANKER
