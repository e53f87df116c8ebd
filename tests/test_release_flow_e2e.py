"""The maintainer's path across two releases, with real `dvc repro` and git in a temporary copy:
v0.1.0 → a contribution is added → 0.2.0; `ketamap diff` and the generated changelog list exactly
the contributed findings, and the new bundle replaces the old one in dist/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import run_dvc, tool_env
from pipeline.core.files import read_csv
from test_accepted_e2e import CONTRIB_HEADER, TWO_ROWS

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]


def ketamap(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=project, env=tool_env(),
                          capture_output=True, text=True)


def test_second_release_diff_and_changelog_list_exactly_the_contributed_findings(project_copy: Path):
    subprocess.run([*GIT, "tag", "v0.1.0"], cwd=project_copy, check=True)
    before = {f["finding_id"] for f in read_csv(project_copy / "data" / "findings.csv")}

    contribution = project_copy / "smith-2024.csv"
    contribution.write_text(CONTRIB_HEADER + "".join(TWO_ROWS), encoding="utf-8")
    added = ketamap(project_copy, "add", str(contribution))
    assert added.returncode == 0, added.stdout + added.stderr

    params_path = project_copy / "params.yaml"
    params = params_path.read_text(encoding="utf-8")
    old = yaml.safe_load(params)["release"]
    params_path.write_text(params.replace(f"version: {old['version']}", "version: 0.2.0")
                           .replace(f'date: "{old["date"]}"', 'date: "2026-12-24"'), encoding="utf-8")
    assert yaml.safe_load(params_path.read_text(encoding="utf-8"))["release"]["version"] == "0.2.0"
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr

    after = {f["finding_id"] for f in read_csv(project_copy / "data" / "findings.csv")}
    diff = ketamap(project_copy, "diff", "v0.1.0", ".", "--format", "json")
    assert diff.returncode == 0, diff.stderr
    findings = json.loads(diff.stdout)["resources"]["findings"]
    assert sorted(row["finding_id"] for row in findings["added"]) == sorted(after - before)
    assert len(after - before) == 2 and findings["removed"] == [] and findings["changed"] == []

    entry = ketamap(project_copy, "changelog", "--write")
    assert entry.returncode == 0, entry.stderr
    changelog = (project_copy / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [0.2.0] - 2026-12-24" in changelog
    assert "Data changes since v0.1.0: 2 findings added, 0 removed, 0 changed." in changelog
    assert all(finding_id in changelog for finding_id in after - before)

    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (project_copy / "dist").iterdir()) == ["ketamap-0.2.0.zip"]
    assert run_dvc(project_copy, "status", "-q").returncode == 0
