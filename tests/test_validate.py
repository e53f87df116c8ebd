"""The validate stage: schemas from schemas/, cross-field rules, every problem at once."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from pipeline.core.files import read_csv
from pipeline.datapackage.validation import check_tables, validate_package
from pipeline.core.vocab import RESOURCES, Vocabulary

VOCAB = Vocabulary()
SCHEMAS = {name: VOCAB.table_schema(name) for name in RESOURCES}


@pytest.fixture
def interim(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name in RESOURCES:
        paths[name] = tmp_path / f"{name}.csv"
        shutil.copy(ROOT / "data" / "interim" / f"{name}.csv", paths[name])
    return paths


def edit(path: Path, line: int, **changes: str) -> None:
    """Change cells of the data row on `line` (header = line 1)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[line - 2].update(changes)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_published_tables_pass():
    paths = {name: ROOT / "data" / "interim" / f"{name}.csv" for name in RESOURCES}
    assert check_tables(paths, SCHEMAS) == []


def test_schema_enums_are_the_vocabularies():
    # One source of truth: the Table Schema's allowed values are the vocabulary CSVs.
    fields = {f["name"]: f for f in VOCAB.table_schema("findings")["fields"]}
    assert fields["direction"]["constraints"]["enum"] == [d["direction"] for d in VOCAB.directions]
    assert fields["measure"]["constraints"]["enum"] == VOCAB.measures
    assert set(fields["population"]["constraints"]["enum"]) == {r["population"] for r in VOCAB.regions}


def test_unknown_direction_is_reported_with_line_column_and_value(interim):
    edit(interim["findings"], 5, direction="up")
    (problem,) = check_tables(interim, SCHEMAS)
    assert (problem.line, problem.column, problem.value) == (5, "direction", "up")


def test_population_must_fit_the_region(interim):
    edit(interim["findings"], 3, population="animal", region_id="human-Plasma", location_status="reported")
    problems = check_tables(interim, SCHEMAS)
    assert [(p.line, p.column) for p in problems] == [(3, "population")]
    assert "population fits region" in problems[0].message


def test_location_status_must_fit_the_region(interim):
    edit(interim["findings"], 4, location_status="reported")
    problems = check_tables(interim, SCHEMAS)
    assert [(p.line, p.column, p.value) for p in problems] == [(4, "location_status", "reported")]


def test_citation_status_must_fit_the_references(interim):
    edit(interim["findings"], 6, references="PMID:123")
    problems = check_tables(interim, SCHEMAS)
    assert [(p.line, p.column) for p in problems] == [(6, "citation_status")]


def test_unknown_region_and_molecule_break_the_foreign_keys(interim):
    edit(interim["findings"], 7, population="animal", region_id="animal-Cerebellum", location_status="reported")
    edit(interim["findings"], 8, molecule_id="unobtainium")
    problems = {(p.line, p.column) for p in check_tables(interim, SCHEMAS)}
    assert {(7, "region_id"), (8, "molecule_id")} <= problems


def test_duplicate_finding_id_and_bad_integer_are_both_reported(interim):
    first = read_csv(interim["findings"])[0]["finding_id"]
    edit(interim["findings"], 10, finding_id=first)
    edit(interim["findings"], 11, source_row="eleven")
    problems = check_tables(interim, SCHEMAS)
    found = {(p.line, p.column, p.code) for p in problems}
    assert {(10, "finding_id", "primary-key"), (10, "finding_id", "unique-error")} <= found
    assert (11, "source_row", "type-error") in found
    assert all("Traceback" not in (p.message + str(p.value)) for p in problems)


def test_validate_package_detects_a_tampered_file(tmp_path: Path):
    shutil.copy(ROOT / "datapackage.json", tmp_path / "datapackage.json")
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("raw", "interim"))
    assert validate_package(tmp_path / "datapackage.json") == []
    findings = tmp_path / "data" / "findings.csv"
    findings.write_bytes(findings.read_bytes().replace(b"increase", b"decrease", 1))
    codes = {p.code for p in validate_package(tmp_path / "datapackage.json")}
    assert "hash-count" in codes


def test_validate_package_reports_an_unreadable_descriptor(tmp_path: Path):
    (tmp_path / "datapackage.json").write_text("{not json", encoding="utf-8")
    (problem,) = validate_package(tmp_path / "datapackage.json")
    assert problem.code == "unreadable-package"


def test_metrics_summary_is_committed_and_counts_the_published_tables():
    from collections import Counter

    metrics = json.loads((ROOT / "metrics" / "validation.json").read_text(encoding="utf-8"))
    findings = read_csv(ROOT / "data" / "findings.csv")
    molecules = read_csv(ROOT / "data" / "molecules.csv")
    assert metrics["findings"] == len(findings) and metrics["molecules"] == len(molecules)
    assert metrics["molecules_without_findings"] == len({m["molecule_id"] for m in molecules}
                                                        - {f["molecule_id"] for f in findings})
    assert metrics["direction"] == dict(Counter(f["direction"] for f in findings))
    assert metrics["sources"] == len(read_csv(ROOT / "data" / "sources.csv")) and metrics["problems"] == 0


def test_validate_package_applies_the_domain_rules_with_its_own_tables(tmp_path: Path):
    # the Table Schema checks cover hashes, types and keys; the cross-field rules run on the package's own
    # tables and schemas, so a downloaded package needs no checkout of this repository.
    import hashlib

    shutil.copy(ROOT / "datapackage.json", tmp_path / "datapackage.json")
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("raw", "interim"))
    edit(tmp_path / "data" / "findings.csv", 2, population="human", region_id="animal-PFC",
         location_status="reported")
    data = (tmp_path / "data" / "findings.csv").read_bytes()
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"][0].update(hash="sha256:" + hashlib.sha256(data).hexdigest(), bytes=len(data))
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    problems = validate_package(tmp_path / "datapackage.json")
    assert [(p.line, p.column) for p in problems] == [(2, "population")]


SCHEMA_CODES = {"type-error", "constraint-error", "unique-error", "primary-key"}


def pandera_cells(paths: dict[str, Path]) -> set[tuple[str, int, str]]:
    """(table, line, column) of every cell pandera's schemas (built from the Table Schemas) reject."""
    import pandera.errors

    from pipeline.datapackage.validation import _failure_problems, column_schema, read_table

    cells = set()
    for name in RESOURCES:
        frame, type_problems = read_table(paths[name], SCHEMAS[name], name)
        found = list(type_problems)
        try:
            column_schema(SCHEMAS[name]).validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            found += _failure_problems(errors.failure_cases, frame, name)
        cells |= {(name, p.line, p.column) for p in found}
    return cells


@pytest.mark.parametrize("changes", [
    {},
    {5: {"direction": "up"}},
    {10: {"finding_id": "fnd-000000000000"}, 11: {"finding_id": "fnd-000000000000", "source_row": "eleven"}},
    {4: {"finding_id": "not an id"}, 6: {"molecule_id": ""}, 7: {"label_truncated": "yes"}},
])
def test_the_stage_engine_and_pandera_reject_the_same_cells(interim, changes):
    """The stage checks its tables with the columnar engine; pandera's schemas from the same Table
    Schemas (the design's choice, kept for the vocabularies) must reject exactly the same cells."""
    for line, cells in changes.items():
        edit(interim["findings"], line, **cells)
    display = {name: name for name in RESOURCES}
    columnar = {(p.file, p.line, p.column) for p in check_tables(interim, SCHEMAS, display) if p.code in SCHEMA_CODES}
    assert columnar == pandera_cells(interim)
    assert bool(columnar) == bool(changes)
