"""The evidence map's grid: the published tables → molecules (rows, by category) × region columns.

The grid of the review's Table 1, kept alive: molecules (grouped by category) × the region columns
under their header hierarchy (`anatomy`: a sub-region sits in its parent's column, a region outside the
review's grid gets a column of its own), one mark per direction in a cell (↑ ↓ −, with a count when
several findings share it), and a column of its own for findings whose location the source lost, so
that nothing is drawn in a region the source does not state. A pure function of the tables: the same
tables give the same grid (stable order, no clock). `page` draws it as HTML, `figure` as SVG/PNG.

Agreement is judged place by place (`agreement`): findings that differ within one region column are
mixed; findings that agree within each column but differ between columns differ by region.

The grid aggregates: a mark holds its count, its counts per population and measure (what the page's
filters need) and a bounded sample of its findings in full, the first in source order. So the grid,
the page and the figure are as large as the table (molecules × columns × directions), not as the
findings; the findings are read and counted as columns (polars), never one Python dict each.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.core.files import input_refusal
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.releases import is_unreleased, released_of
from pipeline.core.vocab import RESOURCES, Vocabulary
from pipeline.report.anatomy import LOST, LOST_HEADING, POPULATION_HEADINGS, Column, column_of, columns, region_words

_VOCAB = Vocabulary()
# The vocabulary of schemas/: the directions in their order, each with the symbol the source prints and
# its name in words ('no_change' → 'no change'); the populations a finding may have.
DIRECTIONS = tuple(row["direction"] for row in _VOCAB.directions)
SYMBOLS = {row["direction"]: row["symbol"] for row in _VOCAB.directions}
WORDS = {direction: direction.replace("_", " ") for direction in DIRECTIONS}
POPULATIONS = tuple(next(f for f in _VOCAB.table_schema("findings")["fields"]
                         if f["name"] == "population")["constraints"]["enum"])
# The page's own words for agreement (see `agreement`): findings that all agree, wherever they are; findings
# that differ within one region column (a cell: the same place); findings that agree within each region
# column but differ between columns; findings that differ where one of them lost its location.
AGREEMENTS = {"increase": "all up", "decrease": "all down", "no_change": "no change"}
MIXED = "mixed"
MIXED_IN = ("mixed in {n} region", "mixed in {n} regions")
BY_REGION = "differs by region"
LOCATION_LOST = "differs, location lost"

REQUIRED_COLUMNS = {
    "findings": ("finding_id", "source_id", "molecule_label", "molecule_id", "measure", "direction",
                 "population", "region_id", "location_status", "species", "qualifier", "references",
                 "citation_status", "source_row", "source_cell", "source_text"),
    "molecules": ("molecule_id", "label", "category"),
    "regions": ("region_id", "label", "name", "population", "part_of", "review_column", "review_group"),
    "sources": ("source_id",),
}
# The findings the page carries in full, shared among its marks (each gets SAMPLE_BUDGET // marks,
# between 1 and SAMPLE_MAX): every finding while the package is small, a bounded sample beyond.
SAMPLE_BUDGET = 2000
SAMPLE_MAX = 50
MARK_KEY = ("molecule_id", "column", "direction")


@dataclass
class Mark:
    """The findings of one direction in one cell: counted, and a few of them in full."""
    index: int  # the mark's place in the page, in reading order (row, column, direction)
    direction: str
    count: int
    groups: list[tuple[str, str, str, int]]  # (population, measure, region_id, count): what filters and details need
    sample: list[dict[str, str]]  # its first findings in source order, at most EvidenceMap.sample_size

    def regions(self) -> dict[str, int]:
        """How many of its findings sit in each region (the column's own, or a sub-region of it)."""
        counts: dict[str, int] = {}
        for _, _, region, count in self.groups:
            counts[region] = counts.get(region, 0) + count
        return counts


@dataclass
class Row:
    molecule: dict[str, str]
    cells: dict[str, dict[str, Mark]] = field(default_factory=dict)  # column → direction → mark

    @property
    def marks(self) -> list[Mark]:
        return [mark for by_direction in self.cells.values() for mark in by_direction.values()]

    @property
    def total(self) -> int:
        return sum(mark.count for mark in self.marks)

    @property
    def agreement(self) -> str:
        return agreement({column: set(by_direction) for column, by_direction in self.cells.items()})


@dataclass(frozen=True)
class Counts:
    """How many findings the map holds, in all and per value of each filter."""
    total: int
    direction: dict[str, int]
    population: dict[str, int]  # '' for findings whose population is unknown
    measure: dict[str, int]
    lost: int  # findings whose location was lost in the source
    source: dict[str, int] = field(default_factory=dict)  # findings per source_id


@dataclass
class EvidenceMap:
    columns: list[Column]
    categories: list[tuple[str, list[Row]]]
    without_findings: list[dict[str, str]]  # molecules of the table that have no finding
    counts: Counts
    sample_size: int  # the most findings a mark carries in full
    regions: list[dict[str, str]]
    sources: list[dict[str, str]]
    table: str = "data/findings.csv"  # every finding, as the package lays it out: for marks not carried in full

    @property
    def region_by_id(self) -> dict[str, dict[str, str]]:
        return {r["region_id"]: r for r in self.regions}

    @property
    def rows(self) -> list[Row]:
        return [row for _, rows in self.categories for row in rows]

    @property
    def review(self) -> dict[str, str] | None:
        return next((s for s in self.sources if s.get("kind") == "review"), None)


def cell_agreement(directions: set[str]) -> str:
    """One cell (a molecule in one region column): 'all up', 'all down', 'no change' when its findings agree,
    else 'mixed' (they differ in the same place)."""
    return AGREEMENTS[next(iter(directions))] if len(directions) == 1 else MIXED


def agreement(cells: dict[str, set[str]]) -> str:
    """A row's agreement from its cells (column → directions; LOST is no place): 'mixed in N region(s)' when
    findings differ within N region columns; else 'all up', 'all down', 'no change' when every finding agrees;
    else 'differs by region' when region columns differ from each other; else 'differs, location lost' (the
    difference involves findings whose location was lost, so whether it is in one place is unknown).
    page.js says the same in the same words, after filtering."""
    located = [directions for column, directions in cells.items() if column != LOST and directions]
    every = set().union(*located, cells.get(LOST, set()))
    mixed = sum(len(directions) > 1 for directions in located)
    if mixed:
        return MIXED_IN[mixed != 1].format(n=mixed)
    if len(every) <= 1:
        return cell_agreement(every) if every else ""
    return BY_REGION if len(set().union(*located)) > 1 else LOCATION_LOST


def _unreadable(path: Path, error: Exception) -> Problem:
    return Problem("unreadable-table", f"cannot read the published table: {error}", file=str(path),
                   suggestion="build the package first: `dvc repro package`")


def _read_findings(path: Path) -> pl.DataFrame:
    """findings.csv as text columns ('' for an empty or missing cell), read by polars."""
    try:
        frame = pl.read_csv(path, infer_schema=False, empty_string_is_null=False, truncate_ragged_lines=True,
                            raise_if_empty=False)
    except pl.exceptions.NoDataError:
        return pl.DataFrame()
    return frame.with_columns(pl.all().fill_null(""))


def read_tables(folder: Path) -> dict:
    """The four published tables under `folder`, each checked for the columns the map needs: findings as
    a polars DataFrame of text, the small tables as lists of dicts."""
    problems, tables = [], {}
    for name in RESOURCES:
        path = Path(folder) / f"{name}.csv"
        if (refusal := input_refusal(path)) and refusal.code == "not-a-file":  # a FIFO would block: stat first
            problems.append(refusal)
            continue
        try:
            if name == "findings":
                tables[name] = _read_findings(path)
                header = tables[name].columns
            else:
                with open(path, encoding="utf-8", newline="") as fh:
                    reader = csv.DictReader(fh)
                    # a short line leaves None in DictReader's cells; the map reads them as empty
                    tables[name] = [{k: v or "" for k, v in row.items() if k is not None} for row in reader]
                    header = reader.fieldnames or []
        except (OSError, UnicodeDecodeError, csv.Error, pl.exceptions.PolarsError) as error:
            problems.append(_unreadable(path, error))
            continue
        problems += [Problem("unreadable-table", "the table lacks a column the evidence map needs", file=str(path), column=c)
                     for c in REQUIRED_COLUMNS[name] if c not in header]
    if problems:
        raise ProblemsFound(problems)
    return tables


def _as_frame(findings) -> pl.DataFrame:
    if isinstance(findings, pl.DataFrame):
        return findings
    return pl.DataFrame(findings, schema={c: pl.String for c in (findings[0] if findings else REQUIRED_COLUMNS["findings"])})


def _check(findings: pl.DataFrame, molecule_ids: list[str], region_ids: list[str], folder: str) -> list[Problem]:
    """Findings that point nowhere, one problem each (the first that applies), in line order."""
    molecule = ~pl.col("molecule_id").is_in(pl.Series(molecule_ids, dtype=pl.String).implode())
    region = (pl.col("region_id") != "") & ~pl.col("region_id").is_in(pl.Series(region_ids, dtype=pl.String).implode())
    direction = ~pl.col("direction").is_in(pl.Series(DIRECTIONS, dtype=pl.String).implode())
    bad = (findings.with_row_index("line", offset=2)
           .filter(molecule | region | direction)
           .select("line", "molecule_id", "region_id", "direction",
                   molecule.alias("bad_molecule"), region.alias("bad_region")))
    problems = []
    for row in bad.iter_rows(named=True):
        where = dict(file=f"{folder}/findings.csv", line=row["line"])
        if row["bad_molecule"]:
            problems.append(Problem("unknown-molecule", "the finding names a molecule that molecules.csv lacks",
                                    column="molecule_id", value=row["molecule_id"], **where))
        elif row["bad_region"]:
            problems.append(Problem("unknown-region", "the finding names a region that regions.csv lacks",
                                    column="region_id", value=row["region_id"], **where))
        else:
            problems.append(Problem("unknown-direction", f"direction must be one of {', '.join(DIRECTIONS)}",
                                    column="direction", value=row["direction"], **where))
    again = (findings.with_row_index("line", offset=2).filter(~pl.col("finding_id").is_first_distinct())
             .select("line", "finding_id"))
    problems += [Problem("primary-key", "an earlier row has the same finding_id; each finding is drawn once",
                         file=f"{folder}/findings.csv", line=line, column="finding_id", value=value,
                         suggestion="rebuild the package (`dvc repro`) or download the release again")
                 for line, value in again.iter_rows()]
    return sorted(problems, key=lambda problem: problem.line or 0)


def _source_order() -> list[pl.Expr]:
    """Source, line, cell, id: a whole number sorts as a number, anything else ('²') after every number."""
    keys = [pl.col("source_id")]
    for name in ("source_row", "source_cell"):
        number = pl.col(name).str.contains(r"^[0-9]+$")
        keys += [pl.when(number).then(pl.col(name).cast(pl.Int64, strict=False)).otherwise(pl.lit(1 << 62)),
                 pl.when(number).then(pl.lit("")).otherwise(pl.col(name))]
    return keys + [pl.col("finding_id")]


def _marks(findings: pl.DataFrame, placed: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The findings counted per molecule, region, direction, population and measure (`len`), each group with
    its mark's `column` (`placed`: a region's column, LOST for none), in one pass over them; and each group's
    first SAMPLE_MAX row numbers (`_line`) in source order, among which every mark's sample is chosen (a
    mark's first findings are among its groups' first). The column is a function of the region, so it is
    added to the groups, not to every finding (grouping by one more text column costs twice as much at 10⁶);
    each group's row numbers are ordered within the group (sorting all the findings by six keys is 10×
    slower at 10⁶)."""
    keys = [key.alias(f"_key{n}") for n, key in enumerate(_source_order())]
    by = ("molecule_id", "region_id", "direction", "population", "measure")
    fine = (findings.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_line"), *by, *keys)
            .group_by(by).agg(pl.len(), pl.col("_line").sort_by([k.meta.output_name() for k in keys])
                              .head(SAMPLE_MAX))
            .with_columns(_column(placed)))
    return fine.drop("_line"), fine.select(*MARK_KEY, "_line").explode("_line")


def _column(placed: dict[str, str]) -> pl.Expr:
    return pl.col("region_id").replace_strict(placed, default=LOST, return_dtype=pl.String).alias("column")


def _first_findings(findings: pl.DataFrame, candidates: pl.DataFrame, size: int, placed: dict[str, str]) -> pl.DataFrame:
    """The first `size` findings of each mark in source order, chosen among its `candidates` (row numbers),
    each with its `column`."""
    lines = candidates["_line"]
    first = (findings[lines].with_columns(_line=lines, column=candidates["column"]).group_by(MARK_KEY)
             .agg(pl.col("_line").sort_by(_source_order()).head(size)).explode("_line"))
    return findings[first["_line"].sort()].with_columns(_column(placed)).sort(_source_order())


def _counts(groups: pl.DataFrame, findings: pl.DataFrame) -> Counts:
    def per(name: str) -> dict[str, int]:
        return dict(groups.group_by(name).agg(pl.col("len").sum()).sort(name).iter_rows())

    return Counts(total=int(groups["len"].sum()), direction=per("direction"), population=per("population"),
                  measure=per("measure"), lost=int(groups.filter(pl.col("column") == LOST)["len"].sum()),
                  source=dict(findings.group_by("source_id").len().sort("source_id").iter_rows()))


def _rows(groups: pl.DataFrame, sample: pl.DataFrame, molecules: dict, columns: list[Column]) -> dict[str, Row]:
    """Each molecule's row of marks, numbered in reading order (the table's columns, then directions)."""
    by_mark: dict[tuple, list] = {}
    for population, measure, region, count, *key in groups.select(
            "population", "measure", "region_id", "len", *MARK_KEY).sort(
            MARK_KEY[0], "population", "measure", "region_id").iter_rows():
        by_mark.setdefault(tuple(key), []).append((population, measure, region, count))
    samples: dict[tuple, list[dict[str, str]]] = {}
    for finding in sample.iter_rows(named=True):
        samples.setdefault(tuple(finding.pop(k) if k == "column" else finding[k] for k in MARK_KEY), []).append(finding)
    rows: dict[str, Row] = {}
    for molecule_id, column, direction in by_mark:
        rows.setdefault(molecule_id, Row(molecules[molecule_id]))
    order = {c.key: n for n, c in enumerate(columns)}
    index = 0
    for molecule_id in [m for m in molecules if m in rows]:
        row = rows[molecule_id]
        keys = sorted((k for k in by_mark if k[0] == molecule_id), key=lambda k: (order[k[1]], DIRECTIONS.index(k[2])))
        for key in keys:
            groups_of = by_mark[key]
            mark = Mark(index, key[2], sum(n for *_, n in groups_of), groups_of, samples.get(key, []))
            row.cells.setdefault(key[1], {})[key[2]] = mark
            index += 1
    return rows


def evidence_map(tables: dict, folder: str = "data") -> EvidenceMap:
    """The grid: a pure function of the tables. Findings that point nowhere are problems, not dropped."""
    regions = tables["regions"]
    placed = column_of(regions, folder)
    molecules = {m["molecule_id"]: m for m in tables["molecules"]}
    findings = _as_frame(tables["findings"])
    problems = _check(findings, list(molecules), list(placed), folder)
    if problems:
        raise ProblemsFound(problems)
    groups, candidates = _marks(findings, placed)
    grid_columns = columns(regions, set(groups["column"].unique()), POPULATIONS, folder)
    marks = groups.select(MARK_KEY).unique().height
    size = max(1, min(SAMPLE_MAX, SAMPLE_BUDGET // max(marks, 1)))
    sample = _first_findings(findings, candidates, size, placed)
    rows = _rows(groups, sample, molecules, grid_columns)
    categories: dict[str, list[Row]] = {}
    for molecule in tables["molecules"]:  # the table's order, grouped by category in order of first appearance
        if molecule["molecule_id"] in rows:
            categories.setdefault(molecule["category"], []).append(rows[molecule["molecule_id"]])
    return EvidenceMap(
        columns=grid_columns,
        categories=list(categories.items()),
        without_findings=[m for m in tables["molecules"] if m["molecule_id"] not in rows],
        counts=_counts(groups, findings),
        sample_size=size,
        regions=regions,
        sources=tables["sources"],
    )


def header_runs(columns: list[Column], key) -> list[tuple[str, int]]:
    """Consecutive columns sharing `key(column)`, as (value, span): the header's colspans."""
    runs: list[list] = []
    for column in columns:
        value = key(column)
        if runs and runs[-1][0] == value:
            runs[-1][1] += 1
        else:
            runs.append([value, 1])
    return [(value, span) for value, span in runs]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def findings_phrase(count: int) -> str:
    return f"{count} finding" if count == 1 else f"{count} findings"


