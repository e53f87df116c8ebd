"""normalise: a contribution's cells in canonical form, beside the cells as written.

Vocabulary spellings (a molecule's label or id, a direction's word or symbol, a population, a
measure, a region of any population) become the vocabulary's own, in any letter case; a row's
region becomes its region_id for the row's population; a blank measure takes the molecule's (or
the qualifier's, as extract decides); references get their canonical spelling and an order-free,
case-folded key. Used by `pipeline.contributions.rules` once per distinct combination of the
vocabulary cells (and per row for the references).
"""

from __future__ import annotations

from pipeline.contributions import text
from pipeline.contributions.package_index import references_key
from pipeline.core.vocab import Vocabulary
from pipeline.findings import rules as domain
from pipeline.findings.cells import default_measure


def _direction_spellings(vocab: Vocabulary) -> dict[str, str]:
    spellings = {}
    for row in vocab.directions:
        for spelling in (row["direction"], row["symbol"], row.get("ascii", "")):
            if spelling:
                spellings[spelling] = row["direction"]
    return spellings


def _normalise(rows, vocab: Vocabulary, schema: dict, with_labels: bool = True):
    """Every cell in canonical form beside the cells as written: `_normalise_cells`, then
    `_normalise_references` (the build checks its batch of files so, every row in full)."""
    return _normalise_references(_normalise_cells(rows, vocab, schema, with_labels), schema)


def _normalise_cells(rows, vocab: Vocabulary, schema: dict, with_labels: bool = True):
    """The vocabulary cells in canonical form beside the cells as written; null where a cell has no
    canonical form (the references: `_normalise_references`).

    Lookups are hash-map replacements, not joins, and the costlier rewrites run only on the few
    cells that need them.
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
    rows = rows.with_columns(
        *[lookup(col(source), {**{k.casefold(): v for k, v in table.items()}, **table}).alias(name)
          for name, (source, table) in folded.items()],
        molecule_id=lookup(col("molecule"), {k: m["molecule_id"] for k, m in by_key.items()}),
        molecule_label=lookup(col("molecule"), {k: m["label"] for k, m in by_key.items()}) if with_labels
        else pl.lit(None, dtype=pl.String),
        molecule_measure=lookup(col("molecule"), {k: m["measure"] for k, m in by_key.items()}),
        species_name=lookup(col("species"), vocab.species_spellings),
    )
    # ... then the few other cells: letter case folded (a species' spaces too).
    repaired = {name: _fold_misses(rows[source], rows[name], table) for name, (source, table) in folded.items()}
    repaired["species_name"] = _fold_misses(rows["species"], rows["species_name"], vocab.species_spellings,
                                            domain.species_spelling)
    rows = rows.with_columns(*[series.alias(name) for name, series in repaired.items()])
    return rows.with_columns(
        region_id=domain.resolve_region(col("region_canon"), col("population_norm"), vocab.regions),
        region_known=col("region_canon").is_not_null(),
        species_population=lookup(col("species_name"), {s["name"]: s["population"] for s in vocab.species}),
        measure_final=pl.when(col("measure") == "")
        .then(pl.coalesce(lookup(col("qualifier"), overrides), col("molecule_measure")))
        .otherwise(col("measure_norm")),
    )


# One PMID, the usual reference cell: valid as written (when the schema's pattern begins with this
# item, as a list of one), no list and no DOI, so its own key. One regular-expression pass tells these.
SINGLE_PMID = "PMID:[1-9][0-9]*"


def _normalise_references(rows, schema: dict):
    """The reference cells: trimmed, whether each is a valid list (`reference_ok`), in canonical spelling
    (`references_norm`) and as a key (`references_key`).

    A cell of one PMID is valid and its own key, and is not read again. Of the others, the pattern
    allows no white space, so a cell valid as written needs no trimming and no repair: only the
    invalid ones are trimmed, repaired and checked again. Of the valid ones only lists (a ';') and
    DOIs (one starts the cell, or the cell is a list) are read again, for the parentheses and the
    key."""
    import polars as pl

    pattern = _field(schema, "reference")["constraints"]["pattern"]
    written = rows["reference"]
    if pattern.startswith(f"({SINGLE_PMID}|"):
        single = written.str.contains(f"^{SINGLE_PMID}$").fill_null(False)
        others = (~single).arg_true()
    else:  # (a schema whose pattern may not allow a lone PMID: every cell is read)
        single, others = pl.repeat(False, written.len(), dtype=pl.Boolean, eager=True), pl.int_range(
            written.len(), dtype=pl.UInt32, eager=True)
    if others.len() == 0:
        return rows.with_columns(references_norm=written, reference_ok=single, references_key=written)
    pattern = f"^(?:{pattern})$"
    valid = single.scatter(others, written.gather(others).str.contains(pattern).fill_null(False))
    references, reference_ok, trimmed = _normalised_references(written, valid, pattern)
    rest, rest_ok = references.gather(others), reference_ok.gather(others)
    listed = rest_ok & rest.str.contains(";", literal=True).fill_null(False)
    few = others.filter(listed | (rest_ok & rest.str.starts_with("10.").fill_null(False)))
    rows = rows.with_columns(reference=trimmed, references_norm=references,
                             reference_ok=_balanced(references, reference_ok, few))
    return rows.with_columns(references_key=references_key(references, others.filter(listed), candidates=few))


def _where(series, positions, test):
    """A Boolean Series as long as `series`: `test` of the cells at `positions`, false elsewhere."""
    import polars as pl

    marks = pl.repeat(False, series.len(), dtype=pl.Boolean, eager=True)
    return marks.scatter(positions, test(series.gather(positions))) if positions.len() else marks


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
    """The reference cells in canonical spelling, whether each is a valid reference list, and the cells
    trimmed. Only the cells that are not valid as written are trimmed, rewritten and checked again."""

    positions = (~valid & (series != "")).arg_true()
    if positions.len() == 0:
        return series, valid, series
    written = series.gather(positions)
    stripped = written.str.strip_chars()
    rewritten = (stripped.str.replace_all(r"\s*;\s*", ";").str.replace_all(r"(?i)\bpmid\s*:\s*", "PMID:")
                 .str.strip_chars(";"))
    spaced = (stripped != written).fill_null(False)
    trimmed = series.clone().scatter(positions.filter(spaced), stripped.filter(spaced)) if spaced.any() else series
    changed = (rewritten != written).fill_null(False)
    if not changed.any():  # nothing to repair: spare copying a million cells
        return series, valid, trimmed
    positions, rewritten = positions.filter(changed), rewritten.filter(changed)
    return (series.clone().scatter(positions, rewritten),
            valid.clone().scatter(positions, rewritten.str.contains(pattern).fill_null(False)), trimmed)


def _balanced(references, valid, candidates):
    """`valid`, false also where an item ends in a ')' it never opened (the few cells with a ')' at an end);
    `candidates`: the positions of every valid cell holding a ')' (others are not read)."""
    import polars as pl

    ends = _where(references, candidates, lambda cells: cells.str.contains(r"\)(;|$)").fill_null(False))
    positions = (valid & ends).arg_true()
    if positions.len() == 0:
        return valid
    ends = references.gather(positions).map_elements(lambda r: not text.unbalanced_parenthesis(r),
                                                    return_dtype=pl.Boolean)
    return valid.clone().scatter(positions, ends)


def _field(schema: dict, name: str) -> dict:
    return next(spec for spec in schema["fields"] if spec["name"] == name)
