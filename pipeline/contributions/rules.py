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

from pipeline.contributions.package_index import (
    Across,
    PackageIndex,
    key_hash,
    located_hash,
    problem_rows,
)
from pipeline.contributions.sheets import (
    LIMITS,
    Sheet,
    SheetLimits,
    column_name,
    read_sheet,
)
from pipeline.contributions.normalise import (
    _direction_spellings,
    _normalise_cells,
    _normalise_references,
)
from pipeline.contributions.stream import CHUNK_BYTES, Irregular, stream_sheet
from pipeline.contributions import text
from pipeline.core.ordered import ordered_map
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
        for code, count in tally.items():
            counts[code] = counts.get(code, 0) + count
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


def _count(counts: dict[str, int], table) -> None:
    for code, count in (table.group_by("code").len().iter_rows() if table is not None else ()):
        counts[code] = counts.get(code, 0) + count


def _first_filled(frame, position: int) -> str | None:
    """The first value of column `position` that is not empty, or None."""
    import polars as pl

    name = column_name(position)
    if name not in frame.columns:
        return None
    filled = frame.select(pl.col(name).str.strip_chars()).filter(pl.col(name) != "")
    return filled[name][0] if filled.height else None


# Checked per row; every other column has few distinct values in a file, and is checked per
# distinct combination of them (`_check_chunk`).
PER_ROW = ("reference", "notes")


class Combinations:
    """The combinations of vocabulary cells the chunks of one file have normalised and checked, shared
    by the chunks (and the threads checking them), so that a chunk works only on the combinations no
    chunk before it had: after the first chunks, nearly none. At most LIMIT are kept (a file of
    garbage has a new combination per row); past that, each chunk works on its own again."""

    LIMIT = 100_000

    def __init__(self):
        import threading

        self._frame, self._bad, self._lock = None, None, threading.Lock()

    def known(self):
        """The combinations kept (a frame, or None) and the rules they break (`_combo`, `code`; or None)."""
        with self._lock:
            return self._frame, self._bad

    def add(self, combos, bad) -> None:
        import polars as pl

        with self._lock:
            if (self._frame.height if self._frame is not None else 0) + combos.height > self.LIMIT:
                return
            if self._frame is not None:  # (another thread may have added some of them meanwhile)
                combos = combos.filter(~pl.col("_combo").is_in(self._frame["_combo"].implode()))
            self._frame = _joined(self._frame, combos)
            bad = bad.filter(pl.col("_combo").is_in(combos["_combo"].implode()))
            self._bad = _joined(self._bad, bad)


def _joined(first, second):
    """Two frames one after the other (either may be None)."""
    import polars as pl

    return second if first is None else first if second is None else \
        pl.concat([first, second], how="vertical", rechunk=False)


