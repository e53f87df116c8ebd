"""`ketamap validate` on curation files: the folder decides (or --curation), the report is SPEC.md's."""

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


def test_a_curation_file_checked_as_a_contribution_points_to_the_flag(project_copy: Path, tmp_path: Path):
    mine = tmp_path / "mine.csv"
    mine.write_text(CURATION_HEADER + f"{first_finding(project_copy)},HPC,animal,,A,\n")
    result = ketamap(project_copy, "validate", str(mine))
    assert result.returncode == 1
    assert "--curation" in result.stdout
