"""contrib: a contributed file of findings, checked cell by cell before anyone accepts it.

The rules come from the project's schemas, not from this module: which columns exist and which
are required, the population enum and the reference and free-text patterns from
`schemas/contribution.schema.json`; molecules, measures, directions, regions and species from the
vocabulary CSVs (`pipeline.core.vocab`). Every check is a polars expression over the whole file, so
a million rows take about a second; Python runs only once per distinct bad value, to word the
message and find the nearest valid value. Problems are reported all at once, each with its
line (header = line 1), column, value and, where one exists, a suggestion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.contributions.package_index import CANDIDATE_KEY, problem_rows, references_key, row_failures
from pipeline.contributions.sheets import (
    Sheet,
    column_name,
    read_sheet,
)
from pipeline.contributions import text
from pipeline.core.problems import Problem
from pipeline.core.vocab import Vocabulary
from pipeline.contributions.wording import (
    describe_direction,
    describe_measure,
    describe_molecule,
    describe_population,
    describe_reference,
    describe_region,
    describe_region_population,
    describe_species,
    describe_unknown_species,
    hint,
    near_misses,
    nearest,
)
from pipeline.findings import rules as domain
from pipeline.findings.cells import default_measure

SCHEMA = "contribution"
ROW_KEYS = ("line", "molecule_id", "molecule_label", "measure", "direction", "population", "region_id",
            "species", "references", "qualifier", "notes", "source_text")
@dataclass
class CheckedFile:
    """One checked file: its valid rows, normalised, and every problem (errors and warnings)."""

    path: str                      # as given
    sheet: str | None              # the XLSX sheet read, else None
    rows: list[dict[str, str]]     # normalised VALID rows, keys ROW_KEYS (line is an int)
    problems: list[Problem]        # errors and warnings (severity "error"/"warning"), by line
    row_count: int                 # data rows read
    counts: dict[str, int] = field(default_factory=dict)  # code → how many, complete even when capped
    omitted: int = 0               # problems left out of `problems` by max_errors

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def contribution_schema(vocab: Vocabulary) -> dict:
    """schemas/contribution.schema.json with the vocabularies as enums: the whole rule set, for any
    Table Schema tool (the benchmark runs `frictionless validate` with it)."""
    schema = vocab.table_schema(SCHEMA)
    enums = {
        "molecule": [m["label"] for m in vocab.molecules] + [m["molecule_id"] for m in vocab.molecules],
        "measure": list(vocab.measures),
        "direction": list(_direction_spellings(vocab)),
        "region": [r["label"] for r in vocab.regions] + [r["region_id"] for r in vocab.regions],
    }
    for spec in schema["fields"]:
        if spec["name"] in enums:
            spec.setdefault("constraints", {})["enum"] = list(dict.fromkeys(enums[spec["name"]]))
    return schema


def _direction_spellings(vocab: Vocabulary) -> dict[str, str]:
    spellings = {}
    for row in vocab.directions:
        for spelling in (row["direction"], row["symbol"], row.get("ascii", "")):
            if spelling:
                spellings[spelling] = row["direction"]
    return spellings


def check_file(path: Path, vocab: Vocabulary | None = None,
               package_findings: list[dict[str, str]] | None = None, *,
               max_errors: int | None = None, with_rows: bool = True) -> CheckedFile:
    """Read and check one contribution (CSV, TSV, XLSX) against the vocabularies and, when given,
    the findings already in the package. `max_errors` caps the problems listed per severity
    (counts stay complete); `with_rows=False` skips building the valid rows."""
    return check_sheet(read_sheet(Path(path), str(path)), vocab or Vocabulary(), package_findings,
                       max_errors=max_errors, with_rows=with_rows)


def check_sheet(sheet: Sheet, vocab: Vocabulary, package_findings: list[dict[str, str]] | None = None, *,
                max_errors: int | None = None, with_rows: bool = True) -> CheckedFile:
    import polars as pl

    if sheet.frame is None:
        return _finish(CheckedFile(sheet.path, sheet.sheet, [], [], 0), sheet.problems, None, max_errors)
    schema = contribution_schema(vocab)
    columns, file_problems = map_header(sheet, schema, vocab)
    file_problems = list(sheet.problems) + file_problems
    rows = schema_columns(sheet.frame, columns, schema)
    checked = CheckedFile(sheet.path, sheet.sheet, [], [], rows.height)
    if rows.height == 0:
        file_problems.append(Problem("no-findings", "the file has no findings: no row under the header",
                                     file=sheet.path, suggestion="add one finding per row under the header "
                                     "(lines starting with # are ignored)"))
        return _finish(checked, file_problems, None, max_errors)

    failures, rows = _cell_failures(_normalise(rows, vocab, schema, with_rows), schema, columns, vocab)
    flagged = [p.line for p in file_problems if p.severity == "error" and p.line is not None]  # ragged rows
    needed = ["line", "molecule", "direction", "species", "qualifier", *CANDIDATE_KEY, "direction_norm"]
    if with_rows:
        needed += ["molecule_label", "references_norm", "notes"]
    consistent = rows.select(list(dict.fromkeys(needed)))
    if flagged or not rows["cells_ok"].all():
        consistent = consistent.filter(rows["cells_ok"] & ~rows["line"].is_in(flagged))
    across = row_failures(consistent, package_findings)
    table = pl.concat(failures + across, how="vertical") if failures + across else None
    if with_rows:
        later = pl.concat([f["line"] for f in across]).unique().to_list() if across else []
        valid = consistent.filter(~pl.col("line").is_in(later))
        checked.rows = valid.select(
            "line", "molecule_id", "molecule_label", pl.col("measure_final").alias("measure"),
            pl.col("direction_norm").alias("direction"), pl.col("population_norm").alias("population"),
            "region_id", "species", pl.col("references_norm").alias("references"), "qualifier", "notes",
            pl.col("direction").alias("source_text"),
        ).to_dicts()
    return _finish(checked, file_problems, table, max_errors)


def map_header(sheet: Sheet, schema: dict, vocab: Vocabulary | None = None) -> tuple[dict[str, str], list[Problem]]:
    """Contribution column → frame column, and every problem with the header row."""
    import polars as pl

    columns_near = near_misses(vocab or Vocabulary(), "column")
    fields = [spec["name"] for spec in schema["fields"]]
    required = [spec["name"] for spec in schema["fields"] if spec.get("constraints", {}).get("required")]
    where = {"file": sheet.path, "line": sheet.header_line}
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    unknown: list[tuple[str, str]] = []
    for position, written in enumerate(sheet.header):
        name = re.sub(r"[\s-]+", "_", written.strip().casefold())
        if not name:
            filled = sheet.frame.filter(pl.col(column_name(position)) != "")
            if filled.height:
                problems.append(Problem("unnamed-column", f"column {position + 1} has no header but holds values",
                                        column=f"column {position + 1}", value=filled[column_name(position)][0],
                                        suggestion="give it a header from `ketamap template` or delete it", **where))
            continue
        if name in mapping:
            problems.append(Problem("duplicate-column", f"the column '{name}' appears twice; only the first is read",
                                    column=written, value=written, suggestion="delete or rename one of them", **where))
        elif name in fields:
            mapping[name] = column_name(position)
        else:
            unknown.append((written, name))
    renames = {}
    for written, name in unknown:
        near = nearest(name, [f for f in fields if f not in mapping], columns_near) or nearest(name, fields, columns_near)
        if near:
            renames.setdefault(near, written)
        problems.append(Problem("unknown-column", f"'{written}' is not a column of a contribution", column=written,
                                value=written, suggestion=f"rename it to '{near}'" if near else
                                "the columns are " + ", ".join(fields) + " (see `ketamap template`)", **where))
    for name in required:
        if name not in mapping:
            hint = f"rename '{renames[name]}' to '{name}'" if name in renames else \
                f"add a '{name}' column (see `ketamap template`)"
            problems.append(Problem("missing-column", f"the required column '{name}' is missing", column=name,
                                    suggestion=hint, **where))
    return mapping, problems


def schema_columns(frame, columns: dict[str, str], schema: dict):
    """`line` and one column per schema field, by its name and in schema order (`columns` from
    `map_header`); a field the file lacks reads as empty cells."""
    import polars as pl

    return frame.select("line", *[(pl.col(columns[spec["name"]]) if spec["name"] in columns
                                   else pl.lit("", dtype=pl.String)).alias(spec["name"]) for spec in schema["fields"]])


def _normalise(rows, vocab: Vocabulary, schema: dict, with_labels: bool = True):
    """The cells in canonical form beside the cells as written; null where a cell has no canonical form.

    Lookups are hash-map replacements, not joins, and the costlier rewrites (reference spellings,
    the order-free reference key) run only on the few cells that need them.
    """
    import polars as pl

    col = pl.col
    directions = _direction_spellings(vocab)
    populations = {p: p for p in _field(schema, "population")["constraints"]["enum"]}
    measures = {m: m for m in vocab.measures}
    by_key: dict[str, dict[str, str]] = {}
    for key in ("label", "molecule_id"):  # a label wins over another molecule's id spelled the same
        for molecule in vocab.molecules:
            by_key.setdefault(molecule[key], molecule)
    any_region = {key: key for table in domain.region_spellings(vocab.regions).values() for key in table}

    # extract's rule, asked once per distinct qualifier: does it override the molecule's own measure?
    qualifiers = rows["qualifier"].unique().to_list()
    overrides = {q: m for q in qualifiers if (m := default_measure({"measure": None}, q)) is not None}

    def lookup(expr, table: dict[str, str]):
        return expr.replace_strict(table, default=None, return_dtype=pl.String)

    # One pass, every column in parallel: exact spellings (nearly all cells) ...
    folded = {"direction_norm": ("direction", directions), "population_norm": ("population", populations),
              "measure_norm": ("measure", measures), "region_canon": ("region", any_region)}
    pattern = f"^(?:{_field(schema, 'reference')['constraints']['pattern']})$"
    rows = rows.with_columns(
        *[lookup(col(source), {**{k.casefold(): v for k, v in table.items()}, **table}).alias(name)
          for name, (source, table) in folded.items()],
        molecule_id=lookup(col("molecule"), {k: m["molecule_id"] for k, m in by_key.items()}),
        molecule_label=lookup(col("molecule"), {k: m["label"] for k, m in by_key.items()}) if with_labels
        else pl.lit(None, dtype=pl.String),
        molecule_measure=lookup(col("molecule"), {k: m["measure"] for k, m in by_key.items()}),
        reference_ok=col("reference").str.contains(pattern).fill_null(False),
        reference_list=col("reference").str.contains(";", literal=True).fill_null(False),
        species_name=lookup(col("species"), vocab.species_spellings),
    )
    # ... then the few other cells: letter case folded (a species' spaces too), reference spellings repaired.
    repaired = {name: _fold_misses(rows[source], rows[name], table) for name, (source, table) in folded.items()}
    repaired["species_name"] = _fold_misses(rows["species"], rows["species_name"], vocab.species_spellings,
                                            domain.species_spelling)
    references, reference_ok = _normalised_references(rows["reference"], rows["reference_ok"], pattern)
    rows = rows.with_columns(*[series.alias(name) for name, series in repaired.items()],
                             references_norm=references, reference_ok=_balanced(references, reference_ok))
    rows = rows.with_columns(
        region_id=domain.resolve_region(col("region_canon"), col("population_norm"), vocab.regions),
        region_known=col("region_canon").is_not_null(),
        species_population=lookup(col("species_name"), {s["name"]: s["population"] for s in vocab.species}),
        measure_final=pl.when(col("measure") == "")
        .then(pl.coalesce(lookup(col("qualifier"), overrides), col("molecule_measure")))
        .otherwise(col("measure_norm")),
    )
    return rows.with_columns(references_key=references_key(rows["references_norm"], rows["reference_list"]))


def _fold_misses(series, found, spellings: dict[str, str], fold=None):
    """`found` (the exact lookup of `series` in `spellings`) completed with the cells spelled in
    another letter case (or as `fold` rewrites them); only the cells that missed are rewritten."""
    import polars as pl

    misses = (found.is_null() & (series != "")).arg_true()
    if misses.len() == 0:
        return found
    folded = {key.casefold(): value for key, value in spellings.items()}
    missed = series.gather(misses)
    rescued = (fold(missed) if fold else missed.str.to_lowercase()).replace_strict(folded, default=None,
                                                                                   return_dtype=pl.String)
    if rescued.null_count() == rescued.len():
        return found
    return found.scatter(misses, rescued)


def _normalised_references(series, valid, pattern: str):
    """The reference cells in canonical spelling, and whether each is a valid reference list. Only
    the cells that are not valid as written (few, usually) are rewritten and checked again."""
    positions = (~valid & (series != "")).arg_true()
    if positions.len() == 0:
        return series, valid
    written = series.gather(positions)
    rewritten = (written.str.replace_all(r"\s*;\s*", ";").str.replace_all(r"(?i)\bpmid\s*:\s*", "PMID:")
                 .str.strip_chars(";"))
    changed = (rewritten != written).fill_null(False)
    if not changed.any():  # nothing to repair: spare copying a million cells
        return series, valid
    positions, rewritten = positions.filter(changed), rewritten.filter(changed)
    return (series.clone().scatter(positions, rewritten),
            valid.clone().scatter(positions, rewritten.str.contains(pattern).fill_null(False)))


def _balanced(references, valid):
    """`valid`, false also where an item ends in a ')' it never opened (the few cells with a ')' at an end)."""
    import polars as pl

    positions = (valid & references.str.contains(r"\)(;|$)")).arg_true()
    if positions.len() == 0:
        return valid
    ends = references.gather(positions).map_elements(lambda r: not text.unbalanced_parenthesis(r),
                                                    return_dtype=pl.Boolean)
    return valid.clone().scatter(positions, ends)


def _field(schema: dict, name: str) -> dict:
    return next(spec for spec in schema["fields"] if spec["name"] == name)


def _cell_failures(rows, schema: dict, columns: dict[str, str], vocab: Vocabulary) -> tuple[list, object]:
    """Per-cell rules, each a mask over all rows, evaluated together in one pass; the bad rows become
    problem rows. Also returns the rows with `cells_ok` (no rule failed), a known species by its name."""
    import polars as pl

    col = pl.col
    filled = {name: col(name) != "" for name in columns}
    rules, plain = _text_rules(rows, schema, columns, filled)
    for spec in schema["fields"]:
        name = spec["name"]
        if spec.get("constraints", {}).get("required") and name in columns:
            rules.append((col(name) == "", "missing-value", name,
                          lambda v, n=name: (f"the {n} is required", hint(n, vocab)), None, None))
    rules += _vocabulary_rules(columns, {n: filled[n] & plain[n] for n in columns}, vocab)
    masks = [f"_rule{i}" for i in range(len(rules))]
    rows = rows.with_columns(*[rule[0].fill_null(False).alias(m) for rule, m in zip(rules, masks)])
    rows = rows.with_columns(cells_ok=~pl.any_horizontal(masks) if masks else pl.lit(True))
    hits = rows.select(col(m).any() for m in masks).row(0) if masks else ()
    failures = [problem_rows(rows, col(m), *rule[1:]) for rule, m, hit in zip(rules, masks, hits) if hit]
    rows = rows.with_columns(species=pl.coalesce("species_name", "species"))  # a known species by its name
    return [f for f in failures if f is not None], rows


def _vocabulary_rules(columns: dict[str, str], filled: dict, vocab: Vocabulary) -> list[tuple]:
    """Rules of the cells a vocabulary names, and the domain rules between them (pipeline.findings.rules);
    `filled`: the cells that hold plain text (a lookalike or invisible character is reported instead)."""
    import polars as pl

    col = pl.col
    rules = []

    def add(mask, code, column, describe, keys=None, value=None):
        rules.append((mask, code, column, describe, keys, value))

    if "molecule" in columns:
        add(filled["molecule"] & col("molecule_id").is_null(), "unknown-molecule", "molecule",
            lambda v: describe_molecule(v, vocab))
    if "direction" in columns:
        add(filled["direction"] & col("direction_norm").is_null(), "unknown-direction", "direction",
            lambda v: describe_direction(v, vocab))
    if "population" in columns:
        add(filled["population"] & col("population_norm").is_null(), "unknown-population", "population",
            lambda v: describe_population(v, vocab))
    if "region" in columns:
        anywhere = col("region_known")
        fits = domain.population_fits_region(col("region_canon"), col("population_norm"), vocab.regions)
        add(filled["region"] & anywhere & col("population_norm").is_not_null() & ~fits,
            "region-population-mismatch", "region",
            lambda v, p: describe_region_population(v, p, vocab), keys=["region", "population_norm"])
        add(filled["region"] & ~anywhere, "unknown-region", "region", lambda v, p: describe_region(v, p, vocab),
            keys=["region", "population_norm"])
    if "species" in columns:
        known = col("species_name").is_not_null()
        add(filled["species"] & ~known, "unknown-species", "species", lambda v: describe_unknown_species(v, vocab))
        if "population" in columns:
            fits = domain.species_fits_population(col("species_population"), col("population_norm"))
            add(filled["species"] & known & col("population_norm").is_not_null() & ~fits,
                "species-population-mismatch", "species", lambda v, p: describe_species(v, p, vocab),
                keys=["species", "population_norm"])
    if "measure" in columns:
        add(filled["measure"] & col("measure_norm").is_null(), "unknown-measure", "measure",
            lambda v: describe_measure(v, vocab))
    if "reference" in columns:
        add(filled["reference"] & ~col("reference_ok"), "bad-reference", "reference", describe_reference)
    return rules


def _text_rules(rows, schema: dict, columns: dict[str, str], filled: dict) -> tuple[list[tuple], dict]:
    """Rules of the text itself, in every column: invisible characters, lookalike letters in the
    vocabulary columns, formula-like free text. Also: per column, where the text is plain.

    The characters are looked for in each column's distinct values (few, in the vocabulary columns)
    and, for the reference, only in the cells that are not a valid reference anyway."""
    import polars as pl

    col = pl.col
    rules, plain = [], {}
    for name in columns:
        cells = rows.filter(~col("reference_ok"))[name] if name == "reference" else rows[name]
        values = cells.unique()
        invisible = values.filter(values.str.contains(text.INVISIBLE)).to_list()
        lookalike = values.filter(values.str.contains(text.LOOKALIKE)).to_list() \
            if name in text.VOCABULARY_COLUMNS else []
        lookalike = [v for v in lookalike if v not in set(invisible)]
        if invisible:
            rules.append((col(name).is_in(invisible), "invisible-character", name, text.describe_invisible, None, None))
        if lookalike:
            rules.append((col(name).is_in(lookalike), "lookalike-character", name, text.describe_lookalike, None, None))
        plain[name] = ~col(name).is_in(invisible + lookalike) if invisible or lookalike else pl.lit(True)
    for spec in schema["fields"]:
        name, pattern = spec["name"], spec.get("constraints", {}).get("pattern")
        if name in columns and pattern and name != "reference":
            formula = filled[name] & plain[name] & ~col(name).str.contains(f"^(?:{pattern})$")
            rules.append((formula, "formula-like", name, text.describe_formula, None, None))
            plain[name] = plain[name] & ~formula  # one problem per cell: a formula is no unknown species
    return rules, plain


HEADER_CODES = frozenset({"unnamed-column", "duplicate-column", "unknown-column", "missing-column"})


def column_order() -> dict[str, int]:
    """Contribution column → its rank in the template: the order of a line's problems."""
    return {field["name"]: rank for rank, field in enumerate(Vocabulary().table_schema(SCHEMA)["fields"])}


