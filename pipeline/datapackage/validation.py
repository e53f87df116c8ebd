"""validate: the tidy tables against the schemas in `schemas/`, before anything is published.

Per-column rules (types, required, enums, patterns, unique and primary keys, foreign keys) come
from the Table Schemas, applied by the columnar engine (`pipeline.datapackage.columnar`: one polars
read per table) to the stage's tables and to a whole package alike, so the published schema and the
checks are one source of truth. The vocabularies under schemas/ are checked with pandera's schemas
built from the same Table Schemas (`column_schema`), and tests/test_validate.py holds pandera and
the columnar engine to the same verdicts on the stage's tables. Domain rules that a Table Schema cannot say (population fits the region, statuses agree
with the cells they describe, keys point somewhere) are `pipeline.findings.rules`, the same
expressions that check contributions and curation files. Every failure becomes a `Problem` with file, line, column, value and
rule; nothing stops at the first one.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from pipeline.core.files import input_refusal
from pipeline.core.problems import Problem
from pipeline.core.vocab import RESOURCES, Vocabulary, species_key, species_spellings_of
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


def checked_tables(paths: dict[str, Path], schemas: dict[str, dict],
                   display: dict[str, str] | None = None) -> tuple[dict, list[Problem]]:
    """The four tables, typed, and every problem in them, each with file, line (header = line 1),
    column, value and rule: the columnar engine (`pipeline.datapackage.columnar`: one polars read
    per table, the Table Schema's types, constraints, primary and foreign keys as expressions), then
    the domain rules of `pipeline.findings.rules` on the typed tables."""
    from pipeline.datapackage.columnar import check_foreign_keys, check_table

    display = display or {name: str(path) for name, path in paths.items()}
    problems: list[Problem] = []
    tables = {}
    for name in RESOURCES:
        refusal = input_refusal(paths[name], display[name])
        if refusal is not None:
            problems.append(Problem("unreadable-table", f"cannot read the table: {refusal.message}", file=display[name]))
            continue
        table, table_problems = check_table(paths[name], {}, schemas[name], display[name], display[name], name)
        problems += table_problems
        if table is not None:
            tables[name] = table
    for name in tables:
        problems += check_foreign_keys(name, tables, schemas, display[name])
    if problems or len(tables) < len(RESOURCES):
        return tables, problems
    return tables, apply_package_rules(tables, schemas, display)


def check_tables(paths: dict[str, Path], schemas: dict[str, dict], display: dict[str, str] | None = None) -> list[Problem]:
    """Every problem in the four tables (checked_tables without the tables)."""
    return checked_tables(paths, schemas, display)[1]


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
    for name in ("regions", "molecules", "species"):
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
    return problems + _region_links(vocab) + _species_spellings(vocab)


def _species_spellings(vocab: Vocabulary) -> list[Problem]:
    """A spelling (name, scientific name, synonym; in any case and spacing) names one species only."""
    owner: dict[str, str] = {}
    problems = []
    for line, row in enumerate(vocab.species, 2):
        for spelling in species_spellings_of(row):
            first = owner.setdefault(species_key(spelling), row["name"])
            if first != row["name"]:
                problems.append(Problem("schema-violation", f"the spelling also names the species '{first}'",
                                        file="schemas/species.csv", line=line, column="synonyms", value=spelling))
    return problems


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


def summary(tables: dict) -> dict:
    """The numbers a reviewer checks first, written as DVC metrics; `tables` from checked_tables."""
    import polars as pl

    findings, molecules = tables["findings"], tables["molecules"]

    def counts(column: str) -> dict[str, int]:
        return dict(sorted(findings.group_by(column).len().iter_rows()))

    return {
        "findings": findings.height,
        "molecules": molecules.height,
        "molecules_without_findings": molecules.filter(~pl.col("molecule_id").is_in(findings["molecule_id"].implode())).height,
        "direction": counts("direction"),
        "location_status": counts("location_status"),
        "citation_status": counts("citation_status"),
        "sources": tables["sources"].height,
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
