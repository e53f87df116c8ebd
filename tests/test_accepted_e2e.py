"""Real `dvc repro` in a temporary copy: accepted contributions and curation flow into the package."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from conftest import run_dvc, tool_env
from pipeline.tables import read_csv

PACKAGE = ["datapackage.json", "data/findings.csv", "data/molecules.csv", "data/regions.csv", "data/sources.csv"]
CURATION_HEADER = "finding_id,region,population,references,curator,notes\n"
CONTRIB_HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes\n"
TWO_ROWS = ["BDNF,,increase,animal,HPC,mouse,PMID:11111111,,first row\n",
            "p-mTOR,,decrease,human,Serum,human,10.1000/example.2024,Female only,\n"]


def digests(project: Path) -> dict[str, str]:
    return {name: hashlib.sha256((project / name).read_bytes()).hexdigest() for name in PACKAGE}


def findings_by_id(project: Path) -> dict[str, dict]:
    return {f["finding_id"]: f for f in read_csv(project / "data" / "findings.csv")}


def frictionless_report(project: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "frictionless", "validate", "--json", "datapackage.json"],
                            cwd=project, env=tool_env(), capture_output=True, text=True)
    return json.loads(result.stdout)


def test_curation_row_yields_curated_in_the_rebuilt_package(project_copy: Path):
    before = findings_by_id(project_copy)
    target = next(iter(before))
    (project_copy / "data/curation/hpc.csv").write_text(
        CURATION_HEADER + f"{target},HPC,animal,PMID:35546951,A. Curator,Table 1 of the article\n", encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    after = findings_by_id(project_copy)
    assert list(after) == list(before)
    assert after[target] == {**before[target], "population": "animal", "region_id": "animal-HPC",
                             "location_status": "curated", "references": "PMID:35546951",
                             "citation_status": "curated"}
    assert {k: v for k, v in after.items() if k != target} == {k: v for k, v in before.items() if k != target}
    sources = read_csv(project_copy / "data" / "sources.csv")
    assert [(s["source_id"], s["kind"], s["path"], s["authors"]) for s in sources[1:]] == [
        ("curation-hpc", "curation", "data/curation/hpc.csv", "A. Curator")]
    assert sources[1]["sha256"] == hashlib.sha256((project_copy / "data/curation/hpc.csv").read_bytes()).hexdigest()
    assert frictionless_report(project_copy)["valid"]


def test_curation_row_naming_an_unknown_region_stops_repro_and_keeps_the_package(project_copy: Path):
    before = digests(project_copy)
    target = read_csv(project_copy / "data" / "findings.csv")[3]["finding_id"]
    (project_copy / "data/curation/bad.csv").write_text(
        CURATION_HEADER + f"{target},Hippocampus,animal,,A. Curator,\n", encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode != 0
    assert "data/curation/bad.csv:2:" in result.stderr
    assert "column 'region'" in result.stderr and "'Hippocampus'" in result.stderr and "'HPC'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert digests(project_copy) == before


def test_accepted_contribution_adds_reported_findings(project_copy: Path):
    before = findings_by_id(project_copy)
    (project_copy / "data/contrib/smith-2024.csv").write_text(CONTRIB_HEADER + "".join(TWO_ROWS), encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    after = findings_by_id(project_copy)
    assert {k: after[k] for k in before} == before  # review findings and their ids unchanged
    added = [f for k, f in after.items() if k not in before]
    assert [(f["molecule_id"], f["direction"], f["population"], f["region_id"], f["location_status"],
             f["species"], f["references"], f["citation_status"], f["source_id"], f["source_row"], f["source_cell"])
            for f in added] == [
        ("bdnf", "increase", "animal", "animal-HPC", "reported", "mouse", "PMID:11111111", "cited", "contrib-smith-2024",
         "2", ""),
        ("p-mtor", "decrease", "human", "human-Serum", "reported", "human", "10.1000/example.2024", "cited",
         "contrib-smith-2024", "3", "")]
    sources = read_csv(project_copy / "data" / "sources.csv")
    assert [(s["source_id"], s["kind"], s["path"]) for s in sources[1:]] == [
        ("contrib-smith-2024", "contribution", "data/contrib/smith-2024.csv")]
    assert frictionless_report(project_copy)["valid"]


def test_contributed_ids_do_not_change_when_rows_are_reordered(project_copy: Path):
    contribution = project_copy / "data/contrib/smith-2024.csv"
    ids = []
    for rows in (TWO_ROWS, TWO_ROWS[::-1]):
        contribution.write_text(CONTRIB_HEADER + "".join(rows), encoding="utf-8")
        result = run_dvc(project_copy, "repro")
        assert result.returncode == 0, result.stderr
        ids.append({(f["molecule_id"], f["finding_id"]) for f in read_csv(project_copy / "data" / "findings.csv")
                    if f["source_id"] == "contrib-smith-2024"})
    assert ids[0] == ids[1] and len(ids[0]) == 2


def test_invalid_contribution_stops_repro_and_keeps_the_package(project_copy: Path):
    before = digests(project_copy)
    (project_copy / "data/contrib/bad.csv").write_text(
        CONTRIB_HEADER + TWO_ROWS[0] + "BDNF,,increase,animal,Hippocampus,mouse,PMID:1,,\n", encoding="utf-8")
    result = run_dvc(project_copy, "repro")
    assert result.returncode != 0
    assert "data/contrib/bad.csv:3:" in result.stderr and "'Hippocampus'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert digests(project_copy) == before
