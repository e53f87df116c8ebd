"""validate: the tidy tables against the schemas in `schemas/`, before anything is published.

Per-column rules (types, required, enums, patterns, unique keys) come from the Table Schemas
(the stage's tables through pandera's frictionless reader; a whole package in one columnar polars
pass, `pipeline.datapackage.columnar`), so the published schema and the checks are one source of
truth. Domain rules that a Table Schema cannot say (population fits the region, statuses agree
with the cells they describe, keys point somewhere) are `pipeline.findings.rules`, the same
expressions that check contributions and curation files. Every failure becomes a `Problem` with file, line, column, value and
rule; nothing stops at the first one.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from pipeline.core.files import input_refusal
from pipeline.core.problems import Problem
from pipeline.core.vocab import RESOURCES, Vocabulary
from pipeline.findings.rules import published_rules


def read_table(path: Path, table_schema: dict, file: str | None = None):
    """A CSV as its Table Schema types it, plus a Problem for each cell that is not its type.

    Everything is read as text, blank cells are missing; integer and boolean cells are checked
    here (pandera's coercion errors embed tracebacks) and cells that fail become missing, so
    the schema checks that follow report everything else about the row.
    """
    import pandas as pd

    frame = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""], encoding="utf-8")
    problems: list[Problem] = []
    for field in table_schema["fields"]:
        name, kind = field["name"], field.get("type", "string")
        if name not in frame or kind not in ("integer", "boolean"):
            continue
        column = frame[name]
        if kind == "integer":
            valid = column.isna() | column.str.fullmatch(r"[+-]?[0-9]+").fillna(False)
            converted = pd.to_numeric(column.where(valid), errors="coerce").astype("Int64")
        else:
            valid = column.isna() | column.isin(["true", "false"])
            converted = column.where(valid).map({"true": True, "false": False}, na_action="ignore").astype("boolean")
        for index in frame.index[~valid.astype(bool)]:
            problems.append(Problem("type-error", f"the value is not {'an integer' if kind == 'integer' else 'true or false'}",
                                    file=file or str(path), line=int(index) + 2, column=name, value=str(column[index])))
        frame[name] = converted
    return frame, problems


def column_schema(table_schema: dict):
    """pandera schema from a Table Schema (pandera's own reader, its known gaps patched)."""
    from pandera.io.pandas_io import from_frictionless_schema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = from_frictionless_schema(table_schema)
    for field in table_schema["fields"]:
        required = field.get("constraints", {}).get("required", False)
        kind = field.get("type")
        if kind in ("integer", "boolean"):
            schema = schema.update_column(field["name"], dtype="Int64" if kind == "integer" else "boolean",
                                          nullable=not required)
    return schema


def domain_rules(tables: dict) -> dict[str, list[tuple[str, str, object]]]:
    """The rules of `pipeline.findings.rules` over pandas tables: (rule name, column, polars mask of valid
    rows); `tables` are the frames `read_table` returns."""
    rows = {name: _text_frame(frame).to_dicts() for name, frame in tables.items()}
    return {name: [(rule.name, rule.column, rule.valid(rows)) for rule in rules]
            for name, rules in published_rules().items()}


def _text_frame(frame):
    """A pandas frame's text as a polars frame: missing cells null, the rest as written."""
    import polars as pl

    return pl.DataFrame({name: pl.Series(name, [None if _missing(v) else str(v) for v in frame[name]], dtype=pl.String)
                         for name in frame.columns})


def rule_problems(tables: dict, display: dict[str, str]) -> list[Problem]:
    """One problem per row and domain rule it breaks, rows in order."""
    problems: list[Problem] = []
    for name, rules in domain_rules(tables).items():
        frame = _text_frame(tables[name]).with_row_index("_index")
        for rule, column, valid in rules:
            broken = frame.filter(~valid.fill_null(False)).select("_index", column)
            for index, value in broken.iter_rows():
                problems.append(Problem("rule-violation", f"breaks the rule '{rule}'", file=display[name],
                                        line=int(tables[name].index[index]) + 2, column=column, value=value))
    return problems


def check_tables(paths: dict[str, Path], schemas: dict[str, dict], display: dict[str, str] | None = None) -> list[Problem]:
    """Every problem in the four tables, each with file, line (header = line 1), column, value, rule."""
    import pandera.errors

    display = display or {name: str(path) for name, path in paths.items()}
    problems: list[Problem] = []
    tables = {}
    for name in RESOURCES:
        schema = schemas[name]
        try:
            frame, type_problems = read_table(paths[name], schema, display[name])
        except (OSError, ValueError) as error:
            problems.append(Problem("unreadable-table", f"cannot read the table: {error}", file=display[name]))
            continue
        expected = [f["name"] for f in schema["fields"]]
        if list(frame.columns) != expected:
            problems.append(Problem("header-mismatch", "the columns differ from the Table Schema",
                                    file=display[name], line=1, value=",".join(map(str, frame.columns)),
                                    suggestion="expected " + ",".join(expected)))
            continue
        tables[name] = frame
        problems.extend(type_problems)
        try:
            column_schema(schema).validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            typed = {(p.line, p.column) for p in type_problems}
            problems.extend(p for p in _failure_problems(errors.failure_cases, frame, display[name])
                            if (p.line, p.column) not in typed)
    if len(tables) < len(RESOURCES):
        return problems
    problems.extend(rule_problems(tables, display))
    return problems


def _missing(value) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _failure_problems(cases, frame, file: str) -> list[Problem]:
    problems = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        index = case.index
        column = case.column if isinstance(case.column, str) else None
        if "coerce" in check or "dtype" in check:
            message = "the value does not have the column's type"
        elif check == "not_nullable":
            message = "a required value is missing"
        elif check.startswith("field_uniqueness") or "unique" in check:
            message = "the value must be unique in the column"
        else:
            message = f"breaks the rule '{check}'"
        line = int(index) + 2 if isinstance(index, (int,)) or (str(index).isascii() and str(index).isdigit()) else None
        value = None if _missing(case.failure_case) else str(case.failure_case)
        problems.append(Problem("schema-violation", message, file=file, line=line, column=column, value=value))
    return sorted(set(problems), key=lambda p: (p.line or 0, p.column or "", p.message))


def check_vocabulary(vocab: Vocabulary) -> list[Problem]:
    """The vocabularies under schemas/ are data too: they must pass their own Table Schemas."""
    import pandera.errors

    problems: list[Problem] = []
    for name in ("regions", "molecules"):
        path = vocab.root / f"{name}.csv"
        display = f"schemas/{name}.csv"
        schema = vocab.table_schema(name)
        if name == "regions":  # the published table adds the review's layout (schemas/review-layout.csv)
            schema = {**schema, "fields": [f for f in schema["fields"] if not f["name"].startswith("review_")],
                      "foreignKeys": []}
        frame, type_problems = read_table(path, schema, display)
        problems.extend(type_problems)
        try:
            column_schema(schema).validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            problems.extend(_failure_problems(errors.failure_cases, frame, display))
    return problems + _region_links(vocab)


def _region_links(vocab: Vocabulary) -> list[Problem]:
    """`part_of` and the review's layout name known regions; a region is not part of itself."""
    known = {r["region_id"] for r in vocab.regions}
    problems = [Problem("unknown-region", "part_of names a region that schemas/regions.csv lacks",
                        file="schemas/regions.csv", line=line, column="part_of", value=r["part_of"],
                        suggestion="write another row's region_id, or leave it empty")
                for line, r in enumerate(vocab.regions, 2) if r["part_of"] and r["part_of"] not in known]
    problems += [Problem("schema-violation", "part_of names a region of another population",
                         file="schemas/regions.csv", line=line, column="part_of", value=r["part_of"])
                 for line, r in enumerate(vocab.regions, 2) if r["part_of"] in known
                 and vocab.region_by_id[r["part_of"]]["population"] != r["population"]]
    for line, region in enumerate(vocab.regions, 2):
        seen, current = {region["region_id"]}, region["part_of"]
        while current in known and current not in seen:
            seen.add(current)
            current = vocab.region_by_id[current]["part_of"]
        if current in seen:
            problems.append(Problem("region-cycle", "part_of leads round in a circle", file="schemas/regions.csv",
                                    line=line, column="part_of", value=region["part_of"]))
    layout = vocab.layout
    problems += [Problem("unknown-region", "the review's column names a region that schemas/regions.csv lacks",
                         file="schemas/review-layout.csv", line=line, column="region_id", value=row["region_id"],
                         suggestion="add the region to schemas/regions.csv first")
                 for line, row in enumerate(layout, 2) if row["region_id"] not in known]
    columns = [row["review_column"] for row in layout]
    if columns != [str(n) for n in range(1, len(layout) + 1)]:
        problems.append(Problem("schema-violation", "review_column must count 1, 2, 3, … in row order",
                                file="schemas/review-layout.csv", column="review_column", value=" ".join(columns)))
    return problems


def summary(paths: dict[str, Path], vocab: Vocabulary) -> dict:
    """The numbers a reviewer checks first, written as DVC metrics."""
    from collections import Counter

    import pandas as pd

    findings, _ = read_table(paths["findings"], vocab.table_schema("findings"))
    molecules, _ = read_table(paths["molecules"], vocab.table_schema("molecules"))
    with_findings = set(findings["molecule_id"])
    return {
        "findings": int(len(findings)),
        "molecules": int(len(molecules)),
        "molecules_without_findings": int((~molecules["molecule_id"].isin(with_findings)).sum()),
        "direction": dict(sorted(Counter(findings["direction"]).items())),
        "location_status": dict(sorted(Counter(findings["location_status"]).items())),
        "citation_status": dict(sorted(Counter(findings["citation_status"]).items())),
        "sources": int(len(pd.read_csv(paths["sources"], dtype=str))),
        "problems": 0,
    }


def apply_package_rules(tables: dict, schemas: dict, shown: dict) -> list[Problem]:
    """rule-violation for every row a rule of `pipeline.findings.rules` rejects, on the package's typed
    polars tables (a key rule only where no foreign key of the Table Schema already checked it)."""
    rows = {name: frame.drop("__line").to_dicts() for name, frame in tables.items() if name != "findings"}
    problems: list[Problem] = []
    for name, rules in published_rules().items():
        declared = {f for fk in schemas[name].get("foreignKeys") or [] for f in
                    ([fk["fields"]] if isinstance(fk.get("fields"), str) else fk.get("fields") or [])}
        for rule in rules:
            if rule.name.startswith(f"{rule.column} in ") and rule.column in declared:
                continue  # the foreign key already reported it
            broken = tables[name].filter(~rule.valid(rows).fill_null(False)).select("__line", rule.column)
            for line, value in broken.sort("__line").iter_rows():
                problems.append(Problem("rule-violation", f"breaks the rule '{rule.name}'", file=shown[name],
                                        line=line, column=rule.column, value=None if value is None else str(value)))
    return problems


def validate_package(descriptor: Path, progress=None) -> list[Problem]:
    """A whole package (datapackage.json) in one columnar pass (pipeline.datapackage.columnar): hashes,
    sizes, types, constraints and keys from its own Table Schemas, then the domain rules.
    `progress(text)`, if given, hears what is being checked (for big packages)."""
    from pipeline.core.problems import ProblemsFound
    from pipeline.datapackage.columnar import check_resources

    descriptor = Path(descriptor)
    if refusal := input_refusal(descriptor):
        return [refusal]
    try:
        tables, schemas, shown, problems = check_resources(descriptor, progress)
    except ProblemsFound as found:
        return found.problems
    missing = [name for name in RESOURCES if name not in schemas]
    if missing:
        return problems + [Problem("missing-resource", f"the package has no '{name}' resource",
                                   file=str(descriptor)) for name in missing]
    if problems or len(tables) < len(RESOURCES):
        return problems
    if progress:
        progress("checking the domain rules")
    return apply_package_rules(tables, schemas, shown)
