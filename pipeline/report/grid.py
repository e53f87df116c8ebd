"""The evidence map's grid: the published tables → molecules (rows, by category) × region columns.

The grid of the review's Table 1, kept alive: molecules (grouped by category) × the region columns
under their header hierarchy, one mark per direction in a cell (↑ ↓ −, with a count when several
findings share it), and a column of its own for findings whose location the source lost, so that
nothing is drawn in a region the source does not state. A pure function of the tables: the same
tables give the same grid (stable order, no clock). `page` draws it as HTML, `figure` as SVG/PNG.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

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
    "regions": ("region_id", "label", "name", "population", "group", "column"),
    "sources": ("source_id",),
}


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
class Row:
    molecule: dict[str, str]
    cells: dict[str, dict[str, list[dict[str, str]]]] = field(default_factory=dict)  # column → direction → findings

    @property
    def findings(self) -> list[dict[str, str]]:
        return [f for by_direction in self.cells.values() for group in by_direction.values() for f in group]

    @property
    def agreement(self) -> str:
        return agreement({f["direction"] for f in self.findings})


@dataclass
class EvidenceMap:
    columns: list[Column]
    categories: list[tuple[str, list[Row]]]
    without_findings: list[dict[str, str]]  # molecules of the table that have no finding
    findings: list[dict[str, str]]
    regions: list[dict[str, str]]
    sources: list[dict[str, str]]

    @property
    def rows(self) -> list[Row]:
        return [row for _, rows in self.categories for row in rows]

    @property
    def review(self) -> dict[str, str] | None:
        return next((s for s in self.sources if s.get("kind") == "review"), None)


def agreement(directions: set[str]) -> str:
    """'all up', 'all down', 'no change' when every finding agrees, else 'mixed'."""
    return AGREEMENTS[next(iter(directions))] if len(directions) == 1 else MIXED


def read_tables(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The four published tables under `folder`, each checked for the columns the map needs."""
    problems, tables = [], {}
    for name in RESOURCES:
        path = Path(folder) / f"{name}.csv"
        if (refusal := input_refusal(path)) and refusal.code == "not-a-file":  # a FIFO would block: stat first
            problems.append(refusal)
            continue
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                # a short line leaves None in DictReader's cells; the map reads them as empty
                tables[name] = [{k: v or "" for k, v in row.items() if k is not None} for row in reader]
                header = reader.fieldnames or []
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            problems.append(Problem("unreadable-table", f"cannot read the published table: {error}", file=str(path),
                                    suggestion="build the package first: `dvc repro package`"))
            continue
        problems += [Problem("unreadable-table", "the table lacks a column the evidence map needs", file=str(path), column=c)
                     for c in REQUIRED_COLUMNS[name] if c not in header]
    if problems:
        raise ProblemsFound(problems)
    return tables


def _number(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isascii() and text.isdigit() else (1 << 30, text)  # '²'.isdigit() is True


def _finding_order(finding: dict[str, str]) -> tuple:
    return (finding["source_id"], _number(finding["source_row"]), _number(finding["source_cell"]), finding["finding_id"])


def evidence_map(tables: dict[str, list[dict[str, str]]], folder: str = "data") -> EvidenceMap:
    """The grid: a pure function of the tables. Findings that point nowhere are problems, not dropped."""
    problems: list[Problem] = []
    try:
        regions = sorted(tables["regions"], key=lambda r: int(r["column"]))
    except ValueError:
        raise ProblemsFound([Problem("bad-column", "a region's column is not a whole number",
                                     file=f"{folder}/regions.csv", column="column")])
    columns = [Column(r["region_id"], r["label"], r["name"], r["population"], r["group"]) for r in regions]
    columns.append(Column(LOST, LOST_HEADING, LOST_HEADING, "", ""))
    molecules = {m["molecule_id"]: m for m in tables["molecules"]}
    region_ids = {r["region_id"] for r in regions}
    rows: dict[str, Row] = {}
    for line, finding in enumerate(tables["findings"], start=2):
        where = dict(file=f"{folder}/findings.csv", line=line)
        if finding["molecule_id"] not in molecules:
            problems.append(Problem("unknown-molecule", "the finding names a molecule that molecules.csv lacks",
                                    column="molecule_id", value=finding["molecule_id"], **where))
            continue
        if finding["region_id"] and finding["region_id"] not in region_ids:
            problems.append(Problem("unknown-region", "the finding names a region that regions.csv lacks",
                                    column="region_id", value=finding["region_id"], **where))
            continue
        if finding["direction"] not in DIRECTIONS:
            problems.append(Problem("unknown-direction", f"direction must be one of {', '.join(DIRECTIONS)}",
                                    column="direction", value=finding["direction"], **where))
            continue
        row = rows.setdefault(finding["molecule_id"], Row(molecules[finding["molecule_id"]]))
        cell = row.cells.setdefault(finding["region_id"] or LOST, {})
        cell.setdefault(finding["direction"], []).append(finding)
    if problems:
        raise ProblemsFound(problems)
    for row in rows.values():
        for by_direction in row.cells.values():
            for group in by_direction.values():
                group.sort(key=_finding_order)
    categories: dict[str, list[Row]] = {}
    for molecule in tables["molecules"]:  # the table's order, grouped by category in order of first appearance
        if molecule["molecule_id"] in rows:
            categories.setdefault(molecule["category"], []).append(rows[molecule["molecule_id"]])
    return EvidenceMap(
        columns=columns,
        categories=list(categories.items()),
        without_findings=[m for m in tables["molecules"] if m["molecule_id"] not in rows],
        findings=sorted(tables["findings"], key=_finding_order),
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
    directions = Counter(f["direction"] for f in emap.findings)
    parts = ", ".join(f"{directions[d]} {WORDS[d]}" for d in DIRECTIONS if directions[d])
    return f"{findings_phrase(len(emap.findings))} ({parts}) on {len(emap.rows)} molecules"


def lost_count(emap: EvidenceMap) -> int:
    return sum(1 for f in emap.findings if not f["region_id"])
