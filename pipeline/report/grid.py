"""The evidence map's grid: the published tables → molecules (rows, by category) × region columns.

The grid of the review's Table 1, kept alive: molecules (grouped by category) × the region columns
under their header hierarchy, one mark per direction in a cell (↑ ↓ −, with a count when several
findings share it), and a column of its own for findings whose location the source lost, so that
nothing is drawn in a region the source does not state. A pure function of the tables: the same
tables give the same grid (stable order, no clock). `page` draws it as HTML, `figure` as SVG/PNG.

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
from pipeline.core.vocab import RESOURCES, Vocabulary

_VOCAB = Vocabulary()
# The vocabulary of schemas/: the directions in their order, each with the symbol the source prints and
# its name in words ('no_change' → 'no change'); the populations a finding may have.
DIRECTIONS = tuple(row["direction"] for row in _VOCAB.directions)
SYMBOLS = {row["direction"]: row["symbol"] for row in _VOCAB.directions}
WORDS = {direction: direction.replace("_", " ") for direction in DIRECTIONS}
POPULATIONS = tuple(next(f for f in _VOCAB.table_schema("findings")["fields"]
                         if f["name"] == "population")["constraints"]["enum"])
# The page's own words: what a cell whose findings all agree says, and the review's population headers.
AGREEMENTS = {"increase": "all up", "decrease": "all down", "no_change": "no change"}
MIXED = "mixed"
POPULATION_HEADINGS = {"animal": "Animals", "human": "Humans"}
LOST = "lost"  # the key of the column for findings whose location was lost in the source
LOST_HEADING = "Location lost in source"

REQUIRED_COLUMNS = {
    "findings": ("finding_id", "source_id", "molecule_label", "molecule_id", "measure", "direction",
                 "population", "region_id", "location_status", "species", "qualifier", "references",
                 "citation_status", "source_row", "source_cell", "source_text"),
    "molecules": ("molecule_id", "label", "category"),
    "regions": ("region_id", "label", "name", "population", "review_column", "review_group"),
    "sources": ("source_id",),
}
# The findings the page carries in full, shared among its marks (each gets SAMPLE_BUDGET // marks,
# between 1 and SAMPLE_MAX): every finding while the package is small, a bounded sample beyond.
SAMPLE_BUDGET = 2000
SAMPLE_MAX = 50
MARK_KEY = ("molecule_id", "column", "direction")


@dataclass(frozen=True)
class Column:
    key: str  # the region_id, or LOST
    label: str
    name: str
    population: str  # empty for the lost column
    group: str

    @property
    def where(self) -> str:
        """The column in words, as a screen reader and the provenance panel say it."""
        if self.key == LOST:
            return "location lost in source"
        return f"{self.label} ({self.name}), {POPULATION_HEADINGS.get(self.population, self.population).lower()}"


@dataclass
class Mark:
    """The findings of one direction in one cell: counted, and a few of them in full."""
    index: int  # the mark's place in the page, in reading order (row, column, direction)
    direction: str
    count: int
    groups: list[tuple[str, str, int]]  # (population, measure, count) of its findings: what the filters need
    sample: list[dict[str, str]]  # its first findings in source order, at most EvidenceMap.sample_size


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
        return agreement({mark.direction for mark in self.marks})


@dataclass(frozen=True)
class Counts:
    """How many findings the map holds, in all and per value of each filter."""
    total: int
    direction: dict[str, int]
    population: dict[str, int]  # '' for findings whose population is unknown
    measure: dict[str, int]
    lost: int  # findings whose location was lost in the source


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
    def rows(self) -> list[Row]:
        return [row for _, rows in self.categories for row in rows]

    @property
    def review(self) -> dict[str, str] | None:
        return next((s for s in self.sources if s.get("kind") == "review"), None)


def agreement(directions: set[str]) -> str:
    """'all up', 'all down', 'no change' when every finding agrees, else 'mixed'."""
    return AGREEMENTS[next(iter(directions))] if len(directions) == 1 else MIXED


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
    return problems


def _source_order() -> list[pl.Expr]:
    """Source, line, cell, id: a whole number sorts as a number, anything else ('²') after every number."""
    keys = [pl.col("source_id")]
    for name in ("source_row", "source_cell"):
        number = pl.col(name).str.contains(r"^[0-9]+$")
        keys += [pl.when(number).then(pl.col(name).cast(pl.Int64, strict=False)).otherwise(pl.lit(1 << 62)),
                 pl.when(number).then(pl.lit("")).otherwise(pl.col(name))]
    return keys + [pl.col("finding_id")]


def _first_findings(findings: pl.DataFrame, size: int) -> pl.DataFrame:
    """The first `size` findings of each mark in source order. Each mark's row numbers are ordered within
    their group (sorting all the findings by six keys is 10× slower at 10⁶), then the few rows fetched."""
    keys = [key.alias(f"_key{n}") for n, key in enumerate(_source_order())]
    first = (findings.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_line"), *MARK_KEY, *keys)
             .group_by(MARK_KEY).agg(pl.col("_line").sort_by([k.meta.output_name() for k in keys]).head(size))
             .explode("_line"))
    return findings[first["_line"].sort()].sort(_source_order())


def _counts(groups: pl.DataFrame) -> Counts:
    def per(name: str) -> dict[str, int]:
        return dict(groups.group_by(name).agg(pl.col("len").sum()).sort(name).iter_rows())

    return Counts(total=int(groups["len"].sum()), direction=per("direction"), population=per("population"),
                  measure=per("measure"), lost=int(groups.filter(pl.col("column") == LOST)["len"].sum()))


def _rows(groups: pl.DataFrame, sample: pl.DataFrame, molecules: dict, columns: list[Column]) -> dict[str, Row]:
    """Each molecule's row of marks, numbered in reading order (the table's columns, then directions)."""
    by_mark: dict[tuple, list] = {}
    for population, measure, count, *key in groups.select(
            "population", "measure", "len", *MARK_KEY).sort(MARK_KEY[0], "population", "measure").iter_rows():
        by_mark.setdefault(tuple(key), []).append((population, measure, count))
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
            mark = Mark(index, key[2], sum(n for _, _, n in groups_of), groups_of, samples.get(key, []))
            row.cells.setdefault(key[1], {})[key[2]] = mark
            index += 1
    return rows


def _regions_in_order(regions: list[dict[str, str]], folder: str) -> list[dict[str, str]]:
    try:  # the review's columns in its order, then known regions the table has no column for
        return sorted(regions, key=lambda r: int(r["review_column"] or 1 << 30))
    except ValueError:
        raise ProblemsFound([Problem("bad-column", "a region's review_column is not a whole number",
                                     file=f"{folder}/regions.csv", column="review_column")])


def evidence_map(tables: dict, folder: str = "data") -> EvidenceMap:
    """The grid: a pure function of the tables. Findings that point nowhere are problems, not dropped."""
    regions = _regions_in_order(tables["regions"], folder)
    columns = [Column(r["region_id"], r["label"], r["name"], r["population"], r["review_group"] or "Other regions")
               for r in regions]
    columns.append(Column(LOST, LOST_HEADING, LOST_HEADING, "", ""))
    molecules = {m["molecule_id"]: m for m in tables["molecules"]}
    findings = _as_frame(tables["findings"])
    problems = _check(findings, list(molecules), [r["region_id"] for r in regions], folder)
    if problems:
        raise ProblemsFound(problems)
    findings = findings.with_columns(
        column=pl.when(pl.col("region_id") == "").then(pl.lit(LOST)).otherwise(pl.col("region_id")))
    groups = findings.group_by(*MARK_KEY, "population", "measure").len()
    marks = groups.select(MARK_KEY).unique().height
    size = max(1, min(SAMPLE_MAX, SAMPLE_BUDGET // max(marks, 1)))
    sample = _first_findings(findings, size)
    rows = _rows(groups, sample, molecules, columns)
    categories: dict[str, list[Row]] = {}
    for molecule in tables["molecules"]:  # the table's order, grouped by category in order of first appearance
        if molecule["molecule_id"] in rows:
            categories.setdefault(molecule["category"], []).append(rows[molecule["molecule_id"]])
    return EvidenceMap(
        columns=columns,
        categories=list(categories.items()),
        without_findings=[m for m in tables["molecules"] if m["molecule_id"] not in rows],
        counts=_counts(groups),
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


def mark_label(direction: str, count: int, molecule: str, column: Column) -> str:
    """The text alternative of a mark; the page's script builds the same words after filtering."""
    return f"{WORDS[direction]}: {findings_phrase(count)}, {molecule}, {column.where}"


def summary(emap: EvidenceMap) -> str:
    directions = emap.counts.direction
    parts = ", ".join(f"{directions[d]} {WORDS[d]}" for d in DIRECTIONS if directions.get(d))
    return f"{findings_phrase(emap.counts.total)} ({parts}) on {len(emap.rows)} molecules"


def lost_count(emap: EvidenceMap) -> int:
    return emap.counts.lost
