"""Inputs no reader expects still get a clear answer: exit 2 or 1 with a problem code, never a traceback."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, tool_env


def ketamap(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=tool_env(),
                          capture_output=True, text=True)


def test_a_descriptor_nested_a_hundred_thousand_levels_is_refused_not_a_traceback(tmp_path):
    deep = tmp_path / "datapackage.json"
    deep.write_text('{"a":' * 100_000 + "1" + "}" * 100_000, encoding="utf-8")
    done = ketamap("validate", str(deep))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "[unreadable-file]" in done.stderr and "nests too deeply" in done.stderr


def test_report_out_onto_a_file_is_refused_and_the_file_kept(tmp_path):
    target = tmp_path / "a-file"
    target.write_bytes(b"keep me")
    done = ketamap("report", "--out", str(target))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "[unwritable-file]" in done.stderr
    assert target.read_bytes() == b"keep me"


def test_a_molecule_label_with_dollar_signs_is_drawn_as_written_not_as_mathtext(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "report" / "data", data)
    label = r"$\frac{a$ :x: [red]x[/red]"
    with open(data / "molecules.csv", encoding="utf-8", newline="") as fh:
        first = next(csv.DictReader(fh))["molecule_id"]
    for name in ("molecules.csv", "findings.csv"):
        with open(data / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            if row["molecule_id"] == first:
                row["label" if name == "molecules.csv" else "molecule_label"] = label
        with open(data / name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    done = ketamap("report", "--data", str(data), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert r"\frac{a" in (tmp_path / "out" / "evidence-map.svg").read_text(encoding="utf-8")


DAMAGED = {"a missing column": b"id,name\nx,y\n", "not UTF-8": b"\xff\xfe\x00garbage",
           "an unclosed quote": b'molecule_id,"label\nBDNF,x', "a row wider than the header": b"molecule_id,label\na,b,c\n",
           "empty": b""}


@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
def test_a_damaged_vocabulary_file_is_a_problem_naming_it_not_an_empty_vocabulary(tmp_path, damage):
    from pipeline.core.problems import ProblemsFound
    from pipeline.core.vocab import Vocabulary

    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (tmp_path / "schemas" / "molecules.csv").write_bytes(DAMAGED[damage])
    with pytest.raises(ProblemsFound) as refused:
        [row["label"] for row in Vocabulary(tmp_path / "schemas").molecules]
    problem = refused.value.problems[0]
    assert problem.code == "unreadable-file" and problem.file.endswith("schemas/molecules.csv")
    assert "is damaged" in problem.message and "git checkout -- schemas/" in problem.suggestion


def test_validate_with_a_damaged_schema_file_exits_2_naming_it(project_copy, tmp_path):
    contribution = tmp_path / "x.csv"
    contribution.write_text((FIXTURES / "contrib" / "excel-utf8-bom.csv").read_text(encoding="utf-8-sig"),
                            encoding="utf-8")
    for name, data in (("molecules.csv", b'molecule_id,"label\nBDNF,x'), ("contribution.schema.json", b'{"fields": [')):
        original = (project_copy / "schemas" / name).read_bytes()
        (project_copy / "schemas" / name).write_bytes(data)
        done = ketamap("validate", str(contribution), "--no-package", cwd=project_copy)  # the copy's own schemas/
        (project_copy / "schemas" / name).write_bytes(original)
        assert done.returncode == 2, done.stderr
        assert f"schemas/{name}" in done.stderr and "[unreadable-file]" in done.stderr
        assert "Traceback" not in done.stderr and "internal-error" not in done.stderr


def _tables(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("findings", "molecules", "regions", "sources"):
        shutil.copy(ROOT / "data" / f"{name}.csv", folder / f"{name}.csv")
    return folder


def test_report_on_a_duplicated_finding_id_exits_1_and_draws_nothing(tmp_path):
    data = _tables(tmp_path / "data")
    lines = (data / "findings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "findings.csv").write_text("".join(lines[:3] + lines[2:]), encoding="utf-8")
    done = ketamap("report", "--data", str(data), "--out", str(tmp_path / "out" / "map"))
    assert done.returncode == 1, done.stderr
    assert "findings.csv:4: error [primary-key] column 'finding_id'" in done.stderr
    assert not (tmp_path / "out").exists()  # the folders it made for the failed run are gone again


def test_report_out_where_no_folder_can_be_made_is_said_before_drawing(tmp_path):
    done = ketamap("report", "--data", str(_tables(tmp_path / "data")), "--out", "/proc/ketamap-report")
    assert done.returncode == 2 and "[unwritable-file]" in done.stderr and "internal-error" not in done.stderr


def test_diff_refuses_a_zip_bomb_from_its_entry_and_a_fifo_table_unopened(tmp_path):
    import time
    import zipfile

    sys.path.insert(0, str(ROOT / "tests" / "hostile"))
    from build import inflation_bomb
    from hostile.publish import TOP, package_files, release_zip, with_checksums

    (tmp_path / "old.zip").write_bytes(release_zip())
    files = {f"{TOP}/{name}": data for name, data in with_checksums(package_files()).items()}
    inflation_bomb(1 << 30, f"{TOP}/data/findings.csv", lambda: files)(tmp_path / "bomb.zip")
    assert zipfile.ZipFile(tmp_path / "bomb.zip").getinfo(f"{TOP}/data/findings.csv").file_size == 1 << 30
    started = time.monotonic()
    done = ketamap("diff", str(tmp_path / "old.zip"), str(tmp_path / "bomb.zip"))
    assert done.returncode == 2 and "[unreadable-package]" in done.stderr and "unzips to 1,073,741,824" in done.stderr
    assert time.monotonic() - started < 30
    folder = tmp_path / "pkg"
    for name, data in package_files().items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "data" / "findings.csv").unlink()
    os.mkfifo(folder / "data" / "findings.csv")
    done = subprocess.run([sys.executable, "-m", "pipeline", "diff", str(tmp_path / "old.zip"), str(folder)], cwd=ROOT,
                          env=tool_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "FIFO" in done.stderr and "Traceback" not in done.stderr