def within(mark: Mark, column: Column, regions: dict[str, dict[str, str]]) -> list[tuple[str, int]]:
    """The sub-regions of `column` a mark's findings sit in, in words with their counts, in the table's order."""
    counts = mark.regions()
    return [(region_words(regions[r]), counts[r]) for r in regions if r in counts and r not in ("", column.key)]


def mark_label(direction: str, count: int, molecule: str, column: Column, sub: list[tuple[str, int]] = ()) -> str:
    """The text alternative of a mark, naming the sub-regions its findings sit in; the page's script builds
    the same words after filtering."""
    label = f"{WORDS[direction]}: {findings_phrase(count)}, {molecule}, {column.where}"
    return label + ("; " + ", ".join(f"{n} in {words}" for words, n in sub) if sub else "")


def summary(emap: EvidenceMap) -> str:
    directions = emap.counts.direction
    parts = ", ".join(f"{directions[d]} {WORDS[d]}" for d in DIRECTIONS if directions.get(d))
    return f"{findings_phrase(emap.counts.total)} ({parts}) on {len(emap.rows)} molecules"


def origin(emap: EvidenceMap, review_words: str) -> str:
    """Where the findings come from: '93 digitised from <review_words>, 86 from 1 contribution'."""
    review = emap.review
    from_review = emap.counts.source.get(review["source_id"], 0) if review else 0
    others = {s: n for s, n in emap.counts.source.items() if not review or s != review["source_id"]}
    parts = [f"{from_review} digitised from {review_words}"] if from_review else []
    if others:
        count = len(others)
        parts.append(f"{sum(others.values())} from {count} contribution{'' if count == 1 else 's'}")
    return ", ".join(parts)


def version_words(version: str) -> str:
    """The version the package was built as, and, for an unreleased build, what that means."""
    if is_unreleased(version):
        return f"{version} (not released: the data changed since release {released_of(version)})"
    return version


def lost_count(emap: EvidenceMap) -> int:
    return emap.counts.lost
