"""The pull-request check: its shell steps run here against a real git history (ketamap stubbed)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import yaml

from conftest import ROOT, tool_env

WORKFLOW = ROOT / ".github" / "workflows" / "validate-contributions.yml"
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def step(name_start: str) -> str:
    steps = workflow()["jobs"]["validate"]["steps"]
    return next(s["run"] for s in steps if s.get("name", "").startswith(name_start))


def git(project: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=project, check=True, capture_output=True, text=True).stdout


def pull_request(project: Path, files: dict[str, str]) -> None:
    """`main` as the base (also as origin/main), and a PR branch that adds or changes `files`."""
    git(project, "branch", "-M", "main")
    git(project, "update-ref", "refs/remotes/origin/main", "main")
    git(project, "checkout", "-q", "-b", "pr")
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    (project / "data/findings.csv").write_text("rebuilt by the PR\n", encoding="utf-8")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "pr")


def stub_ketamap(bin_dir: Path, exit_code: int) -> Path:
    """A `ketamap` that records its arguments and what data/findings.csv held when it ran."""
    bin_dir.mkdir()
    log = bin_dir / "calls"
    script = bin_dir / "ketamap"
    script.write_text(f"#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\" >> {log}; done\n"
                      f"head -c 11 data/findings.csv >> {log}; echo >> {log}\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def run_steps(project: Path, tmp_path: Path, exit_code: int) -> tuple[subprocess.CompletedProcess, Path]:
    log = stub_ketamap(tmp_path / "bin", exit_code)
    env = {**tool_env(), "BASE_REF": "main", "RUNNER_TEMP": str(tmp_path),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    env["PATH"] = str(tmp_path / "bin") + os.pathsep + env["PATH"]
    script = "set -eo pipefail\n" + step("Files changed") + "\n" + step("ketamap validate")
    result = subprocess.run(["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True)
    return result, log


def test_runs_on_pull_requests_touching_contrib_or_curation_and_installs_from_the_lock():
    flow = workflow()
    triggers = flow[True]  # YAML reads the key `on` as true
    assert triggers["pull_request"]["paths"] == ["data/contrib/**", "data/curation/**"]
    install = step("Install")
    assert "--require-hashes -r requirements.lock" in install and "--no-deps -e ." in install
    assert "dvc repro" in step("dvc repro")


def test_validates_only_the_changed_data_files_against_the_base_package(project_copy: Path, tmp_path: Path):
    pull_request(project_copy, {"data/curation/new file.csv": "finding_id\n", "data/contrib/README.md": "edited\n",
                                "README.md": "unrelated\n"})
    result, log = run_steps(project_copy, tmp_path, exit_code=0)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    once = ["arg:validate", "arg:data/curation/new file.csv", "finding_id,"]  # the base's findings.csv
    markdown = ["arg:validate", "arg:--format", "arg:markdown", "arg:data/curation/new file.csv", "finding_id,"]
    assert calls == once + markdown  # the log's report, then the job summary's
    assert (project_copy / "data/findings.csv").read_text() == "rebuilt by the PR\n"  # restored afterwards


def test_a_failing_validation_fails_the_check(project_copy: Path, tmp_path: Path):
    pull_request(project_copy, {"data/contrib/bad.csv": "molecule\n"})
    result, _ = run_steps(project_copy, tmp_path, exit_code=1)
    assert result.returncode != 0
    assert (project_copy / "data/findings.csv").read_text() == "rebuilt by the PR\n"


def test_a_pull_request_changing_only_readmes_validates_nothing(project_copy: Path, tmp_path: Path):
    pull_request(project_copy, {"data/curation/README.md": "edited\n"})
    result, log = run_steps(project_copy, tmp_path, exit_code=1)
    assert result.returncode == 0, result.stderr
    assert not log.exists()


def test_a_contribution_with_its_rebuilt_package_passes_the_real_validation(project_copy: Path, tmp_path: Path):
    # The contributor ran `dvc repro`: the PR's package already holds the new findings. Checked
    # against that package they would be "already in the package"; against the base they are new.
    from conftest import run_dvc

    git(project_copy, "branch", "-M", "main")
    git(project_copy, "update-ref", "refs/remotes/origin/main", "main")
    git(project_copy, "checkout", "-q", "-b", "pr")
    (project_copy / "data/contrib/kim-2025.csv").write_text(
        "molecule,direction,population,region,species,reference\nBDNF,increase,animal,HPC,rat,PMID:22222222\n")
    assert run_dvc(project_copy, "repro").returncode == 0
    git(project_copy, "add", "-A")
    git(project_copy, "commit", "-qm", "pr with rebuilt package")
    env = {**tool_env(), "BASE_REF": "main", "RUNNER_TEMP": str(tmp_path),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    script = "set -eo pipefail\n" + step("Files changed") + "\n" + step("ketamap validate")
    result = subprocess.run(["bash", "-c", script], cwd=project_copy, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "data/contrib/kim-2025.csv" in result.stdout and "valid" in result.stdout
    assert git(project_copy, "status", "--porcelain") == ""
