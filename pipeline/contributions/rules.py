"""contrib: a contributed file of findings, checked cell by cell before anyone accepts it.

The rules come from the project's schemas, not from this module: which columns exist and which
are required, the population enum and the reference and free-text patterns from
`schemas/contribution.schema.json`; molecules, measures, directions, regions and species from the
vocabulary CSVs (`pipeline.core.vocab`). Every check is a polars expression over the whole file, so
a million rows take about a second; Python runs only once per distinct bad value, to word the
message and find the nearest valid value. Problems are reported all at once, each with its
line (header = line 1), column, value and, where one exists, a suggestion. A file is read and
checked chunk by chunk; the cell rules of one chunk are `pipeline.contributions.cells`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.contributions.cells import Combinations, _add_counts, _check_chunk, _count
from pipeline.contributions.normalise import _direction_spellings
from pipeline.contributions.package_index import Across, PackageIndex
from pipeline.contributions.sheets import (
    LIMITS,
    Sheet,
    SheetLimits,
    column_name,
    read_sheet,
)
from pipeline.contributions.stream import CHUNK_BYTES, Irregular, stream_sheet
from pipeline.core.ordered import ordered_map
from pipeline.core.problems import Problem
from pipeline.core.vocab import Vocabulary
from pipeline.contributions.wording import near_misses, nearest

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


def check_file(path: Path, vocab: Vocabulary | None = None,
               package_findings: PackageIndex | list[dict[str, str]] | None = None, *,
               max_errors: int | None = None, with_rows: bool = True, limits: SheetLimits = LIMITS,
               chunk_bytes: int = CHUNK_BYTES) -> CheckedFile:
    """Read and check one contribution (CSV, TSV, XLSX) against the vocabularies and, when given,
    the findings already in the package. `max_errors` caps the problems listed per severity
    (counts stay complete); `with_rows=False` skips building the valid rows. A big text file is
    checked chunk by chunk (`pipeline.contributions.stream`), never held whole."""
    vocab = vocab or Vocabulary()
    sheet = stream_sheet(Path(path), str(path), limits, chunk_bytes)
    try:
        return check_sheet(sheet, vocab, package_findings, max_errors=max_errors, with_rows=with_rows)
    except Irregular:  # a chunk the streamed reader cannot vouch for: the whole-file reader says why
        return check_sheet(read_sheet(Path(path), str(path), limits), vocab, package_findings,
                           max_errors=max_errors, with_rows=with_rows)
    finally:
        sheet.close()


def check_sheet(sheet: Sheet, vocab: Vocabulary, package_findings: PackageIndex | list[dict[str, str]] | None = None,
                *, max_errors: int | None = None, with_rows: bool = True) -> CheckedFile:
    """Check a read sheet chunk by chunk (`Sheet.parts()`, two at a time): the cell rules per chunk, keeping
    the complete counts and the first `max_errors` problems; the rules across rows at the end (`Across`)."""
    import polars as pl

    if not sheet.readable:
        return _finish(CheckedFile(sheet.path, sheet.sheet, [], [], 0), sheet.problems, None, max_errors)
    schema = contribution_schema(vocab)
    columns, _ = map_header(sheet, schema, vocab, filled={})
    unnamed = {position: None for position, written in enumerate(sheet.header) if not written.strip()}
    across = Across(package_findings, keep_all=with_rows)
    counts: dict[str, int] = {}
    kept, row_problems, height = [], [], 0
    listed = 0  # errors among the kept problem rows: once max_errors are, a later chunk's are only counted
    seen = Combinations()

    def check_part(part):
        listing = not max_errors or listed < max_errors  # (the chunks before this one hold the first errors)
        frame, problems = part()
        return frame, problems, _check_chunk(frame, columns, schema, vocab, with_rows, sheet.problems + problems,
                                             listing, seen)

    def chunks(lines=None):  # two chunks parsed and checked side by side (polars lets go of the GIL), in order
        yield from ordered_map(check_part, sheet.parts(lines, trim=False))  # _check_chunk trims what it reads

    for frame, problems, (failures, tally, keys, full, rows) in chunks():
        for position in [p for p, value in unnamed.items() if value is None]:
            unnamed[position] = _first_filled(frame, position)
        row_problems, height = row_problems + problems, height + rows
        _add_counts(counts, tally.items())
        if failures is not None:
            kept.append(_capped(failures, max_errors))
            listed += kept[-1].filter(pl.col("severity") == "error").height
        if keys is not None:
            across.add(keys, full)
    _, header_problems = map_header(sheet, schema, vocab, filled={p: v for p, v in unnamed.items() if v is not None})
    file_problems = list(sheet.problems) + header_problems + row_problems
    checked = CheckedFile(sheet.path, sheet.sheet, [], [], height)
    if height == 0:
        file_problems.append(Problem("no-findings", "the file has no findings: no row under the header",
                                     file=sheet.path, suggestion="add one finding per row under the header "
                                     "(lines starting with # are ignored)"))
        return _finish(checked, file_problems, None, max_errors)
    found = across.failures(lambda lines: (result[3](None) for _, _, result in chunks(lines) if result[3]))
    _count(counts, found)
    tables = kept + ([found] if found is not None else [])
    if with_rows:
        checked.rows = across.valid(found).select(
            "line", "molecule_id", "molecule_label", pl.col("measure_final").alias("measure"),
            pl.col("direction_norm").alias("direction"), pl.col("population_norm").alias("population"),
            "region_id", "species", pl.col("references_norm").alias("references"), "qualifier", "notes",
            pl.col("direction").alias("source_text"),
        ).to_dicts()
    return _finish(checked, file_problems, pl.concat(tables, how="vertical") if tables else None, max_errors,
                   table_counts=counts)


def _first_filled(frame, position: int) -> str | None:
    """The first value of column `position` that is not empty, or None."""
    import polars as pl

    name = column_name(position)
    if name not in frame.columns:
        return None
    filled = frame.select(pl.col(name).str.strip_chars()).filter(pl.col(name) != "")
    return filled[name][0] if filled.height else None


def map_header(sheet: Sheet, schema: dict, vocab: Vocabulary | None = None,
               filled: dict[int, str] | None = None) -> tuple[dict[str, str], list[Problem]]:
    """Contribution column → frame column, and every problem with the header row. `filled`: the first
    value of each unnamed column that holds one (default: looked up in `sheet.frame`)."""
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
            value = filled.get(position) if filled is not None else _first_filled(sheet.frame, position)
            if value is not None:
                problems.append(Problem("unnamed-column", f"column {position + 1} has no header but holds values",
                                        column=f"column {position + 1}", value=value,
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


HEADER_CODES = frozenset({"unnamed-column", "duplicate-column", "unknown-column", "missing-column"})


def column_order() -> dict[str, int]:
    """Contribution column → its rank in the template: the order of a line's problems."""
    return {field["name"]: rank for rank, field in enumerate(Vocabulary().table_schema(SCHEMA)["fields"])}