def _finish(checked: CheckedFile, file_problems: list[Problem], table, max_errors: int | None,
            order: dict[str, int] | None = None) -> CheckedFile:
    """Counts per code (complete), then the problems in line order (columns as the template orders them),
    capped per severity; `order`: column_order(), when the caller has it already."""
    import polars as pl

    order = order or column_order()

    counts: dict[str, int] = {}
    for problem in file_problems:
        counts[problem.code] = counts.get(problem.code, 0) + 1
    listed = [p for p in file_problems if p.line is None or p.code in HEADER_CODES]
    row_level = [p for p in file_problems if not (p.line is None or p.code in HEADER_CODES)]  # linear, not `not in listed`
    if table is not None and table.height:
        for code, count in table.group_by("code").len().iter_rows():
            counts[code] = counts.get(code, 0) + count
        rank = pl.col("column").replace_strict(order, default=len(order), return_dtype=pl.Int32)
        table = table.sort([pl.col("line"), rank, pl.col("code")], maintain_order=True)
        if max_errors:
            table = table.filter(pl.int_range(pl.len()).over("severity") < max_errors)
        row_level += [Problem(code, message, checked.path, line, column, value, suggestion, severity)
                      for line, code, column, value, message, suggestion, severity in table.iter_rows()]
    row_level.sort(key=lambda p: (p.line or 0, order.get(p.column, len(order)), p.code))
    if max_errors:
        kept, seen = [], {"error": 0, "warning": 0}
        for problem in row_level:
            seen[problem.severity] = seen.get(problem.severity, 0) + 1
            if seen[problem.severity] <= max_errors:
                kept.append(problem)
        row_level = kept
    checked.problems = listed + row_level
    checked.counts = dict(sorted(counts.items()))
    checked.omitted = sum(counts.values()) - len(checked.problems)
    return checked


def report_json(files: list[CheckedFile]) -> dict:
    """The JSON report (valid, files, errors, warnings), plus `counts` per file (complete when lists are capped)."""
    return {
        "valid": all(f.valid for f in files),
        "files": [{
            "path": f.path,
            "valid": f.valid,
            "rows": f.row_count,
            "errors": [p.as_json() for p in f.problems if p.severity == "error"],
            "warnings": [p.as_json() for p in f.problems if p.severity != "error"],
            "counts": f.counts,
        } for f in files],
    }
