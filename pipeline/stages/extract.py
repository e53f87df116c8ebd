"""extract: the review (text export or JATS), accepted contributions and curation → data/interim/."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.contributions.intake import Findings, fold_in
from pipeline.core.files import atomic_write_bytes, atomic_write_text, write_csv
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.settings import read_params
from pipeline.core.vocab import Vocabulary
from pipeline.datapackage.validation import check_vocabulary
from pipeline.sources.reconcile import REPORT_NAME, render_text
from pipeline.sources.review import review_tables


def run(root: Path = Path(".")) -> list[Problem]:
    params = read_params(root)
    vocab = Vocabulary(root / "schemas")
    problems = check_vocabulary(vocab)
    if problems:
        raise ProblemsFound(problems)
    interim = root / params["paths"]["interim"]
    tables, report = review_tables(root, params["source"], vocab)
    tables = fold_in(tables, root, params, vocab)
    warnings = []
    if report is None:  # the folder persists between runs (dvc.yaml): no stale report
        (interim / REPORT_NAME).unlink(missing_ok=True)
    else:
        atomic_write_text(interim / REPORT_NAME, json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        if report["disagreements"]:
            warnings.append(Problem(
                "sources-disagree", "the JATS table and the text export disagree; findings follow the JATS\n"
                + render_text(report).rstrip("\n"), file=(Path(params["paths"]["interim"]) / REPORT_NAME).as_posix(),
                severity="warning"))
    for resource, rows in tables.items():
        if isinstance(rows, Findings):  # contributed findings stay polars frames to the end
            atomic_write_bytes(interim / f"{resource}.csv", rows.csv_bytes(vocab.field_names(resource)))
        else:
            write_csv(interim / f"{resource}.csv", vocab.field_names(resource), rows)
    return warnings
