"""Real `dvc repro` in a temporary copy: accepted contributions and curation flow into the package."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from conftest import run_dvc, tool_env, uncurated_review_findings
from pipeline.core.files import read_csv

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
    earlier = {s["source_id"] for s in read_csv(project_copy / "data" / "sources.csv")}
    target = uncurated_review_findings(project_copy)[0]["finding_id"]
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
    sources = [s for s in read_csv(project_copy / "data" / "sources.csv") if s["source_id"] not in earlier]
    assert [(s["source_id"], s["kind"], s["path"], s["authors"]) for s in sources] == [
        ("curation-hpc", "curation", "data/curation/hpc.csv", "A. Curator")]
    assert sources[0]["sha256"] == hashlib.sha256((project_copy / "data/curation/hpc.csv").read_bytes()).hexdigest()
    assert frictionless_report(project_copy)["valid"]


def test_curation_row_naming_an_unknown_region_stops_repro_and_keeps_the_package(project_copy: Path):
    before = digests(project_copy)
    target = uncurated_review_findings(project_copy)[3]["finding_id"]
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
    earlier = [s["source_id"] for s in read_csv(project_copy / "data" / "sources.csv")]
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
    assert [(s["source_id"], s["kind"], s["path"]) for s in sources if s["source_id"] not in earlier] == [
        ("contrib-smith-2024", "contribution", "data/contrib/smith-2024.csv")]
    listed = json.loads((project_copy / "datapackage.json").read_text(encoding="utf-8"))["sources"]
    assert len(listed) == len(earlier) + 1 and any("contrib-smith-2024" in s["title"] for s in listed)
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
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project_copy, capture_output=True, text=True).stdout
    assert status == "?? data/contrib/bad.csv\n"  # nothing else touched, not even data/interim


def ketamap(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=project, env=tool_env(),
                          capture_output=True, text=True)


def test_template_to_rebuilt_package(project_copy: Path, tmp_path: Path):
    """The issue's path: template → fill two rows → validate → add → dvc repro → two more reported findings."""
    before = findings_by_id(project_copy)
    mine = tmp_path / "kim-2025.csv"
    template = ketamap(project_copy, "template", "--output", str(mine))
    assert template.returncode == 0, template.stderr
    first = len(mine.read_text(encoding="utf-8").splitlines()) + 1  # the line of the first filled row
    with open(mine, "a", encoding="utf-8") as fh:
        header = mine.read_text(encoding="utf-8").splitlines()[0].split(",")
        for row in ({"molecule": "BDNF", "direction": "↑", "population": "animal", "region": "HPC",
                     "species": "rat", "reference": "PMID:22222222"},
                    {"molecule": "GABA", "direction": "decrease", "population": "human", "region": "mPFC",
                     "species": "human", "reference": "10.1000/kim.2025"}):
            fh.write(",".join(row.get(name, "") for name in header) + "\n")
    validate = ketamap(project_copy, "validate", str(mine))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    add = ketamap(project_copy, "add", str(mine))
    assert add.returncode == 0, add.stderr
    assert (project_copy / "data/contrib/kim-2025.csv").read_bytes() == mine.read_bytes()
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    after = findings_by_id(project_copy)
    added = [f for k, f in after.items() if k not in before]
    assert len(after) == len(before) + 2
    assert [(f["molecule_id"], f["direction"], f["region_id"], f["location_status"], f["source_row"], f["source_text"])
            for f in added] == [("bdnf", "increase", "animal-HPC", "reported", str(first), "↑"),
                                ("gaba", "decrease", "human-mPFC", "reported", str(first + 1), "decrease")]
    assert frictionless_report(project_copy)["valid"]
    assert run_dvc(project_copy, "status", "-q").returncode == 0


def test_add_refuses_an_invalid_contribution_and_changes_nothing(project_copy: Path, tmp_path: Path):
    mine = tmp_path / "bad.csv"
    mine.write_text(CONTRIB_HEADER + "BDNF,,increase,animal,Hippocampus,mouse,PMID:1,,\n", encoding="utf-8")
    listing = sorted(p.name for p in (project_copy / "data/contrib").iterdir())
    result = ketamap(project_copy, "add", str(mine))
    assert result.returncode == 1
    assert f"{mine}:2:" in result.stderr and "'HPC'" in result.stderr
    assert sorted(p.name for p in (project_copy / "data/contrib").iterdir()) == listing


def test_add_refuses_a_finding_already_in_the_package(project_copy: Path, tmp_path: Path):
    (project_copy / "data/contrib/first.csv").write_text(CONTRIB_HEADER + TWO_ROWS[0], encoding="utf-8")
    assert run_dvc(project_copy, "repro").returncode == 0
    again = tmp_path / "second.csv"
    again.write_text(CONTRIB_HEADER + TWO_ROWS[0], encoding="utf-8")
    result = ketamap(project_copy, "add", str(again))
    assert result.returncode == 1 and "already-in-package" in result.stderr
    assert not (project_copy / "data/contrib/second.csv").exists()


def test_an_xlsx_contribution_is_added_byte_for_byte_and_built(project_copy: Path, tmp_path: Path):
    from openpyxl import load_workbook

    workbook = tmp_path / "lee-2025.xlsx"
    assert ketamap(project_copy, "template", "--format", "xlsx", "--output", str(workbook)).returncode == 0
    book = load_workbook(workbook)
    sheet = book["findings"] if "findings" in book.sheetnames else book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = {"molecule": "BDNF", "direction": "increase", "population": "animal", "region": "PFC",
           "species": "mouse", "reference": "PMID:33333333"}
    sheet.append([row.get(name, "") for name in header])
    book.save(workbook)
    add = ketamap(project_copy, "add", str(workbook))
    assert add.returncode == 0, add.stdout + add.stderr
    assert (project_copy / "data/contrib/lee-2025.xlsx").read_bytes() == workbook.read_bytes()
    assert run_dvc(project_copy, "repro").returncode == 0
    [added] = [f for f in read_csv(project_copy / "data/findings.csv") if f["source_id"] == "contrib-lee-2025"]
    assert (added["region_id"], added["location_status"], added["references"]) == ("animal-PFC", "reported",
                                                                                 "PMID:33333333")