def _sorted(table, order: dict[str, int] | None = None):
    """Problem rows in line order, columns as the template orders them, then by code."""
    import polars as pl

    order = order or column_order()
    rank = pl.col("column").replace_strict(order, default=len(order), return_dtype=pl.Int32)
    return table.sort([pl.col("line"), rank, pl.col("code")], maintain_order=True)


def _capped(table, max_errors: int | None, order: dict[str, int] | None = None):
    """The first `max_errors` problem rows per severity (all when None), in order."""
    import polars as pl

    table = _sorted(table, order)
    return table.filter(pl.int_range(pl.len()).over("severity") < max_errors) if max_errors else table


def _finish(checked: CheckedFile, file_problems: list[Problem], table, max_errors: int | None,
            order: dict[str, int] | None = None, table_counts: dict[str, int] | None = None) -> CheckedFile:
    """Counts per code (complete), then the problems in line order (columns as the template orders them),
    capped per severity; `order`: column_order(), when the caller has it already. `table_counts`: the
    counts of the problem rows when `table` holds only the first of them (checked chunk by chunk); by
    default the table is counted."""
    order = order or column_order()
    counts: dict[str, int] = {}
    for problem in file_problems:
        counts[problem.code] = counts.get(problem.code, 0) + 1
    listed = [p for p in file_problems if p.line is None or p.code in HEADER_CODES]
    row_level = [p for p in file_problems if not (p.line is None or p.code in HEADER_CODES)]  # linear, not `not in listed`
    if table is not None and table.height:
        for code, count in (table_counts or dict(table.group_by("code").len().iter_rows())).items():
            counts[code] = counts.get(code, 0) + count
        row_level += [Problem(code, message, checked.path, line, column, value, suggestion, severity)
                      for line, code, column, value, message, suggestion, severity
                      in _capped(table, max_errors, order).iter_rows()]
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
