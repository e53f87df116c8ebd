"""validate: the interim tables against the Table Schemas and domain rules → metrics/validation.json."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.core.files import atomic_write_text
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.settings import read_params
from pipeline.core.vocab import RESOURCES, Vocabulary
from pipeline.datapackage.validation import checked_tables, summary


def run(root: Path = Path(".")) -> list[Problem]:
    params = read_params(root)
    vocab = Vocabulary(root / "schemas")
    interim = root / params["paths"]["interim"]
    paths = {name: interim / f"{name}.csv" for name in RESOURCES}
    display = {name: (Path(params["paths"]["interim"]) / f"{name}.csv").as_posix() for name in RESOURCES}
    tables, problems = checked_tables(paths, {name: vocab.table_schema(name) for name in RESOURCES}, display)
    if problems:
        raise ProblemsFound(problems)
    atomic_write_text(root / params["paths"]["metrics"], json.dumps(summary(tables), indent=2) + "\n")
    return []
