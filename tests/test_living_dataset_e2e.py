"""The dataset grows by data, not code: in a temporary copy, a new region and a new molecule (one
vocabulary row each), a contribution that uses them, a curation of one review finding, `dvc repro`,
a version bump and the release steps; then the suite's data-dependent tests, run inside the copy,
still pass, and git shows only data, vocabulary and release files changed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import run_dvc, tool_env, released_finding_ids
from pipeline.core.files import read_csv

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
REGION_ROW = "animal-RSC,RSC,retrosplenial cortex,animal,brain,,,,a region for this test only\n"
MOLECULE_ROW = "kynurenine,Kynurenine,glutamate and GABA metabolism,level,,,false,metabolite; a molecule for this test only\n"
CONTRIBUTION = ("# contributor: Doe, Jane; 0000-0002-1825-0097; University of Somewhere\n"
                "molecule,measure,direction,population,region,species,reference,qualifier,notes\n"
                "Kynurenine,,increase,animal,RSC,rat,PMID:11111111,,10 mg/kg i.p.; measured 24 h after\n"
                "BDNF,,increase,animal,RSC,rat,PMID:11111111,chronic stress model,\n")
# The tests that read the project's own data, schemas and release files (not the fixtures-only ones;
# test_report.py is being reworked with pipeline/report/ and still pins the review's grid).
DATA_TESTS = ["test_validate.py", "test_vocabulary.py", "test_extract.py", "test_contrib_cli.py",
              "test_download.py", "test_curation.py", "test_accepted.py", "test_contrib_checks.py", "test_release.py",
              "test_diff.py", "test_jats.py", "test_cli.py"]
# What a maintainer commits after accepting data and releasing it; code and tests stay as they were.
DATA_PATHS = ("data/", "schemas/", "release/", "dist/", "reports/", "metrics/", "datapackage.json", "dvc.lock",
              "params.yaml", "CHANGELOG.md", ".zenodo.json", "CITATION.cff")


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=project, env=tool_env(), capture_output=True, text=True)


def ketamap(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run(project, sys.executable, "-m", "pipeline", *args)


def git(project: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=project, check=True, capture_output=True, text=True).stdout


def append(path: Path, row: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + ("" if text.endswith("\n") else "\n") + row, encoding="utf-8")


def repro(project: Path) -> None:
    result = run_dvc(project, "repro")
    assert result.returncode == 0, result.stdout + result.stderr


def kept_bundles(project: Path) -> dict[Path, str]:
    record = json.loads((project / "release" / "releases.json").read_text(encoding="utf-8"))["releases"]
    return {project / e["bundle"]: e["sha256"] for e in record}


@pytest.mark.slow
def test_accepting_data_and_releasing_it_keeps_the_suite_green(project_copy: Path, tmp_path: Path):
    p = project_copy
    start = git(p, "rev-parse", "HEAD").strip()
    kept = kept_bundles(p)
    append(p / "schemas" / "regions.csv", REGION_ROW)
    append(p / "schemas" / "molecules.csv", MOLECULE_ROW)

    contribution = tmp_path / "habenula-2025.csv"
    contribution.write_text(CONTRIBUTION, encoding="utf-8")
    checked = ketamap(p, "validate", str(contribution))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    added = ketamap(p, "add", str(contribution))
    assert added.returncode == 0, added.stdout + added.stderr

    review = [f for f in read_csv(p / "data" / "findings.csv") if f["source_id"] == "kang-2022"]
    target = next(f for f in review if f["location_status"] == "lost_in_source")
    curation = tmp_path / "curation-one.csv"
    curation.write_text("finding_id,region,population,references,curator,notes\n"
                        f"{target['finding_id']},HPC,animal,PMID:35546951,A. Curator,Table 1 of the article\n",
                        encoding="utf-8")
    added = ketamap(p, "add", "--curation", str(curation))
    assert added.returncode == 0, added.stdout + added.stderr

    repro(p)  # without a bump: the unreleased state; released bundles untouched
    assert [x.name for x in (p / "dist").iterdir()] == ["ketamap-unreleased.zip"]
    assert all(hashlib.sha256(path.read_bytes()).hexdigest() == sha for path, sha in kept.items())
    findings = read_csv(p / "data" / "findings.csv")
    assert {(f["molecule_id"], f["region_id"]) for f in findings if f["source_id"] == "contrib-habenula-2025"} == {
        ("kynurenine", "animal-RSC"), ("bdnf", "animal-RSC")}
    curated = next(f for f in findings if f["finding_id"] == target["finding_id"])
    assert (curated["region_id"], curated["location_status"]) == ("animal-HPC", "curated")
    assert {f["notes"] for f in findings if f["molecule_id"] == "kynurenine"} == {"10 mg/kg i.p.; measured 24 h after"}
    source = next(s for s in read_csv(p / "data" / "sources.csv") if s["source_id"] == "contrib-habenula-2025")
    assert (source["authors"], source["contributors"]) == (
        "Doe, Jane", "Doe, Jane|0000-0002-1825-0097|University of Somewhere")

    # the release steps (docs/releasing.md)
    params = (p / "params.yaml").read_text(encoding="utf-8")
    old = yaml.safe_load(params)["release"]
    major, minor, _ = (int(n) for n in old["version"].split("."))
    new = f"{major}.{minor + 1}.0"
    (p / "params.yaml").write_text(params.replace(f"version: {old['version']}", f"version: {new}")
                                   .replace(f'date: "{old["date"]}"', 'date: "2026-12-24"'), encoding="utf-8")
    changelog = p / "CHANGELOG.md"
    changelog.write_text(changelog.read_text(encoding="utf-8").replace("## Unreleased", f"## [{new}] - 2026-12-24", 1),
                         encoding="utf-8")
    repro(p)
    written = ketamap(p, "changelog", "--write")
    assert written.returncode == 0, written.stderr
    added = {f["finding_id"] for f in read_csv(p / "data" / "findings.csv")} - released_finding_ids(p)
    since = f"Data changes since {old['version']}: {len(added)} findings added, 0 removed, 1 changed."
    assert since in changelog.read_text(encoding="utf-8")
    repro(p)
    git(p, "add", "-A")
    git(p, "commit", "-qm", f"Release {new}: a contribution, a curation, a region and a molecule")
    recorded = ketamap(p, "release")
    assert recorded.returncode == 0, recorded.stderr
    repro(p)
    git(p, "add", "-A")
    git(p, "commit", "-qm", f"Release {new} recorded")
    assert run_dvc(p, "status", "-q").returncode == 0
    assert sorted(kept_bundles(p)) == sorted([*kept, p / "release" / f"ketamap-{new}.zip"])
    assert all(hashlib.sha256(path.read_bytes()).hexdigest() == sha for path, sha in kept_bundles(p).items())

    zenodo = json.loads((p / ".zenodo.json").read_text(encoding="utf-8"))
    assert zenodo["version"] == new and {"name": "Doe, Jane", "type": "DataCollector",
                                         "affiliation": "University of Somewhere",
                                         "orcid": "0000-0002-1825-0097"} in zenodo["contributors"]
    citation = yaml.safe_load((p / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["version"] == new and {"family-names": "Doe", "given-names": "Jane",
                                           "affiliation": "University of Somewhere",
                                           "orcid": "https://orcid.org/0000-0002-1825-0097"} in citation["authors"]

    changed = git(p, "diff", "--name-only", start, "HEAD").split()
    assert changed and all(name.startswith(DATA_PATHS) for name in changed), changed

    imported = run(p, sys.executable, "-c", "import pipeline; print(pipeline.__file__)")
    assert Path(imported.stdout.strip()).is_relative_to(p)  # the copy's own code and data
    suite = run(p, sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow",
                *[f"tests/{name}" for name in DATA_TESTS])
    assert suite.returncode == 0, suite.stdout[-6000:] + suite.stderr[-2000:]