def _check_chunk(frame, columns: dict[str, str], schema: dict, vocab: Vocabulary, with_rows: bool,
                 problems: list[Problem], listing: bool = True, seen: Combinations | None = None):
    """One chunk: the table of its cell problems (or None; not built unless `listing`), how many
    there are per code, the line and candidate-key hash of its rows whose cells passed (or None), a
    function building those rows in full (`rows(lines=None)`, with the columns the rules across rows
    need) and how many rows the chunk has.

    The vocabulary columns (molecule … qualifier) are normalised and checked once per distinct
    combination of their cells (a few thousand in a million rows; those `seen` in the chunks before
    are not checked again), and the rows of a combination that breaks a rule are checked again as
    rows, for their lines; the references and notes are checked per row. The rules and their problems
    are the same as over every row. (A combination is told by a 64-bit hash of its cells: two
    combinations of one file sharing one, about 1 in 10^9 for 100,000 combinations, would give one
    the other's result.)"""
    import polars as pl

    rows = schema_columns(frame, columns, schema)
    if rows.height == 0:
        return None, {}, None, None, 0
    low = [spec["name"] for spec in schema["fields"] if spec["name"] not in PER_ROW]
    rows = rows.with_columns(pl.col("notes").str.strip_chars(),  # cells may come untrimmed (the references:
                             _combo=rows.select(low).hash_rows(seed=20221))  # trimmed by _normalise_references)
    low_columns = {name: source for name, source in columns.items() if name in low}
    known, bad = seen.known() if seen is not None else (None, None)
    fresh = rows.select("_combo", *low)
    fresh = fresh if known is None else fresh.filter(~pl.col("_combo").is_in(known["_combo"].implode()))
    combos = fresh.gather(fresh["_combo"].arg_unique())
    if combos.height or known is None:
        combos = _normalise_cells(combos.with_columns(pl.col(low).str.strip_chars(), line=pl.lit(0, pl.Int64)),
                                  vocab, schema, with_rows)
        new_bad, combos = _cell_failures(combos, schema, low_columns, vocab, masks_only=True)
        combos = combos.with_columns(_located=located_hash(combos))
        if seen is not None:
            seen.add(combos, new_bad)
        bad = _joined(bad, new_bad)
        combos = _joined(known, combos)
    else:
        combos = known
    failures, rows = _cell_failures(_normalise_references(rows, schema), schema,
                                    {n: s for n, s in columns.items() if n in PER_ROW}, vocab, counts_only=not listing)
    derived = ["molecule_id", "measure_final", "population_norm", "region_id", "direction_norm"]
    if bad is not None and bad.height:
        checked = ["region_canon", "region_known", "measure_norm", "molecule_measure", "species_name",
                   "species_population"]
        broken = rows["_combo"].is_in(bad["_combo"].implode())
        if listing:
            wrong = rows.filter(broken).drop(low).join(combos.select("_combo", *low, *derived, *checked),
                                                      on="_combo", how="left", maintain_order="left")
            failures += _cell_failures(wrong, schema, low_columns, vocab)[0]
        else:  # counted per combination: each of its rows breaks the rules the combination does
            per = rows["_combo"].filter(broken).to_frame().group_by("_combo").len().join(bad, on="_combo")
            failures += per.group_by("code").agg(pl.col("len").sum()).iter_rows()
        rows = rows.with_columns(cells_ok=pl.col("cells_ok") & ~broken)
    flagged = [p.line for p in problems if p.severity == "error" and p.line is not None]  # ragged rows, long cells
    needed = ["line", "references_key", "_combo"] + (["references_norm", "notes"] if with_rows else [])
    consistent = rows.select(needed)
    if flagged:
        consistent = consistent.filter(rows["cells_ok"] & ~rows["line"].is_in(flagged))
    elif not rows["cells_ok"].all():
        consistent = consistent.filter(rows["cells_ok"])
    located = consistent["_combo"].replace_strict(combos["_combo"], combos["_located"], return_dtype=pl.UInt64)
    keys = pl.DataFrame([consistent["line"], key_hash(consistent, located).alias("_key_hash")])
    joined = combos.select("_combo", "molecule", "direction", pl.coalesce("species_name", "species").alias("species"),
                           "qualifier", *derived,
                           *(["molecule_label"] if with_rows else []))

    def full(lines=None):
        subset = consistent if lines is None else consistent.filter(pl.col("line").is_in(lines))
        return subset.join(joined, on="_combo", how="left", maintain_order="left").drop("_combo")

    if not listing:  # (code, count) pairs
        tally: dict[str, int] = {}
        for code, count in failures:
            tally[code] = tally.get(code, 0) + count
        return None, tally, keys, full, rows.height
    table = pl.concat(failures, how="vertical") if failures else None
    tally = {}
    _count(tally, table)
    return table, tally, keys, full, rows.height


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


def schema_columns(frame, columns: dict[str, str], schema: dict):
    """`line` and one column per schema field, by its name and in schema order (`columns` from
    `map_header`); a field the file lacks reads as empty cells."""
    import polars as pl

    return frame.select("line", *[(pl.col(columns[spec["name"]]) if spec["name"] in columns
                                   else pl.lit("", dtype=pl.String)).alias(spec["name"]) for spec in schema["fields"]])


