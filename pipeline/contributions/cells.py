"""cells: one chunk of a contribution, checked cell by cell (`pipeline.contributions.rules.check_sheet`
reads the chunks and keeps what they find).

The vocabulary columns are normalised and checked once per distinct combination of their cells,
and a file's chunks share the combinations checked (`Combinations`); the references and notes are
checked per row. Every rule is a polars expression; Python runs once per distinct bad value.
"""

from __future__ import annotations

from pipeline.contributions import text
from pipeline.contributions.normalise import _normalise_cells, _normalise_references
from pipeline.contributions.package_index import key_hash, located_hash, problem_rows
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
)
from pipeline.core.problems import Problem
from pipeline.core.vocab import Vocabulary
from pipeline.findings import rules as domain


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
        """The combinations kept (a frame, or None: `_combo`, the normalised cells, `_located` and
        `_broken`, whether it breaks a rule) and the rules they break (`_combo`, `code`; or None)."""
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
    combos, bad, per_row = _combinations(rows, low, low_columns, schema, vocab, with_rows, seen)
    failures, rows = _cell_failures(_normalise_references(rows.with_columns(per_row), schema), schema,
                                    {n: s for n, s in columns.items() if n in PER_ROW}, vocab, counts_only=not listing)
    broken = rows["_broken"]
    if broken.any():
        failures += _broken_rows(rows, broken, combos, bad, low, low_columns, schema, vocab, listing)
        rows = rows.with_columns(cells_ok=pl.col("cells_ok") & ~broken)
    flagged = [p.line for p in problems if p.severity == "error" and p.line is not None]  # ragged rows, long cells
    needed = ["line", "references_key", "_combo", "_located"] + (["references_norm", "notes"] if with_rows else [])
    consistent = rows.select(needed)
    if flagged:
        consistent = consistent.filter(rows["cells_ok"] & ~rows["line"].is_in(flagged))
    elif not rows["cells_ok"].all():
        consistent = consistent.filter(rows["cells_ok"])
    keys = pl.DataFrame([consistent["line"], key_hash(consistent, consistent["_located"]).alias("_key_hash")])
    joined = combos.select("_combo", "molecule", "direction", pl.coalesce("species_name", "species").alias("species"),
                           "qualifier", *DERIVED, *(["molecule_label"] if with_rows else []))

    def full(lines=None):
        subset = consistent if lines is None else consistent.filter(pl.col("line").is_in(lines))
        return subset.join(joined, on="_combo", how="left", maintain_order="left").drop("_combo", "_located")

    tally: dict[str, int] = {}
    if not listing:  # (code, count) pairs
        _add_counts(tally, failures)
        return None, tally, keys, full, rows.height
    table = pl.concat(failures, how="vertical") if failures else None
    _count(tally, table)
    return table, tally, keys, full, rows.height


def _add_counts(counts: dict[str, int], pairs) -> None:
    """Add (code, count) pairs to `counts`."""
    for code, count in pairs:
        counts[code] = counts.get(code, 0) + count


def _count(counts: dict[str, int], table) -> None:
    """Add a problem table's number of rows per code (none for None) to `counts`."""
    _add_counts(counts, table.group_by("code").len().iter_rows() if table is not None else ())


# What a combination resolves to, and what its rules read besides.
DERIVED = ("molecule_id", "measure_final", "population_norm", "region_id", "direction_norm")
CHECKED = ("region_canon", "region_known", "measure_norm", "molecule_measure", "species_name", "species_population")


def _combinations(rows, low: list[str], low_columns: dict[str, str], schema: dict, vocab: Vocabulary,
                  with_rows: bool, seen: Combinations | None):
    """The chunk's combinations of vocabulary cells, normalised and checked (those `seen` before are
    taken as they were), the rules the broken ones break (`_combo`, `code`; or None) and, per row, its
    combination's `_located` hash and whether it breaks a rule (`_broken`): one lookup per row among
    the combinations seen, then one among the chunk's new ones for the rows that have them."""
    import polars as pl

    known, bad = seen.known() if seen is not None else (None, None)
    if known is not None:
        per_row = _looked_up(rows, known)
        fresh_at = per_row["_located"].is_null().arg_true()
        if fresh_at.len() == 0:
            return known, bad, per_row
        fresh = rows.select("_combo", *low).gather(fresh_at)
    else:
        per_row, fresh_at, fresh = None, None, rows.select("_combo", *low)
    combos = fresh.gather(fresh["_combo"].arg_unique())
    combos = _normalise_cells(combos.with_columns(pl.col(low).str.strip_chars(), line=pl.lit(0, pl.Int64)),
                              vocab, schema, with_rows)
    new_bad, combos = _cell_failures(combos, schema, low_columns, vocab, masks_only=True)
    combos = combos.with_columns(_located=located_hash(combos), _broken=pl.col("_combo").is_in(new_bad["_combo"].implode()))
    if seen is not None:
        seen.add(combos, new_bad)
    found = _looked_up(fresh, combos)
    if per_row is not None:
        found = pl.DataFrame([per_row[name].clone().scatter(fresh_at, found[name]) for name in ("_located", "_broken")])
    return _joined(known, combos), _joined(bad, new_bad), found


def _looked_up(rows, combos):
    """Per row of `rows`, its combination's `_located` hash and `_broken` among `combos` (null for one
    they lack)."""
    return rows.select("_combo").join(combos.select("_combo", "_located", "_broken"), on="_combo", how="left",
                                      maintain_order="left").drop("_combo")


def _broken_rows(rows, broken, combos, bad, low: list[str], low_columns: dict[str, str], schema: dict,
                 vocab: Vocabulary, listing: bool) -> list:
    """The problems of the rows of broken combinations (`broken`, a mask): as problem rows, for their
    lines, or (not `listing`) as (code, count) pairs, counted per combination."""
    import polars as pl

    if listing:
        wrong = rows.filter(broken).drop(low).join(combos.select("_combo", *low, *DERIVED, *CHECKED),
                                                  on="_combo", how="left", maintain_order="left")
        return _cell_failures(wrong, schema, low_columns, vocab)[0]
    per = rows["_combo"].filter(broken).to_frame().group_by("_combo").len().join(bad, on="_combo")
    return list(per.group_by("code").agg(pl.col("len").sum()).iter_rows())


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
