"""The hostile corpus (tests/hostile/build.py): every case gets its exit code, a message naming its
problem code, no traceback, and nothing changes. The big cases run in benchmarks/hostile_slow.py.

Files that are read run through the real CLI in-process (typer's runner: fast); FIFOs, devices
and folders run as real processes with a timeout, so a reader that blocks fails instead of hanging.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT, copy_project, tool_env

sys.path.insert(0, str(Path(__file__).resolve().parent / "hostile"))
from build import Case, build, cases  # noqa: E402

FAST = [case for case in cases() if not case.slow]
SPECIAL = [case for case in FAST if case.klass == "special"]
TIMEOUT = 60


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    build(folder)
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_project(tmp_path_factory.mktemp("project") / "ketamap")


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry of a folder: a regular file by its sha256, anything else by its kind (never opened)."""
    seen = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.is_symlink():
            seen[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            seen[path.name] = f"{os.lstat(path).st_mode:o}"
    return seen


def ketamap(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=tool_env(), capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def in_process(*args: str) -> tuple[int, str]:
    from pipeline.cli.app import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is a failure of the case
    return result.exit_code, result.output


def assert_clear(output: str, case: Case) -> None:
    assert "Traceback" not in output, output
    if case.code:
        assert f"[{case.code}]" in output, output
        assert "fix:" in output or "→" in output, output  # every refusal says what to do


@pytest.mark.parametrize("case", [c for c in FAST if c.klass != "special"], ids=lambda c: c.name)
def test_validate_reads_every_row_or_refuses_the_file(corpus, case):
    before = snapshot(corpus)
    code, output = in_process("validate", str(corpus / case.name), "--no-package", "--max-errors", "5")
    assert code == case.exit, output
    assert_clear(output, case)
    if case.rows is not None:
        code, output = in_process("validate", str(corpus / case.name), "--no-package", "--format", "json")
        assert json.loads(output)["files"][0]["rows"] == case.rows
    assert snapshot(corpus) == before


@pytest.mark.parametrize("case", SPECIAL, ids=lambda c: c.name)
def test_validate_never_opens_a_fifo_device_or_folder(corpus, case):
    before = snapshot(corpus)
    done = ketamap("validate", str(corpus / case.name), "--no-package")
    assert done.returncode == case.exit, done.stdout + done.stderr
    assert_clear(done.stdout + done.stderr, case)
    assert snapshot(corpus) == before


ADDED = SPECIAL + [c for c in FAST if c.name in {"quote-issue.csv", "nul-late.csv", "formula-libreoffice.ods",
                                                 "dimension-understated.xlsx", "inflate-1gib.xlsx",
                                                 "shared-400mb.xlsx", "columns-200000.csv"}]


@pytest.mark.parametrize("case", ADDED, ids=lambda c: c.name)
def test_add_refuses_and_changes_nothing(corpus, project, case):
    done = ketamap("add", str(corpus / case.name), cwd=project)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
    if case.exit == 0:  # a file that reads in full is added (and taken back out for the next case)
        assert done.returncode == 0, done.stderr
        assert status.strip() == f"?? data/contrib/{case.name}"
        (project / "data" / "contrib" / case.name).unlink()
        return
    assert done.returncode == case.exit, done.stdout + done.stderr
    assert_clear(done.stderr, case)
    assert status == ""


def test_a_fifo_in_contrib_stops_the_extract_stage_with_exit_2(project):
    fifo = project / "data" / "contrib" / "pipe.csv"
    os.mkfifo(fifo)
    link = project / "data" / "curation" / "zero.csv"
    link.symlink_to("/dev/zero")
    try:
        done = subprocess.run([sys.executable, "-m", "pipeline.cli.stage", "extract"], cwd=project, env=tool_env(),
                              capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    finally:
        fifo.unlink()
        link.unlink()
    assert done.returncode == 2, done.stderr
    assert "data/contrib/pipe.csv: error [not-a-file]" in done.stderr
    assert "data/curation/zero.csv: error [not-a-file]" in done.stderr and "Traceback" not in done.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
    assert status == ""


@pytest.mark.parametrize("special", ["fifo", "zero"])
def test_a_packages_table_or_report_data_that_is_not_a_file(tmp_path, special):
    package = tmp_path / "package"
    (package / "data").mkdir(parents=True)
    shutil.copy(ROOT / "datapackage.json", package / "datapackage.json")
    for name in ("findings", "molecules", "regions", "sources"):
        shutil.copy(ROOT / "data" / f"{name}.csv", package / "data" / f"{name}.csv")
    table = package / "data" / "findings.csv"
    table.unlink()
    os.mkfifo(table) if special == "fifo" else table.symlink_to("/dev/zero")
    for args in (["validate", str(package)], ["validate", str(package / "datapackage.json")],
                 ["report", "--data", str(package / "data"), "--out", str(tmp_path / "out")]):
        done = ketamap(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "[not-a-file]" in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_link_out_of_contrib_is_refused_and_never_read(project, tmp_path):
    secret = tmp_path / "outside.csv"
    secret.write_text("molecule,measure,direction\nSECRET-VALUE,level,up\n", encoding="utf-8")
    link = project / "data" / "contrib" / "linked.csv"
    link.symlink_to(secret)
    try:
        done = subprocess.run([sys.executable, "-m", "pipeline.cli.stage", "extract"], cwd=project, env=tool_env(),
                              capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    finally:
        link.unlink()
    assert done.returncode == 2, done.stderr
    assert "data/contrib/linked.csv: error [link-outside-folder]" in done.stderr
    assert "SECRET-VALUE" not in done.stderr + done.stdout and "Traceback" not in done.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
    assert status == ""
