"""`ketamap add`: validate, then place the file for the next `dvc repro`; an invalid file changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import tool_env, uncurated_review_findings
from pipeline.core.files import read_csv

CURATION_HEADER = "finding_id,region,population,references,curator,notes\n"


def ketamap(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=project, env=tool_env(),
                          capture_output=True, text=True)


def folder_listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def first_finding(project: Path) -> str:
    return uncurated_review_findings(project)[0]["finding_id"]


def test_add_curation_copies_a_valid_file(project_copy: Path, tmp_path: Path):
    source = tmp_path / "hpc.csv"
    source.write_text(CURATION_HEADER + f"{first_finding(project_copy)},HPC,animal,,A. Curator,\n", encoding="utf-8")
    result = ketamap(project_copy, "add", "--curation", str(source))
    assert result.returncode == 0, result.stderr
    assert (project_copy / "data/curation/hpc.csv").read_bytes() == source.read_bytes()
    assert "data/curation/hpc.csv" in result.stdout and "dvc repro" in result.stdout


def test_add_the_same_file_again_is_a_no_op(project_copy: Path, tmp_path: Path):
    source = tmp_path / "hpc.csv"
    source.write_text(CURATION_HEADER + f"{first_finding(project_copy)},HPC,animal,,A. Curator,\n", encoding="utf-8")
    assert ketamap(project_copy, "add", "--curation", str(source)).returncode == 0
    again = ketamap(project_copy, "add", "--curation", str(source))
    assert again.returncode == 0 and "already there" in again.stdout


def test_add_invalid_curation_changes_nothing_and_exits_1(project_copy: Path, tmp_path: Path):
    folder = project_copy / "data/curation"
    before = folder_listing(folder)
    source = tmp_path / "bad.csv"
    source.write_text(CURATION_HEADER + f"{first_finding(project_copy)},Hippocampus,animal,,A. Curator,\n",
                      encoding="utf-8")
    result = ketamap(project_copy, "add", "--curation", str(source))
    assert result.returncode == 1
    assert f"{source}:2:" in result.stderr and "'HPC'" in result.stderr
    assert "Traceback" not in result.stderr
    assert folder_listing(folder) == before


def test_add_curation_refuses_a_finding_already_curated_in_another_file(project_copy: Path, tmp_path: Path):
    target = first_finding(project_copy)
    (project_copy / "data/curation/earlier.csv").write_text(CURATION_HEADER + f"{target},HPC,animal,,A,\n",
                                                            encoding="utf-8")
    source = tmp_path / "later.csv"
    source.write_text(CURATION_HEADER + f"{target},PFC,animal,,B,\n", encoding="utf-8")
    result = ketamap(project_copy, "add", "--curation", str(source))
    assert result.returncode == 1
    assert "assigned-twice" in result.stderr and "data/curation/earlier.csv:2" in result.stderr
    assert not (project_copy / "data/curation/later.csv").exists()


def test_add_never_overwrites_a_different_file_of_the_same_name(project_copy: Path, tmp_path: Path):
    target = first_finding(project_copy)
    existing = project_copy / "data/curation/hpc.csv"
    existing.write_text(CURATION_HEADER + f"{target},HPC,animal,,A,\n", encoding="utf-8")
    before = existing.read_bytes()
    source = tmp_path / "hpc.csv"
    source.write_text(CURATION_HEADER + f"{target},HPC,animal,PMID:1,A,\n", encoding="utf-8")
    result = ketamap(project_copy, "add", "--curation", str(source))
    assert result.returncode == 2
    assert "name-taken" in result.stderr and "rename" in result.stderr
    assert existing.read_bytes() == before


def test_add_a_missing_file_is_a_usage_error(project_copy: Path):
    result = ketamap(project_copy, "add", "--curation", "no-such-file.csv")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_add_outside_the_repository_is_a_usage_error(tmp_path: Path):
    (tmp_path / "x.csv").write_text(CURATION_HEADER, encoding="utf-8")
    result = ketamap(tmp_path, "add", "x.csv")
    assert result.returncode == 2 and "params.yaml" in result.stderr and "Traceback" not in result.stderr
