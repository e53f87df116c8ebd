"""`ketamap add`: validate, then place the file for the next `dvc repro`; an invalid file changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tool_env, uncurated_review_findings

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


CONTRIB_HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes\n"


def contribution(folder: Path, name: str, reference: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(CONTRIB_HEADER + f"BDNF,,increase,animal,HPC,rat,{reference},,\n", encoding="utf-8")
    return path


def test_two_adds_of_one_name_at_once_one_wins_the_other_is_told(project_copy: Path, tmp_path: Path):
    first = contribution(tmp_path / "a", "same.csv", "PMID:1")
    second = contribution(tmp_path / "b", "same.csv", "PMID:2")
    runs = [subprocess.Popen([sys.executable, "-m", "pipeline", "add", str(path)], cwd=project_copy, env=tool_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for path in (first, second)]
    results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    winner = (first, second)[[code for code, _ in results].index(0)]
    assert (project_copy / "data/contrib/same.csv").read_bytes() == winner.read_bytes()
    assert "name-taken" in next(err for code, err in results if code == 2)
    assert [p.name for p in (project_copy / "data/contrib").iterdir() if p.name.startswith(".")] == []


def _add_in_process(project: Path, path: Path, during_validation):
    """add_file, with `during_validation()` run while the staged copy is being checked."""
    from pipeline.contributions import intake
    from pipeline.core.settings import load_params
    from pipeline.core.vocab import Vocabulary

    real = intake.validate_staged

    def validate(*args, **kwargs):
        during_validation()
        return real(*args, **kwargs)

    intake.validate_staged = validate
    try:
        return intake.add_file(path, project, load_params(project), Vocabulary(project / "schemas"))
    finally:
        intake.validate_staged = real


def test_add_copies_exactly_the_bytes_it_validated(project_copy: Path, tmp_path: Path):
    source = contribution(tmp_path, "swap.csv", "PMID:1")
    validated = source.read_bytes()
    destination, copied = _add_in_process(project_copy, source, lambda: source.write_text("not,a,contribution\n=1,2,3\n"))
    assert copied and destination.read_bytes() == validated


def test_add_never_replaces_a_file_that_appears_while_it_validates(project_copy: Path, tmp_path: Path):
    from pipeline.contributions.intake import Refused

    source = contribution(tmp_path, "race.csv", "PMID:1")
    rival = project_copy / "data/contrib/race.csv"
    with pytest.raises(Refused) as refused:
        _add_in_process(project_copy, source, lambda: rival.write_text("the other add's file\n"))
    assert refused.value.problems[0].code == "name-taken"
    assert rival.read_text() == "the other add's file\n"
    assert [p.name for p in rival.parent.iterdir() if p.name.startswith(".")] == []


def test_add_refuses_a_contrib_folder_that_resolves_outside_the_repository(project_copy: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    folder = project_copy / "data/contrib"
    shutil.rmtree(folder)
    folder.symlink_to(outside, target_is_directory=True)
    result = ketamap(project_copy, "add", str(contribution(tmp_path / "src", "x.csv", "PMID:1")))
    assert result.returncode == 2 and "outside-repository" in result.stderr, result.stderr
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_add_refuses_a_fifo_or_a_folder_at_once(project_copy: Path, tmp_path: Path, kind: str):
    target = tmp_path / "input.csv"
    os.mkfifo(target) if kind == "fifo" else target.mkdir()
    result = ketamap(project_copy, "add", str(target))
    assert result.returncode == 2 and "not-a-file" in result.stderr and "Traceback" not in result.stderr
    assert not (project_copy / "data/contrib/input.csv").exists()


@pytest.mark.parametrize("kind", ["fifo", "device-link", "folder"])
def test_template_output_never_replaces_a_fifo_a_device_or_a_folder(tmp_path: Path, kind: str):
    target = tmp_path / "out.csv"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device-link":
        target.symlink_to("/dev/null")
    else:
        target.mkdir()
    before = os.lstat(target)
    result = ketamap(tmp_path, "template", "--output", str(target))
    assert result.returncode == 2 and "not-a-file" in result.stderr
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_add_prints_a_hostile_file_name_escaped(project_copy: Path, tmp_path: Path):
    source = tmp_path / "a\nerror [forged] everything is fine [red]x :x:.csv"
    source.write_text(CONTRIB_HEADER + "BDNF,,sideways,animal,HPC,rat,PMID:1,,\n", encoding="utf-8")
    result = ketamap(project_copy, "add", str(source))
    assert result.returncode == 1
    assert not any(line.startswith("error [forged]") for line in result.stderr.splitlines())
    assert "a\\nerror [forged]" in result.stderr and "[red]x :x:" in result.stderr
