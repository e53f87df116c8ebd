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
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Mapping

from pipeline.contributions.cells import schema_columns
from pipeline.contributions.rules import map_header
from pipeline.contributions.sheets import read_sheet
from pipeline.contributions import text
from pipeline.contributions.wording import (
    describe_population,
    describe_reference,
    describe_region,
    describe_region_population,
)
from pipeline.core.problems import Problem
from pipeline.core.vocab import Vocabulary
from pipeline.findings import rules as domain

SCHEMA = "curation"


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
    sheet: str | None = None
    assignments: list[Assignment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    row_count: int = 0

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def read_curation_rows(path: Path, display: str, vocab: Vocabulary) -> tuple[CheckedCuration, list[tuple[int, dict]]]:
    """The file's rows by column name, read as contributions are (CSV, TSV, XLSX, Excel's encodings)."""
    sheet = read_sheet(Path(path), display)
    checked = CheckedCuration(display, sheet.sheet, problems=list(sheet.problems))
    if sheet.frame is None:
        return checked, []
    schema = vocab.table_schema(SCHEMA)
    columns, header_problems = map_header(sheet, schema, vocab)
    names = [spec["name"] for spec in schema["fields"]]
    header = "the header of a curation file is " + ",".join(names) + " (see data/curation/README.md)"
    checked.problems += [replace(p, suggestion=header) if p.code == "missing-column" else p for p in header_problems]
    if any(p.code == "missing-column" for p in header_problems):
        return checked, []
    frame = with_domain_columns(schema_columns(sheet.frame, columns, schema), vocab)
    rows = [(row["line"], row) for row in frame.to_dicts()]
    checked.row_count = len(rows)
    if not rows:
        checked.problems.append(Problem("no-rows", "the file assigns nothing: it has a header but no rows",
                                        file=display, suggestion="add one row per finding to curate"))
    return checked, rows


def check_curation_file(path: Path, display: str, vocab: Vocabulary,
                        findings_by_id: dict[str, dict]) -> CheckedCuration:
    """Every problem of one curation file against the findings it may curate (not yet cross-file)."""
    checked, rows = read_curation_rows(path, display, vocab)
    rules = CurationRules(vocab)
    for line, row in rows:
        assignment, row_problems = rules.check_row(row, line, display, findings_by_id)
        checked.problems.extend(row_problems)
        if assignment:
            checked.assignments.append(assignment)
    return checked


def with_domain_columns(frame, vocab: Vocabulary):
    """The rows plus what `pipeline.findings.rules` says of them: `_population` (canonical, or null),
    `_region_id` (the region for that population, or null), `_region_known` (a region of any
    population) and `_region_fits` (the rule 'population fits region')."""
    import polars as pl

    col = pl.col
    fields = {spec["name"]: spec for spec in vocab.table_schema(SCHEMA)["fields"]}
    populations = {p.casefold(): p for p in fields["population"]["constraints"]["enum"]}
    population = col("population").str.to_lowercase().replace_strict(populations, default=None, return_dtype=pl.String)
    region, regions = col("region"), vocab.regions
    return frame.with_columns(_population=population).with_columns(
        _region_id=domain.resolve_region(region, col("_population"), regions, fold=True),
        _region_known=domain.region_known(region, regions, fold=True),
        _region_fits=domain.population_fits_region(region, col("_population"), regions, fold=True),
    )


class CurationRules:
    """The per-row rules, worded as the contribution checks word them (pipeline.contributions.wording)."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        schema = vocab.table_schema(SCHEMA)
        self.fields = {spec["name"]: spec.get("constraints", {}) for spec in schema["fields"]}

    def matches(self, name: str, value: str) -> bool:
        pattern = self.fields[name].get("pattern")
        return not pattern or re.fullmatch(pattern, value) is not None

    def check_row(self, row: dict[str, str], line: int, file: str,
                  findings_by_id: dict[str, dict]) -> tuple[Assignment | None, list[Problem]]:
        problems: list[Problem] = []

        def problem(code: str, column: str, wording: tuple[str, str | None]) -> None:
            problems.append(Problem(code, wording[0], file=file, line=line, column=column,
                                    value=row.get(column, ""), suggestion=wording[1]))

        finding = self.finding_problems(row, findings_by_id, problem)
        self.free_text_problems(row, problem)
        self.location_problems(row, problem)
        references = row["references"]
        if references:
            references = re.sub(r"(?i)\bpmid\s*:\s*", "PMID:", re.sub(r"\s*;\s*", ";", references)).strip(";")
            if not self.matches("references", references) or text.unbalanced_parenthesis(references):
                problem("bad-reference", "references", describe_reference(row["references"]))
        if finding is not None:
            self.status_problems(row, finding, references, problem)
        if problems:
            return None, problems
        region_id = row["_region_id"] or ""
        return Assignment(file, line, row["finding_id"], row["_population"] if region_id else "", region_id,
                          references, row["curator"], row["notes"]), []

    @staticmethod
    def finding_problems(row: dict, findings_by_id: dict[str, dict], problem) -> dict | None:
        """Rule 'keys': the finding_id names a finding of the package."""
        finding_id = row["finding_id"]
        if not finding_id:
            problem("missing-value", "finding_id", ("the finding_id is required",
                                                    "copy the finding's id from data/findings.csv"))
        elif finding_id not in findings_by_id:
            near = difflib.get_close_matches(finding_id, list(findings_by_id), n=1, cutoff=0.8)
            problem("unknown-finding", "finding_id", ("no finding in the package has this id",
                                                      f"did you mean '{near[0]}'?" if near else
                                                      "copy the finding's id from data/findings.csv"))
        return findings_by_id.get(finding_id)

    def free_text_problems(self, row: dict, problem) -> None:
        if not row["curator"]:
            problem("missing-value", "curator", ("the curator is required", "write who curated the row (name or ORCID)"))
        for column in self.fields:
            value = row[column]
            if any(text.is_invisible(c) for c in value):
                problem("invisible-character", column, text.describe_invisible(value))
            elif column in text.VOCABULARY_COLUMNS and any(text.is_lookalike(c) for c in value):
                problem("lookalike-character", column, text.describe_lookalike(value))
            elif column in ("curator", "notes") and value and not self.matches(column, value):
                problem("formula-like", column, text.describe_formula(value))

    def location_problems(self, row: dict, problem) -> None:
        """Region and population together, and the rule 'population fits region'."""
        region, population = row["region"], row["_population"]
        if not region and not row["references"]:
            problem("assigns-nothing", "region", ("the row assigns neither a region nor references",
                                                  "fill region and population, or references, or both"))
        if row["population"] and population is None:
            problem("unknown-population", "population", describe_population(row["population"], self.vocab))
        elif region and population is None:
            where = sorted({r["population"] for r in self.vocab.regions
                            if region.casefold() in (r["label"].casefold(), r["region_id"].casefold())})
            problem("missing-value", "population", ("the population is required with a region",
                                                    f"write {' or '.join(where) or 'animal or human'}"))
        elif population and not region:
            problem("missing-value", "region", ("a population is given without a region",
                                                "fill the region, or clear the population"))
        elif region and not row["_region_fits"] and row["_region_known"]:
            problem("region-population-mismatch", "region", describe_region_population(region, population, self.vocab))
        elif region and not row["_region_id"]:
            problem("unknown-region", "region", describe_region(region, population, self.vocab))

    @staticmethod
    def status_problems(row: dict, finding: dict, references: str, problem) -> None:
        """Curation fills only what the source lost: a finding's statuses say what that is."""
        if row["region"] and finding["location_status"] == "reported":
            problem("already-reported", "region", (f"the source states this finding's region "
                    f"({finding['region_id']}); curation fills only what the source lost",
                    "remove region and population from the row"))
        if references and finding["citation_status"] == "cited":
            problem("already-reported", "references", (f"the source gives this finding's references "
                    f"({finding['references']}); curation fills only what the source lost",
                    "remove the references from the row"))


def check_curation(files: list[tuple[Path, str]], vocab: Vocabulary,
                   findings: list[dict] | Mapping[str, dict]) -> list[CheckedCuration]:
    """All curation files, in the order given: each checked alone, then no finding assigned twice.
    `findings`: the findings curation may target, or a mapping finding_id → finding of them.

    A second assignment of a finding is an error of the later row; it is left out of
    `assignments`, so every finding keeps the first one.
    """
    findings_by_id = findings if isinstance(findings, Mapping) else {f["finding_id"]: f for f in findings}
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
        checked.problems.sort(key=lambda p: p.line or 0)
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
