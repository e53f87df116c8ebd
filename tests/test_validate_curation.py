"""`ketamap validate` on curation files: the folder decides (or --curation), the report is the contributions' JSON report."""

from __future__ import annotations

import json
from pathlib import Path

from test_add import CURATION_HEADER, first_finding, ketamap


def test_a_file_in_data_curation_is_checked_as_curation(project_copy: Path):
    target = first_finding(project_copy)
    (project_copy / "data/curation/ok.csv").write_text(CURATION_HEADER + f"{target},HPC,animal,,A,\n")
    (project_copy / "data/curation/bad.csv").write_text(CURATION_HEADER + f"{target},Hippocampus,animal,,A,\n")
    result = ketamap(project_copy, "validate", "data/curation/ok.csv", "data/curation/bad.csv", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [(f["path"], f["valid"], f["rows"]) for f in report["files"]] == [
        ("data/curation/ok.csv", True, 1), ("data/curation/bad.csv", False, 1)]
    [error] = report["files"][1]["errors"]
    assert (error["code"], error["line"], error["column"], error["value"]) == ("unknown-region", 2, "region", "Hippocampus")
    assert "'HPC'" in error["suggestion"]


def test_curation_flag_checks_a_file_elsewhere_and_sees_the_folder(project_copy: Path, tmp_path: Path):
    target = first_finding(project_copy)
    (project_copy / "data/curation/earlier.csv").write_text(CURATION_HEADER + f"{target},HPC,animal,,A,\n")
    mine = tmp_path / "mine.csv"
    mine.write_text(CURATION_HEADER + f"{target},,,PMID:1,B,\n")
    result = ketamap(project_copy, "validate", "--curation", str(mine))
    assert result.returncode == 1
    assert "assigned-twice" in result.stdout and "data/curation/earlier.csv:2" in result.stdout


def test_contributions_and_curation_files_in_one_call(project_copy: Path, tmp_path: Path):
    contribution = tmp_path / "new.csv"
    contribution.write_text("molecule,direction,population,region,species,reference\n"
                            "BDNF,increase,animal,HPC,mouse,PMID:11111111\n")
    (project_copy / "data/curation/ok.csv").write_text(CURATION_HEADER + f"{first_finding(project_copy)},,,PMID:2,A,\n")
    result = ketamap(project_copy, "validate", str(contribution), "data/curation/ok.csv", "--format", "json")
    assert result.returncode == 0, result.stdout
    assert [f["valid"] for f in json.loads(result.stdout)["files"]] == [True, True]


def test_curation_without_a_package_is_a_usage_error(project_copy: Path):
    (project_copy / "data/curation/ok.csv").write_text(CURATION_HEADER + f"{first_finding(project_copy)},,,PMID:2,A,\n")
    result = ketamap(project_copy, "validate", "--no-package", "data/curation/ok.csv")
    assert result.returncode == 2
    assert "--package" in result.stdout


def test_a_curation_file_is_recognised_by_its_columns_and_checked_as_one(project_copy: Path, tmp_path: Path):
    mine = tmp_path / "mine.csv"
    mine.write_text(CURATION_HEADER + f"{first_finding(project_copy)},HPC,animal,,A,\n")
    result = ketamap(project_copy, "validate", str(mine), "--format", "json")
    assert result.returncode == 0, result.stdout
    [checked] = json.loads(result.stdout)["files"]
    assert (checked["valid"], checked["rows"], checked["warnings"]) == (True, 1, [])
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(CURATION_HEADER + f"{first_finding(project_copy)},Hippocampus,animal,,A,\n")
    result = ketamap(project_copy, "validate", str(wrong), "--format", "json")
    assert result.returncode == 1
    assert [e["code"] for e in json.loads(result.stdout)["files"][0]["errors"]] == ["unknown-region"]


def test_a_curation_file_without_a_package_says_which_options_to_add(project_copy: Path, tmp_path: Path):
    mine = tmp_path / "mine.csv"
    mine.write_text(CURATION_HEADER + f"{first_finding(project_copy)},HPC,animal,,A,\n")
    result = ketamap(project_copy, "validate", "--no-package", str(mine))
    assert result.returncode == 2
    assert "looks-like-curation" in result.stdout and "--curation --package data/findings.csv" in result.stdout


def test_the_curation_template_validates_and_a_filled_copy_is_checked_as_curation(project_copy: Path, tmp_path: Path):
    from openpyxl import load_workbook

    for form in ("csv", "xlsx"):
        template = tmp_path / f"curation.{form}"
        assert ketamap(project_copy, "template", "--curation", "--format", form, "--output", str(template)).returncode == 0
        report = json.loads(ketamap(project_copy, "validate", str(template), "--format", "json").stdout)
        assert [e["code"] for e in report["files"][0]["errors"]] == ["no-rows"]
        assert report["files"][0]["warnings"] == []
        filled = tmp_path / f"filled.{form}"
        row = [first_finding(project_copy), "HPC", "animal", "", "A. Curator", "Table 1"]
        if form == "csv":
            filled.write_text(template.read_text() + ",".join(row) + "\n")
        else:
            workbook = load_workbook(template)
            workbook.active.append(row)
            workbook.save(filled)
        result = ketamap(project_copy, "validate", str(filled), "--format", "json")
        assert result.returncode == 0, result.stdout
