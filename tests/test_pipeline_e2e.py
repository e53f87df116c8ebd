"""Real `dvc repro` in a temporary copy of the project, as a maintainer runs it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, run_dvc, tool_env

# the one bundle in dist/: the release's, or the unreleased state's after it
(BUNDLE,) = (p.relative_to(ROOT).as_posix() for p in (ROOT / "dist").glob("*.zip"))
PUBLISHED = ["datapackage.json", "data/findings.csv", "data/molecules.csv", "data/regions.csv",
             "data/sources.csv", "data/README.md", BUNDLE, ".zenodo.json", "CITATION.cff"]
RAW = "data/raw/literature-db-pmid35546951.txt"


def digests(project: Path) -> dict[str, str]:
    return {name: hashlib.sha256((project / name).read_bytes()).hexdigest() for name in PUBLISHED}


def git_status(project: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True,
                          check=True).stdout


def test_fresh_clone_repro_changes_nothing(project_copy: Path):
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    assert git_status(project_copy) == ""
    status = run_dvc(project_copy, "status", "-q")
    assert status.returncode == 0, status.stdout


def test_forced_rebuild_twice_is_byte_identical_to_the_committed_outputs(project_copy: Path):
    committed = digests(project_copy)
    for _ in range(2):
        result = run_dvc(project_copy, "repro", "-f")
        assert result.returncode == 0, result.stderr
        assert digests(project_copy) == committed
    assert git_status(project_copy) == ""


def test_bad_symbol_in_the_export_stops_repro_and_keeps_the_package(project_copy: Path):
    before = digests(project_copy)
    raw = project_copy / RAW
    lines = raw.read_text(encoding="utf-8").split("\n")
    lines[19] = lines[19].replace("↓ (", "↗ (")
    raw.write_text("\n".join(lines), encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode != 0
    assert f"{RAW}:20:" in result.stderr and "'↗ ('" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert digests(project_copy) == before
    assert git_status(project_copy) == f" M {RAW}\n"  # interim tables and metrics kept too (persist: true)


def test_extra_cell_in_the_export_stops_repro_and_keeps_the_package(project_copy: Path):
    before = digests(project_copy)
    raw = project_copy / RAW
    lines = raw.read_text(encoding="utf-8").split("\n")
    lines[43] = "| BDNF |" + " ↑ ( |" * 15 + " |"
    raw.write_text("\n".join(lines), encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode != 0
    assert f"{RAW}:44:" in result.stderr and "too-many-cells" in result.stderr
    assert digests(project_copy) == before


def test_invalid_interim_table_stops_before_package(project_copy: Path):
    # A rule break caught by validate (not extract): the published package stays as it was.
    before = digests(project_copy)
    schema_path = project_copy / "schemas" / "regions.csv"
    text = schema_path.read_text(encoding="utf-8")
    schema_path.write_text(text.replace("animal-Serum,Serum,blood serum,animal",
                                        "animal-Serum,Serum,blood serum,plant"), encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode != 0
    assert "regions.csv" in result.stderr and "'plant'" in result.stderr
    assert digests(project_copy) == before


def test_published_package_passes_frictionless_validate():
    result = subprocess.run([sys.executable, "-m", "frictionless", "validate", "--json", "datapackage.json"],
                            cwd=ROOT, env=tool_env(), capture_output=True, text=True)
    report = json.loads(result.stdout)
    assert report["valid"], report
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["$schema"] == "https://datapackage.org/profiles/2.0/datapackage.json"
    for resource in descriptor["resources"]:
        data = (ROOT / resource["path"]).read_bytes()
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert resource["bytes"] == len(data)
