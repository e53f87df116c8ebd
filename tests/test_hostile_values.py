"""The hostile corpus of tests/hostile_values.py through the contribution checks: every spoiled cell is
refused with its own code, the code point of what hides in it, and the text it most likely meant;
every valid spelling passes. One file holds the whole corpus, checked once."""

from __future__ import annotations

import csv

import pytest

from hostile_values import GOOD, Case, corpus
from pipeline.contributions.rules import check_file
from pipeline.core.vocab import Vocabulary

CASES = corpus()
COLUMNS = list(GOOD)


@pytest.fixture(scope="module")
def problems_by_line(tmp_path_factory) -> dict[int, list]:
    path = tmp_path_factory.mktemp("hostile") / "corpus.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([case.row[c] for c in COLUMNS] for case in CASES)
    checked = check_file(path, Vocabulary())
    by_line: dict[int, list] = {}
    for problem in checked.problems:
        by_line.setdefault(problem.line, []).append(problem)
    return by_line


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_hostile_value_is_refused_and_explained(problems_by_line, case: Case):
    line = CASES.index(case) + 2
    found = problems_by_line.get(line, [])
    if case.code is None:
        assert found == [], [(p.code, p.message) for p in found]
        return
    assert [(p.code, p.column, p.value) for p in found] == [(case.code, case.column, case.value)]
    words = f"{found[0].message} {found[0].suggestion}"
    for fragment in case.says:
        assert fragment in words, words


def test_the_corpus_covers_every_class():
    kinds = {case.kind for case in CASES}
    assert kinds == {"invisible", "lookalike", "formula", "identifier"}
