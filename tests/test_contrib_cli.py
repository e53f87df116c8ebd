"""`ketamap validate` and `ketamap template` as a user runs them: exit codes, JSON shape, no tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import pytest
from openpyxl import load_workbook

from conftest import FIXTURES, ROOT, tool_env

HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes"
GOOD = "BDNF,,increase,animal,HPC,rat,PMID:12345678,,\np-mTOR,,↓,animal,PFC,mouse,10.1000/xyz123,Female only,\n"
PROBLEM_KEYS = ["code", "message", "line", "column", "value", "suggestion", "file", "severity"]


def ketamap(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=tool_env(),
                          capture_output=True, text=True)


def write(tmp_path, text: str, name: str = "c.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def as_json(result: subprocess.CompletedProcess) -> dict:
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_valid_file_exits_0_with_the_spec_json(tmp_path):
    result = ketamap("validate", str(write(tmp_path, HEADER + "\n" + GOOD)), "--format", "json")
    assert result.returncode == 0
    assert as_json(result) == {"valid": True, "files": [{"path": str(tmp_path / "c.csv"), "valid": True, "rows": 2,
                                                         "errors": [], "warnings": [], "counts": {}}]}


def test_invalid_file_exits_1_and_names_line_column_value_and_fix(tmp_path):
    text = HEADER + "\n" + GOOD + "BDNF,,up-regulated,animal,Hippocampus,rat,123,,\n"
    result = ketamap("validate", str(write(tmp_path, text)), "--format", "json", "--no-package")
    report = as_json(result)
    assert result.returncode == 1 and report["valid"] is False
    errors = report["files"][0]["errors"]
    assert all(list(e) == PROBLEM_KEYS for e in errors)
    found = {(e["code"], e["line"], e["column"], e["value"], e["suggestion"].split("?")[0]) for e in errors}
    assert found == {("unknown-direction", 4, "direction", "up-regulated", "write 'increase'"),
                     ("unknown-region", 4, "region", "Hippocampus", "did you mean 'HPC' (hippocampus)"),
                     ("bad-reference", 4, "reference", "123", "write 'PMID:123'")}
    assert report["files"][0]["counts"] == {"bad-reference": 1, "unknown-direction": 1, "unknown-region": 1}


def test_text_report_ends_with_counts_per_code_and_has_no_colour_when_piped(tmp_path):
    text = HEADER + "\n" + "BDNF,,up,animal,HPC,rat,PMID:1,,\n" * 3
    result = ketamap("validate", str(write(tmp_path, text)), "--no-package")
    assert result.returncode == 1 and "\x1b[" not in result.stdout
    assert "line 2, direction" in result.stdout and "→ write 'increase'" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == "problems by code: unknown-direction 3"


def test_max_errors_caps_examples_and_keeps_counts(tmp_path):
    text = HEADER + "\n" + "".join(f"BDNF,,up,animal,HPC,rat,PMID:{i + 1},,\n" for i in range(40))
    report = as_json(ketamap("validate", str(write(tmp_path, text)), "--format", "json", "--max-errors", "3"))
    assert [e["line"] for e in report["files"][0]["errors"]] == [2, 3, 4]
    assert report["files"][0]["counts"] == {"unknown-direction": 40}


@pytest.mark.parametrize("name, content", [("missing.csv", None), ("notes.pdf", b"%PDF-1.4"),
                                           ("junk.csv", b"\x00\x9d\xff" * 300)])
def test_unreadable_input_exits_2_without_a_traceback(tmp_path, name, content):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    result = ketamap("validate", str(tmp_path / name))
    assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr


def test_one_unreadable_file_among_valid_ones_exits_2(tmp_path):
    result = ketamap("validate", str(write(tmp_path, HEADER + "\n" + GOOD)), str(tmp_path / "nope.csv"),
                     "--format", "json")
    assert result.returncode == 2 and [f["valid"] for f in as_json(result)["files"]] == [True, False]


def test_compares_with_the_package_in_the_current_folder_by_default(tmp_path):
    package = tmp_path / "pkg" / "data"
    package.mkdir(parents=True)
    findings = (ROOT / "data" / "findings.csv").read_text(encoding="utf-8").splitlines()
    row = {"finding_id": "fnd-0123456789ab", "source_id": "x", "molecule_label": "BDNF", "molecule_id": "bdnf",
           "measure": "level", "direction": "increase", "population": "animal", "region_id": "animal-HPC",
           "location_status": "reported", "species": "rat", "references": "PMID:12345678",
           "citation_status": "cited", "label_truncated": "false", "source_row": "2", "source_text": "increase"}
    findings.append(",".join(row.get(name, "") for name in findings[0].split(",")))
    (package / "findings.csv").write_text("\n".join(findings) + "\n", encoding="utf-8")
    contribution = write(tmp_path, HEADER + "\n" + GOOD)
    default = as_json(ketamap("validate", str(contribution), "--format", "json", cwd=tmp_path / "pkg"))
    assert [e["code"] for e in default["files"][0]["errors"]] == ["already-in-package"]
    elsewhere = ketamap("validate", str(contribution), "--package", str(tmp_path / "pkg"), "--format", "json")
    assert as_json(elsewhere)["files"][0]["counts"] == {"already-in-package": 1}
    skipped = ketamap("validate", str(contribution), "--no-package", cwd=tmp_path / "pkg")
    assert skipped.returncode == 0
    missing = ketamap("validate", str(contribution), "--package", str(tmp_path / "nowhere"))
    assert missing.returncode == 2


def test_template_csv_validates_as_no_findings_and_a_filled_copy_validates(tmp_path):
    result = ketamap("template")
    assert result.returncode == 0 and result.stdout.splitlines()[0] == HEADER
    template = write(tmp_path, result.stdout, "template.csv")
    report = as_json(ketamap("validate", str(template), "--format", "json", "--no-package"))
    assert [e["code"] for e in report["files"][0]["errors"]] == ["no-findings"]
    example = next(line for line in result.stdout.splitlines() if line.startswith("# BDNF"))
    filled = write(tmp_path, result.stdout + example[2:] + "\n" + GOOD.splitlines()[1] + "\n", "filled.csv")
    assert ketamap("validate", str(filled), "--no-package").returncode == 0


def test_template_xlsx_validates_as_no_findings_and_a_filled_copy_validates(tmp_path):
    target = tmp_path / "template.xlsx"
    assert ketamap("template", "--format", "xlsx", "--output", str(target)).returncode == 0
    report = as_json(ketamap("validate", str(target), "--format", "json", "--no-package"))
    assert [e["code"] for e in report["files"][0]["errors"]] == ["no-findings"]
    assert report["files"][0]["warnings"] == []  # the template validates without a warning
    workbook = load_workbook(target)
    assert workbook.sheetnames == ["findings"]
    example = [cell.value for cell in workbook["findings"][3]]
    example[0] = example[0].removeprefix("# ")
    workbook["findings"].append(example)
    workbook["findings"].append(["GSK-3", None, "−", "human", "Plasma", "human", 35546951])
    last = workbook["findings"].max_row  # the template's comment rows come first
    workbook.save(tmp_path / "filled.xlsx")
    report = as_json(ketamap("validate", str(tmp_path / "filled.xlsx"), "--format", "json", "--no-package"))
    errors = report["files"][0]["errors"]
    assert [(e["code"], e["line"], e["suggestion"]) for e in errors] == [("bad-reference", last, "write 'PMID:35546951'")]


def test_validate_the_published_package_folder_descriptor_and_release_zip(tmp_path):
    targets = [str(ROOT), str(ROOT / "datapackage.json")]
    bundles = sorted((ROOT / "dist").glob("*.zip"))
    targets += [str(b) for b in bundles[:1]]
    report = as_json(ketamap("validate", *targets, "--format", "json"))
    published = len((ROOT / "data" / "findings.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert report["valid"] is True and all(f["rows"] == published for f in report["files"])


def test_a_tampered_package_exits_1(tmp_path):
    copy = tmp_path / "pkg"
    copy.mkdir()
    shutil.copy(ROOT / "datapackage.json", copy)
    shutil.copytree(ROOT / "data", copy / "data", ignore=shutil.ignore_patterns("raw", "interim", "contrib", "curation"))
    findings = copy / "data" / "findings.csv"
    findings.write_text(findings.read_text(encoding="utf-8").replace(",increase,", ",sideways,", 1), encoding="utf-8")
    result = ketamap("validate", str(copy), "--format", "json")
    assert result.returncode == 1 and as_json(result)["files"][0]["errors"]


def test_a_zip_that_is_not_a_release_exits_2(tmp_path):
    with zipfile.ZipFile(tmp_path / "r.zip", "w") as archive:
        archive.writestr("../evil.csv", "x")
    assert ketamap("validate", str(tmp_path / "r.zip")).returncode == 2
    (tmp_path / "j.zip").write_bytes(b"junk")
    assert ketamap("validate", str(tmp_path / "j.zip")).returncode == 2


def test_all_fixtures_exit_as_expected():
    folder = FIXTURES / "contrib"
    for name in ("excel-unicode-text.txt", "excel-cp1252-semicolon.csv", "excel-utf8-bom.csv", "libreoffice.xlsx"):
        assert ketamap("validate", str(folder / name), "--no-package").returncode == 0, name
    assert ketamap("validate", str(folder / "several-sheets.xlsx"), "--no-package").returncode == 1
