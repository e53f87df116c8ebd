"""Inputs no reader expects still get a clear answer: exit 2 or 1 with a problem code, never a traceback."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

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
