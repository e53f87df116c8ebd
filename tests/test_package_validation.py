"""Whole-package validation in one columnar pass (pipeline.datapackage.columnar): each check of the
package's own Table Schemas on a copy of the repository's package, hashes rewritten so only the
planted problem remains."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT
from pipeline.datapackage.validation import validate_package
from test_validate import edit as edit_row


@pytest.fixture
def package(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "datapackage.json", tmp_path / "datapackage.json")
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("raw", "interim", "contrib",
                                                                                     "curation"))
    return tmp_path / "datapackage.json"


def rehash(descriptor: Path) -> None:
    data = json.loads(descriptor.read_text(encoding="utf-8"))
    for resource in data["resources"]:
        body = (descriptor.parent / resource["path"]).read_bytes()
        resource.update(hash="sha256:" + hashlib.sha256(body).hexdigest(), bytes=len(body))
    descriptor.write_text(json.dumps(data), encoding="utf-8")


def edit(descriptor: Path, table: str, line: int, **changes: str) -> None:
    edit_row(descriptor.parent / "data" / f"{table}.csv", line, **changes)
    rehash(descriptor)


def found(descriptor: Path) -> set[tuple]:
    return {(Path(p.file).name if p.file else None, p.line, p.column, p.code, p.value)
            for p in validate_package(descriptor)}


def test_the_repository_package_is_valid_and_progress_is_told(package):
    heard = []
    assert validate_package(package, heard.append) == []
    assert any("findings.csv" in text for text in heard) and heard[-1] == "checking the domain rules"


@pytest.mark.parametrize("changes, expected", [
    ({"source_row": "eleven"}, ("source_row", "type-error", "eleven")),
    ({"label_truncated": "yes"}, ("label_truncated", "type-error", "yes")),
    ({"direction": "sideways"}, ("direction", "constraint-error", "sideways")),
    ({"finding_id": "FND-1"}, ("finding_id", "constraint-error", "FND-1")),
    ({"source_row": "0"}, ("source_row", "constraint-error", "0")),
    ({"molecule_label": ""}, ("molecule_label", "constraint-error", None)),
    ({"molecule_id": "unobtainium"}, ("molecule_id", "foreign-key", "unobtainium")),
])
def test_each_table_schema_check_names_line_column_and_value(package, changes, expected):
    edit(package, "findings", 5, **changes)
    assert found(package) == {("findings.csv", 5, *expected)}


def test_a_duplicate_key_breaks_unique_and_the_primary_key(package):
    first = next(csv.DictReader(open(package.parent / "data" / "findings.csv", encoding="utf-8")))["finding_id"]
    edit(package, "findings", 7, finding_id=first)
    codes = {(line, code) for _, line, _, code, _ in found(package)}
    assert {(2, "unique-error"), (7, "unique-error"), (2, "primary-key"), (7, "primary-key")} == codes


def test_a_domain_rule_runs_only_on_a_package_that_passes_its_schemas(package):
    edit(package, "findings", 4, population="human", region_id="animal-PFC", location_status="reported")
    assert found(package) == {("findings.csv", 4, "population", "rule-violation", "human")}


def test_hash_and_byte_count_are_streamed_and_compared(package):
    findings = package.parent / "data" / "findings.csv"
    findings.write_bytes(findings.read_bytes().replace(b"increase", b"decrease", 1))  # still valid data
    assert {code for _, _, _, code, _ in found(package)} == {"hash-count"}
    findings.write_bytes(findings.read_bytes() + b"\n")
    assert {code for _, _, _, code, _ in found(package)} == {"hash-count", "byte-count", "blank-row"}


def test_a_header_out_of_order_is_one_problem(package):
    path = package.parent / "data" / "sources.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    names = lines[0].split(",")
    names[0], names[1] = names[1], names[0]
    path.write_text("\n".join([",".join(names), *lines[1:]]) + "\n", encoding="utf-8")
    rehash(package)
    (problem,) = validate_package(package)
    assert (problem.code, problem.line) == ("header-mismatch", 1)


def test_a_schema_given_as_a_url_is_refused_without_fetching(package):
    data = json.loads(package.read_text(encoding="utf-8"))
    data["resources"][0]["schema"] = "http://127.0.0.1:9/findings.schema.json"
    package.write_text(json.dumps(data), encoding="utf-8")
    (problem,) = validate_package(package)
    assert problem.code == "unreadable-package" and "URL" in problem.message


def test_a_table_that_is_not_utf8_is_a_problem_not_a_traceback(package):
    path = package.parent / "data" / "sources.csv"
    path.write_bytes(path.read_bytes().replace(b"Kang", b"K\xe4ng", 1))
    rehash(package)
    problems = validate_package(package)
    assert problems and all("Traceback" not in p.message for p in problems)
