"""The maintainer's path across two releases, with real `dvc repro` and git in a temporary copy:
0.1.0 → a contribution is added (the unreleased state; the kept 0.1.0 bundle unchanged) → a new
version; `ketamap diff` and the generated changelog list exactly the contributed findings, found by
version number without tags, and `ketamap release` records the new version."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import run_dvc, tool_env, released_finding_ids
from pipeline.core.files import read_csv
from test_accepted_e2e import CONTRIB_HEADER, TWO_ROWS

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]


def ketamap(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=project, env=tool_env(),
                          capture_output=True, text=True)


def git(project: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=project, check=True, capture_output=True, text=True).stdout


def test_second_release_diff_and_changelog_list_exactly_the_contributed_findings(project_copy: Path):
    # no tags: versions are found by name in release/releases.json
    assert git(project_copy, "tag", "--list") == ""
    record = json.loads((project_copy / "release" / "releases.json").read_text(encoding="utf-8"))["releases"]
    kept = {e["version"]: (project_copy / e["bundle"], e["sha256"]) for e in record}
    before = {f["finding_id"] for f in read_csv(project_copy / "data" / "findings.csv")}

    contribution = project_copy / "smith-2024.csv"
    contribution.write_text(CONTRIB_HEADER + "".join(TWO_ROWS), encoding="utf-8")
    added = ketamap(project_copy, "add", str(contribution))
    assert added.returncode == 0, added.stdout + added.stderr
    # rebuilt without a version bump: the unreleased state, never a released number
    old = yaml.safe_load((project_copy / "params.yaml").read_text(encoding="utf-8"))["release"]
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (project_copy / "dist").iterdir()) == ["ketamap-unreleased.zip"]
    assert json.loads((project_copy / "datapackage.json").read_text())["version"] == f"{old['version']}+unreleased"
    assert f"version: {old['version']}+unreleased" in (project_copy / "CITATION.cff").read_text(encoding="utf-8")
    for path, sha256 in kept.values():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256

    after = {f["finding_id"] for f in read_csv(project_copy / "data" / "findings.csv")}
    diff = ketamap(project_copy, "diff", old["version"], ".", "--format", "json")
    assert diff.returncode == 0, diff.stderr
    findings = json.loads(diff.stdout)["resources"]["findings"]
    released = released_finding_ids(project_copy)  # main may hold unreleased findings already
    assert sorted(row["finding_id"] for row in findings["added"]) == sorted(after - released)
    assert len(after - before) == 2 and (after - before) <= after - released
    assert findings["removed"] == [] and findings["changed"] == []

    major, minor, _ = (int(n) for n in old["version"].split("."))
    new_version = f"{major}.{minor + 1}.0"
    params_path = project_copy / "params.yaml"
    params = params_path.read_text(encoding="utf-8")
    params_path.write_text(params.replace(f"version: {old['version']}", f"version: {new_version}")
                           .replace(f'date: "{old["date"]}"', 'date: "2026-12-24"'), encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    entry = ketamap(project_copy, "changelog", "--write")
    assert entry.returncode == 0, entry.stderr
    changelog = (project_copy / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{new_version}] - 2026-12-24" in changelog
    assert f"Data changes since {old['version']}: {len(after - released)} findings added, 0 removed, 0 changed." \
        in changelog
    assert all(finding_id in changelog for finding_id in after - before)

    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (project_copy / "dist").iterdir()) == [f"ketamap-{new_version}.zip"]
    refused = ketamap(project_copy, "release")  # the build is not committed yet
    assert refused.returncode == 1 and "uncommitted-build" in refused.stderr
    git(project_copy, "add", "-A")
    git(project_copy, "commit", "-qm", f"{new_version} built")
    commit = git(project_copy, "rev-parse", "HEAD").strip()
    recorded = ketamap(project_copy, "release")
    assert recorded.returncode == 0, recorded.stderr
    entries = json.loads((project_copy / "release" / "releases.json").read_text(encoding="utf-8"))["releases"]
    new = entries[-1]
    bundle = (project_copy / "dist" / f"ketamap-{new_version}.zip").read_bytes()
    assert (new["version"], new["date"], new["commit"], new["bundle"], new["doi"]) == (
        new_version, "2026-12-24", commit, f"release/ketamap-{new_version}.zip", None)
    assert new["sha256"] == hashlib.sha256(bundle).hexdigest()
    assert (project_copy / "release" / f"ketamap-{new_version}.zip").read_bytes() == bundle
    again = ketamap(project_copy, "release")
    assert again.returncode == 1 and "already-released" in again.stderr

    result = run_dvc(project_copy, "repro")  # the record changed; the build did not
    assert result.returncode == 0, result.stderr
    assert (project_copy / "dist" / f"ketamap-{new_version}.zip").read_bytes() == bundle
    git(project_copy, "add", "-A")
    git(project_copy, "commit", "-qm", f"{new_version} recorded")
    assert run_dvc(project_copy, "status", "-q").returncode == 0
    same = ketamap(project_copy, "diff", new_version, ".", "--exit-code")
    assert same.returncode == 0, same.stdout + same.stderr
    doi = ketamap(project_copy, "release", "--doi", "10.5281/zenodo.123")
    assert doi.returncode == 0, doi.stderr
    assert json.loads((project_copy / "release" / "releases.json").read_text())["releases"][-1]["doi"] == \
        "10.5281/zenodo.123"
