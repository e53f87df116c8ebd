"""Many contribution files checked together, as the build reads them: one frame, not one per file.

`check_sheets(sheets, vocab, package)` gives, for each sheet, the CheckedFile that checking the
files one by one in order gives (`rules.check_sheet` against the package, then the file's findings
added to the package when the file is valid), but the rules run once over the rows of every file,
each row tagged with its file (package_index.FILE). A file's problems still name its own lines;
rows are compared for duplicates and contradictions within their file only; and a row that repeats
or contradicts a row of an earlier valid file is found by comparing only the rows whose finding key
occurs in more than one file (none, usually), so the cost is linear in the rows with a small
constant per file.
"""

from __future__ import annotations

from pipeline.contributions.normalise import _normalise
from pipeline.contributions.package_index import CANDIDATE_KEY, FILE, PackageIndex, row_failures
from pipeline.contributions.cells import _cell_failures, schema_columns
from pipeline.contributions.rules import (
    CheckedFile,
    _finish,
    check_sheet,
    column_order,
    contribution_schema,
    map_header,
)
from pipeline.contributions.table import Sheet
from pipeline.core.problems import Problem
from pipeline.core.vocab import Vocabulary
from pipeline.findings.ids import content_key, finding_id

# What the package comparison of a row reports (the other rules across rows stay within a file).
PACKAGE_CODES = ("already-in-package", "contradicts-package")
NEEDED = ["line", "molecule", "direction", "species", "qualifier", *CANDIDATE_KEY, "direction_norm",
          "molecule_label", "references_norm", "notes", "molecule_id", "measure_final", "population_norm",
          "region_id"]


def check_sheets(sheets: list[Sheet], vocab: Vocabulary, package: PackageIndex,
                 frames: bool = False) -> list[CheckedFile]:
    """Each sheet checked against `package` and the valid files before it, with its valid rows
    (`frames=True`: each read file's valid rows as one polars frame, columns ROW_KEYS, not dicts)."""
    import polars as pl

    schema = contribution_schema(vocab)
    done: dict[int, CheckedFile] = {}
    found: dict[int, list[Problem]] = {}
    groups: dict[tuple[str, ...], list] = {}
    for number, sheet in enumerate(sheets):
        if sheet.frame is None or sheet.frame.height == 0:  # refused, or no rows: nothing to compare
            done[number] = check_sheet(sheet, vocab)
            continue
        columns, header_problems = map_header(sheet, schema, vocab)
        found[number] = list(sheet.problems) + header_problems
        groups.setdefault((tuple(sorted(columns.items())), tuple(sheet.frame.columns)), []).append(number)
    if not groups:
        return [done[n] for n in range(len(sheets))]
    cells, consistent = [], []
    for (columns, _), members in groups.items():  # files laid out alike: one frame, the rules run once
        frame = pl.concat([sheets[n].frame for n in members], how="vertical", rechunk=True)
        tags = pl.Series(FILE, [n for n in members for _ in range(sheets[n].frame.height)], dtype=pl.Int64)
        frame = schema_columns(frame, dict(columns), schema).with_columns(tags)
        failures, frame = _cell_failures(_normalise(frame, vocab, schema), schema, dict(columns), vocab)
        cells += failures
        consistent.append(_consistent(frame, found))
    rows = pl.concat(consistent, how="vertical")
    across = row_failures(rows, package)
    across += _across_files(rows, cells + across, found)
    return _per_file(sheets, done, found, rows, cells, across, frames)


def _consistent(frame, found: dict[int, list[Problem]]):
    """The rows whose cells passed, less the lines the reader flagged (ragged rows)."""
    import polars as pl

    flagged = [(number, p.line) for number, problems in found.items() for p in problems
               if p.severity == "error" and p.line is not None]
    rows = frame.filter(pl.col("cells_ok")).select(*dict.fromkeys(NEEDED), FILE)
    if flagged:
        lines = pl.DataFrame(flagged, schema={FILE: pl.Int64, "line": pl.Int64}, orient="row")
        rows = rows.join(lines, on=[FILE, "line"], how="anti", maintain_order="left")
    return rows


