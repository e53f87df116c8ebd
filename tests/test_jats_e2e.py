"""Real `dvc repro` in a copy of the project with `source.kind: jats` and a Table-1-like JATS fixture."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import FIXTURES, ROOT, run_dvc, tool_env
from pipeline.core.files import read_csv
from test_pipeline_e2e import digests

JATS = FIXTURES / "jats"
TARGET = "data/raw/PMC9082546.xml"


def use_jats(project: Path, fixture: str, kind: str = "jats") -> None:
    shutil.copy2(JATS / fixture, project / TARGET)
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "  kind: export\n" in text
    params.write_text(text.replace("  kind: export\n", f"  kind: {kind}\n"), encoding="utf-8")


def test_jats_build_locates_and_cites_every_finding_and_validates(project_copy: Path):
    use_jats(project_copy, "table1-like.xml")
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    assert "disagree" not in result.stderr
    # the review's findings (contributions and curations accepted since stay as they are)
    findings = [f for f in read_csv(project_copy / "data" / "findings.csv") if f["source_id"] == "kang-2022"]
    assert len(findings) == 93  # the non-empty cells of the fixture's Table 1
    assert all(f["region_id"] and f["population"] and f["location_status"] == "reported" for f in findings)
    assert all(f["references"] for f in findings if f["citation_status"] == "cited")
    assert sum(f["citation_status"] == "cited" for f in findings) == 89
    committed = [f["finding_id"] for f in read_csv(ROOT / "data" / "findings.csv") if f["source_id"] == "kang-2022"]
    assert [f["finding_id"] for f in findings] == committed
    assert read_csv(project_copy / "data" / "sources.csv")[0]["path"] == TARGET
    report = json.loads((project_copy / "data" / "interim" / "reconciliation.json").read_text(encoding="utf-8"))
    assert report["compared"] is True and report["disagreements"] == []
    validated = subprocess.run(["frictionless", "validate", "datapackage.json"], cwd=project_copy, env=tool_env(),
                               capture_output=True, text=True)
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_jats_build_lists_each_planted_disagreement(project_copy: Path):
    use_jats(project_copy, "table1-like-disagreements.xml")
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    assert "5 disagreement(s)" in result.stderr
    report = json.loads((project_copy / "data" / "interim" / "reconciliation.json").read_text(encoding="utf-8"))
    assert [(d["kind"], d["molecule_label"]) for d in report["disagreements"]] == [
        ("different-cells", "Glutamate"), ("different-cells", "GABA"), ("different-label", "AMPAR/"),
        ("different-cells", "BDNF mRNA"), ("missing-row", "VGF")]


def test_a_fetched_jats_file_changes_nothing_while_the_source_is_the_export(project_copy: Path):
    before = digests(project_copy)
    use_jats(project_copy, "table1-like.xml", kind="export")
    result = run_dvc(project_copy, "repro")
    assert result.returncode == 0, result.stderr
    assert digests(project_copy) == before
    assert not (project_copy / "data" / "interim" / "reconciliation.json").exists()