def _cell_failures(rows, schema: dict, columns: dict[str, str], vocab: Vocabulary,
                   masks_only: bool = False, counts_only: bool = False) -> tuple[list | dict, object]:
    """Per-cell rules of `columns`, each a mask over all rows, evaluated together in one pass; the bad
    rows become problem rows (with `masks_only`, a frame instead: `_combo` and `code`, a row per rule
    a row breaks; with `counts_only`, a (code, count) pair per rule that failed).
    Also returns the rows with `cells_ok` (no rule failed)."""
    import polars as pl

    col = pl.col
    filled = {name: col(name) != "" for name in columns}
    rules, plain = _text_rules(rows, schema, columns)
    for spec in schema["fields"]:
        name = spec["name"]
        if spec.get("constraints", {}).get("required") and name in columns:
            rules.append((col(name) == "", "missing-value", name,
                          lambda v, n=name: (f"the {n} is required", hint(n, vocab)), None, None))
    rules += _vocabulary_rules(columns, {n: filled[n] & plain[n] for n in columns}, vocab)
    masks = [f"_rule{i}" for i in range(len(rules))]
    rows = rows.with_columns(*[rule[0].fill_null(False).alias(m) for rule, m in zip(rules, masks)])
    rows = rows.with_columns(cells_ok=~pl.any_horizontal(masks) if masks else pl.lit(True))
    if masks_only:
        codes = {m: rule[1] for rule, m in zip(rules, masks)}
        broken = (rows.filter(~col("cells_ok")).select("_combo", *masks).unpivot(index="_combo").filter("value")
                  .select("_combo", code=col("variable").replace_strict(codes, return_dtype=pl.String))) if masks \
            else pl.DataFrame(schema={"_combo": pl.UInt64, "code": pl.String})
        return broken, rows.drop(masks)
    hits = rows.select(col(m).sum() for m in masks).row(0) if masks else ()
    if counts_only:
        failures = [(rule[1], hit) for rule, hit in zip(rules, hits) if hit]
    else:
        failures = [problem_rows(rows, col(m), *rule[1:]) for rule, m, hit in zip(rules, masks, hits) if hit]
    if "species_name" in rows.columns:  # a known species by its name (the per-row cells have no species)
        rows = rows.with_columns(species=pl.coalesce("species_name", "species"))
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


def _text_rules(rows, schema: dict, columns: dict[str, str]) -> tuple[list[tuple], dict]:
    """Rules of the text itself, in every column: invisible characters, lookalike letters in the
    vocabulary columns, formula-like free text. Also: per column, where the text is plain.

    The rules read each column's distinct values (few, in the vocabulary columns; of the reference,
    only the cells that are not a valid reference anyway), all columns in one pass, and the cells
    are then looked up among the values that break one."""
    import polars as pl

    col = pl.col
    names = list(columns)
    if not names:
        return [], {}
    patterns = {spec["name"]: spec.get("constraints", {}).get("pattern") for spec in schema["fields"]}
    distinct = rows.select((col(n).filter(~col("reference_ok")) if n == "reference" else col(n))
                           .unique().implode().alias(n) for n in names)
    values = distinct.unpivot(on=names, variable_name="column").explode("value").drop_nulls("value")
    formula = pl.lit(False)
    for pattern in dict.fromkeys(p for n, p in patterns.items() if p and n in names and n != "reference"):
        chosen = [n for n in names if patterns.get(n) == pattern and n != "reference"]
        formula = formula | (col("column").is_in(chosen) & ~col("value").str.contains(f"^(?:{pattern})$"))
    flagged = values.with_columns(invisible=col("value").str.contains(text.INVISIBLE)).with_columns(
        lookalike=~col("invisible") & col("column").is_in(list(text.VOCABULARY_COLUMNS))
        & col("value").str.contains(text.LOOKALIKE)).with_columns(
        formula=~col("invisible") & ~col("lookalike") & (col("value") != "") & formula,
    ).filter(col("invisible") | col("lookalike") | col("formula"))
    found: dict[tuple[str, str], list[str]] = {}
    for name, value, invisible, lookalike, _ in flagged.iter_rows():
        kind = "invisible" if invisible else "lookalike" if lookalike else "formula"
        found.setdefault((name, kind), []).append(value)
    rules, plain = [], {}
    for name in names:
        invisible, lookalike = found.get((name, "invisible"), []), found.get((name, "lookalike"), [])
        formulas = found.get((name, "formula"), [])
        if invisible:
            rules.append((col(name).is_in(invisible), "invisible-character", name, text.describe_invisible, None, None))
        if lookalike:
            rules.append((col(name).is_in(lookalike), "lookalike-character", name, text.describe_lookalike, None, None))
        if formulas:  # one problem per cell: a formula is no unknown species
            rules.append((col(name).is_in(formulas), "formula-like", name, text.describe_formula, None, None))
        unplain = invisible + lookalike + formulas
        plain[name] = ~col(name).is_in(unplain) if unplain else pl.lit(True)
    return rules, plain


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