def _across_files(rows, tables: list, found: dict[int, list[Problem]]) -> list:
    """already-in-package / contradicts-package against the rows of earlier valid files, as the
    package extended file by file would report them; only rows whose key occurs in two files take part."""
    import polars as pl

    shared = rows.filter(pl.col(FILE).n_unique().over(list(CANDIDATE_KEY)) > 1)
    if shared.height == 0:
        return []
    table = pl.concat(tables, how="vertical") if tables else None
    failed = set() if table is None else set(table.filter(pl.col("severity") == "error")[FILE].to_list())
    failed |= {n for n, problems in found.items() if any(p.severity == "error" for p in problems)}
    reported = None if table is None else table.filter(pl.col("code").is_in(PACKAGE_CODES)).select(FILE, "line", "code")
    accepted: list[dict] = []
    extra = []
    for (number,), mine in sorted(shared.partition_by(FILE, as_dict=True).items()):
        earlier = row_failures(mine.drop(FILE), PackageIndex.of(accepted)) if accepted else []
        earlier = [t for t in earlier if t["code"].is_in(PACKAGE_CODES).any()]
        if earlier:  # a row the package already answered keeps that answer (the package's rows come first)
            new = pl.concat(earlier).filter(pl.col("code").is_in(PACKAGE_CODES)).with_columns(
                pl.lit(number, dtype=pl.Int64).alias(FILE))
            if reported is not None:
                new = new.join(reported, on=[FILE, "line", "code"], how="anti", maintain_order="left")
            if new.height:
                failed.add(number)
                extra.append(new)
        if number not in failed:
            accepted += [_as_finding(row) for row in mine.iter_rows(named=True)]
    return extra


def _as_finding(row: dict) -> dict[str, str]:
    """A consistent row as the package's index holds a contributed finding (intake.contributed_findings)."""
    finding = {"molecule_id": row["molecule_id"], "measure": row["measure_final"], "direction": row["direction_norm"],
               "population": row["population_norm"], "region_id": row["region_id"], "species": row["species"],
               "qualifier": row["qualifier"], "references": row["references_norm"]}
    return {"finding_id": finding_id("contribution", *content_key(finding)), **finding}


def _per_file(sheets: list[Sheet], done: dict[int, CheckedFile], found: dict[int, list[Problem]], rows,
              cells: list, across: list, frames: bool) -> list[CheckedFile]:
    """Each file's CheckedFile: its problems in order (rules._finish) and its valid rows (those that
    passed every rule), as check_sheet gives them."""
    import polars as pl

    table = pl.concat(cells + across, how="vertical") if cells + across else None
    by_file = {} if table is None else table.partition_by(FILE, as_dict=True, include_key=False)
    if across:
        later = pl.concat([t.select(FILE, "line") for t in across]).unique()
        rows = rows.join(later, on=[FILE, "line"], how="anti", maintain_order="left")
    valid = rows.select(
        FILE, "line", "molecule_id", "molecule_label", pl.col("measure_final").alias("measure"),
        pl.col("direction_norm").alias("direction"), pl.col("population_norm").alias("population"),
        "region_id", "species", pl.col("references_norm").alias("references"), "qualifier", "notes",
        pl.col("direction").alias("source_text"))
    valid_rows: dict[int, object] = {}
    if frames:
        valid_rows = {n: part for (n,), part in valid.partition_by(FILE, as_dict=True, include_key=False).items()}
    else:
        for number, row in zip(valid[FILE].to_list(), valid.drop(FILE).to_dicts()):
            valid_rows.setdefault(number, []).append(row)
    order = column_order()
    for number, problems in found.items():
        sheet = sheets[number]
        mine = valid_rows.get(number, valid.clear().drop(FILE) if frames else [])
        checked = CheckedFile(sheet.path, sheet.sheet, mine, [], sheet.frame.height)
        done[number] = _finish(checked, problems, by_file.get((number,)), None, order)
    return [done[n] for n in range(len(sheets))]
