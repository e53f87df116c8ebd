"""curation: a curator who has the article assigns region, population and references to a finding.

The source export lost every cell's column and every reference number. A curation file
(`data/curation/*.csv`, one assignment per row, keyed by `finding_id`) puts them back without
touching the finding's id or provenance: the finding's `location_status` and/or
`citation_status` become `curated`. A curation file is checked like a contribution: unknown
ids, regions and references, a region that does not fit the population, and the same finding
assigned twice (across all curation files) are errors with file, line, column, value and fix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.problems import Problem
from pipeline.vocab import Vocabulary

COLUMNS = ("finding_id", "region", "population", "references", "curator", "notes")
REQUIRED_COLUMNS = ("finding_id", "curator")
REFERENCE_RE = re.compile(r"PMID:[0-9]+|10\.[0-9]{4,9}/\S+")
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Assignment:
    """One valid curation row: what it assigns to which finding, and where it was written."""

    file: str
    line: int
    finding_id: str
    population: str
    region_id: str
    references: str
    curator: str
    notes: str


@dataclass
class CheckedCuration:
    path: str
    assignments: list[Assignment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    row_count: int = 0

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def read_rows(path: Path, display: str) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[Problem]]:
    """STAND-IN for pipeline.sheets until it lands: UTF-8 CSV only, header = line 1."""
    import csv

    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        return [], [], [Problem("unreadable-file", f"cannot read the file: {error}", file=display)]
    reader = csv.reader(text.splitlines())
    table = list(reader)
    if not table:
        return [], [], [Problem("empty-file", "the file is empty", file=display,
                                suggestion="start from `ketamap template`")]
    header = [cell.strip() for cell in table[0]]
    rows = []
    for line, cells in enumerate(table[1:], 2):
        if not any(cell.strip() for cell in cells):
            continue
        rows.append((line, {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}))
    return header, rows, []


def check_curation_file(path: Path, display: str, vocab: Vocabulary,
                        findings_by_id: dict[str, dict]) -> CheckedCuration:
    """Every problem of one curation file against the findings it may curate (not yet cross-file)."""
    checked = CheckedCuration(display)
    header, rows, problems = read_rows(path, display)
    checked.problems.extend(problems)
    if problems:
        return checked
    checked.problems.extend(_check_header(header, display))
    if any(p.code in ("missing-column", "duplicate-column") for p in checked.problems):
        return checked
    checked.row_count = len(rows)
    if not rows:
        checked.problems.append(Problem("no-rows", "the file assigns nothing: it has a header but no rows",
                                        file=display, suggestion="add one row per finding to curate"))
    for line, row in rows:
        assignment, row_problems = _check_row(row, line, display, vocab, findings_by_id)
        checked.problems.extend(row_problems)
        if assignment and not row_problems:
            checked.assignments.append(assignment)
    return checked


def _check_header(header: list[str], file: str) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem("duplicate-column", "the column appears twice", file=file, line=1, value=name))
        seen.add(name)
        if name not in COLUMNS:
            near = difflib.get_close_matches(name.lower(), COLUMNS, n=1)
            problems.append(Problem("unknown-column", "a curation file has only the columns " + ", ".join(COLUMNS),
                                    file=file, line=1, value=name,
                                    suggestion=f"did you mean {near[0]!r}?" if near else "remove the column"))
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(Problem("missing-column", f"the required column '{name}' is missing", file=file, line=1,
                                    suggestion="the header is: " + ",".join(COLUMNS)))
    return problems


def _check_row(row: dict[str, str], line: int, file: str, vocab: Vocabulary,
               findings_by_id: dict[str, dict]) -> tuple[Assignment | None, list[Problem]]:
    problems: list[Problem] = []

    def problem(code: str, column: str, message: str, suggestion: str | None = None) -> None:
        problems.append(Problem(code, message, file=file, line=line, column=column,
                                value=row.get(column, ""), suggestion=suggestion))

    finding_id = row.get("finding_id", "")
    finding = findings_by_id.get(finding_id)
    if not finding_id:
        problem("missing-value", "finding_id", "a curation row names the finding it curates",
                "copy the finding_id from data/findings.csv")
    elif finding is None:
        near = difflib.get_close_matches(finding_id, list(findings_by_id), n=1, cutoff=0.8)
        problem("unknown-finding", "finding_id", "no finding has this id",
                f"did you mean {near[0]!r}?" if near else "copy the finding_id from data/findings.csv")
    if not row.get("curator", ""):
        problem("missing-value", "curator", "say who curated the row (name or ORCID)")
    for column in ("curator", "notes"):
        if row.get(column, "").startswith(FORMULA_START):
            problem("formula-like-text", column, "a spreadsheet would run this text as a formula",
                    "remove the leading " + repr(row[column][0]))

    region, population, references = row.get("region", ""), row.get("population", ""), row.get("references", "")
    region_id = ""
    if not region and not references:
        problem("assigns-nothing", "region", "the row assigns neither a region nor references",
                "fill region (with population) or references")
    if region or population:
        region_id = _check_location(region, population, problem, vocab)
    if references:
        references = _check_references(references, problem)
    if finding is not None:
        if region and finding["location_status"] == "reported":
            problem("already-reported", "region", "the source states this finding's region "
                    f"({finding['region_id']}); curation fills only what the source lost",
                    "remove region and population from the row")
        if references and finding["citation_status"] == "cited":
            problem("already-reported", "references", "the source gives this finding's references "
                    f"({finding['references']}); curation fills only what the source lost",
                    "remove references from the row")
    if problems:
        return None, problems
    return Assignment(file, line, finding_id, population if region_id else "", region_id, references,
                      row.get("curator", ""), row.get("notes", "")), []


def _check_location(region: str, population: str, problem, vocab: Vocabulary) -> str:
    populations = sorted({r["population"] for r in vocab.regions})
    if not region:
        problem("missing-value", "region", "a population is given without a region", "fill region, or clear population")
        return ""
    if population not in populations:
        near = difflib.get_close_matches(population.lower(), populations, n=1)
        hint = [r["population"] for r in vocab.regions if r["label"] == region]
        suggestion = (f"did you mean {near[0]!r}? " if near and population else "") + (
            f"{region} is a region for {' or '.join(sorted(set(hint)))}" if hint else "one of " + ", ".join(populations))
        problem("missing-value" if not population else "unknown-population", "population",
                "population must be one of " + ", ".join(populations), suggestion)
        return ""
    match = vocab.region_for(population, region)
    if match:
        return match["region_id"]
    elsewhere = [r["population"] for r in vocab.regions if r["label"] == region]
    if elsewhere:
        problem("region-population-mismatch", "region", f"{region} is not a {population} region in this dataset",
                f"{region} is a region for {' or '.join(elsewhere)}; check population")
        return ""
    labels = [r["label"] for r in vocab.regions if r["population"] == population]
    by_name = {r["name"].lower(): r["label"] for r in vocab.regions if r["population"] == population}
    near = difflib.get_close_matches(region, labels, n=1) or [by_name[n] for n in difflib.get_close_matches(
        region.lower(), list(by_name), n=1)]
    problem("unknown-region", "region", f"not a known {population} region ({', '.join(labels)})",
            (f"did you mean {near[0]!r}? " if near else "") + "a new region enters by an edit to schemas/regions.csv")
    return ""


def _check_references(references: str, problem) -> str:
    parts = [part.strip() for part in references.split(";") if part.strip()]
    bad = [part for part in parts if not REFERENCE_RE.fullmatch(part)]
    if bad or not parts:
        digits = re.sub(r"\D", "", bad[0]) if bad else ""
        problem("bad-reference", "references", "each reference is 'PMID:' + digits or a DOI (10.…), ';'-separated",
                f"write PMID:{digits}" if digits and bad[0].lower().startswith("pmid") else None)
        return ""
    return ";".join(parts)


def check_curation(files: list[tuple[Path, str]], vocab: Vocabulary, findings: list[dict]) -> list[CheckedCuration]:
    """All curation files, in the order given: each checked alone, then no finding assigned twice.

    A second assignment of a finding is an error of the later row; it is left out of
    `assignments`, so every finding keeps the first one.
    """
    findings_by_id = {f["finding_id"]: f for f in findings}
    results: list[CheckedCuration] = []
    first: dict[str, Assignment] = {}
    for path, display in files:
        checked = check_curation_file(path, display, vocab, findings_by_id)
        kept = []
        for assignment in checked.assignments:
            earlier = first.get(assignment.finding_id)
            if earlier:
                checked.problems.append(Problem(
                    "assigned-twice", f"the finding is already curated on {earlier.file}:{earlier.line}",
                    file=assignment.file, line=assignment.line, column="finding_id", value=assignment.finding_id,
                    suggestion="keep one row per finding: merge the two rows"))
                continue
            first[assignment.finding_id] = assignment
            kept.append(assignment)
        checked.assignments = kept
        results.append(checked)
    return results


def apply_curation(findings: list[dict], assignments: list[Assignment]) -> list[dict]:
    """The findings with the assignments applied; ids, order and provenance unchanged."""
    by_id = {a.finding_id: a for a in assignments}
    curated = []
    for finding in findings:
        assignment = by_id.get(finding["finding_id"])
        if assignment:
            finding = dict(finding)
            if assignment.region_id:
                finding.update(population=assignment.population, region_id=assignment.region_id,
                               location_status="curated")
            if assignment.references:
                finding.update(references=assignment.references, citation_status="curated")
        curated.append(finding)
    return curated
