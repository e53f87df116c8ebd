"""Every documented way to read the package gives the Table Schema's types (issue: fits every tool).

The snippets are taken from docs/using-the-data.md as they stand and run on the real release bundle
(dist/*.zip, unzipped as `ketamap-0.1.0/`): pandas, polars, DuckDB, frictionless-py, R (readr +
jsonlite) and the documented frictionless command on a release zip. For every resource and field
the reader's type must be the schema's, and exactly the empty cells must be missing.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

GUIDE = (ROOT / "docs" / "using-the-data.md").read_text(encoding="utf-8")
FOLDER = "ketamap-0.1.0"  # the name the snippets use


def snippet(heading: str, language: str, holding: str = "") -> str:
    """The first ```language block (holding that text) under the guide's `## heading`."""
    section = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", GUIDE, re.M | re.S)
    assert section, f"docs/using-the-data.md has no section {heading!r}"
    blocks = [b for b in re.findall(rf"^```{language}\n(.*?)^```", section.group(1), re.M | re.S) if holding in b]
    assert blocks, f"section {heading!r} has no {language} block holding {holding!r}"
    return blocks[0]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A folder holding the release zip and, beside it, the zip unzipped as ketamap-0.1.0/."""
    zips = sorted((ROOT / "dist").glob("*.zip"))
    assert len(zips) == 1, zips
    where = tmp_path_factory.mktemp("consumers")
    shutil.copy2(zips[0], where / zips[0].name)
    with zipfile.ZipFile(zips[0]) as archive:
        archive.extractall(where / "unzipped")
    (top,) = (where / "unzipped").iterdir()
    top.rename(where / FOLDER)
    return where


@pytest.fixture(scope="module")
def package(bundle: Path) -> dict:
    return json.loads((bundle / FOLDER / "datapackage.json").read_text(encoding="utf-8"))


def empty_cells(bundle: Path, resource: dict) -> dict[str, int]:
    """Per field, how many cells are empty in the CSV itself."""
    with open(bundle / FOLDER / resource["path"], encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, resource["name"]
    return {field["name"]: sum(row[field["name"]] == "" for row in rows) for field in resource["schema"]["fields"]}


@contextlib.contextmanager
def inside(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run_python(code: str, bundle: Path) -> dict:
    namespace: dict = {"__name__": "snippet"}
    with inside(bundle):
        exec(compile(code, "docs/using-the-data.md", "exec"), namespace)
    return namespace


def test_every_table_resource_carries_what_every_reader_needs(package: dict):
    for resource in package["resources"]:
        assert resource["type"] == "table" and resource["profile"] == "tabular-data-resource"
        assert resource["format"] == "csv" and resource["encoding"] == "utf-8"
        assert resource["dialect"] == {"header": True, "headerRows": [1], "delimiter": ",", "lineTerminator": "\n",
                                       "quoteChar": '"', "doubleQuote": True, "skipInitialSpace": False}
        raw = (ROOT / resource["path"]).read_bytes()
        assert raw.split(b"\n", 1)[0].decode().split(",") == [f["name"] for f in resource["schema"]["fields"]]
    assert {f["type"] for r in package["resources"] for f in r["schema"]["fields"]} <= {"string", "integer", "boolean"}


def test_pandas_reads_every_column_typed(bundle: Path, package: dict):
    import pandas as pd

    tables = run_python(snippet("pandas", "python"), bundle)["tables"]
    expected = {"string": pd.StringDtype(), "integer": pd.Int64Dtype(), "boolean": pd.BooleanDtype()}
    for resource in package["resources"]:
        frame = tables[resource["name"]]
        missing = empty_cells(bundle, resource)
        for field in resource["schema"]["fields"]:
            column = frame[field["name"]]
            assert column.dtype == expected[field["type"]], (resource["name"], field["name"], column.dtype)
            assert int(column.isna().sum()) == missing[field["name"]], (resource["name"], field["name"])
    assert set(tables["findings"]["label_truncated"].dropna()) <= {True, False}


def test_polars_reads_every_column_typed(bundle: Path, package: dict):
    import polars as pl

    tables = run_python(snippet("polars", "python"), bundle)["tables"]
    expected = {"string": pl.String, "integer": pl.Int64, "boolean": pl.Boolean}
    for resource in package["resources"]:
        frame = tables[resource["name"]]
        missing = empty_cells(bundle, resource)
        for field in resource["schema"]["fields"]:
            assert frame.schema[field["name"]] == expected[field["type"]], (resource["name"], field["name"])
            assert frame[field["name"]].null_count() == missing[field["name"]], (resource["name"], field["name"])


def test_duckdb_reads_every_column_typed(bundle: Path, package: dict):
    namespace = run_python(snippet("DuckDB", "python"), bundle)
    con = namespace["con"]
    expected = {"string": "VARCHAR", "integer": "BIGINT", "boolean": "BOOLEAN"}
    with inside(bundle):  # the views read the files relative to the snippet's folder
        for resource in package["resources"]:
            described = {row[0]: row[1] for row in con.sql(f"DESCRIBE {resource['name']}").fetchall()}
            missing = empty_cells(bundle, resource)
            for field in resource["schema"]["fields"]:
                assert described[field["name"]] == expected[field["type"]], (resource["name"], field["name"])
                nulls = con.execute(f'SELECT count(*) FROM {resource["name"]} WHERE "{field["name"]}" IS NULL').fetchall()[0][0]
                assert nulls == missing[field["name"]], (resource["name"], field["name"])
        count = con.execute("SELECT count(*) FROM findings").fetchall()[0][0]
    assert count == sum(1 for _ in open(bundle / FOLDER / "data" / "findings.csv", encoding="utf-8")) - 1


def test_frictionless_py_validates_and_reads_typed(bundle: Path, package: dict):
    namespace = run_python(snippet("frictionless-py", "python"), bundle)
    with inside(bundle):  # the descriptor's paths are relative to the snippet's folder
        assert namespace["package"].validate().valid
    rows = namespace["findings"]
    findings = next(r for r in package["resources"] if r["name"] == "findings")
    python_types = {"string": str, "integer": int, "boolean": bool}
    for field in findings["schema"]["fields"]:
        values = [row[field["name"]] for row in rows]
        assert all(v is None or type(v) is python_types[field["type"]] for v in values), field["name"]
        assert sum(v is None for v in values) == empty_cells(bundle, findings)[field["name"]], field["name"]


def test_the_documented_frictionless_command_validates_every_table_of_a_release_zip(bundle: Path, package: dict):
    """`frictionless validate` on the zip itself would check one file; the documented commands check all."""
    commands = [line for line in snippet("Get a release and check it", "sh", "unzip").splitlines()
                if "unzip" in line or "frictionless" in line or "sha256sum" in line]
    assert any(line.startswith("unzip ") for line in commands)
    work = bundle / "documented"
    work.mkdir()
    zip_file = ROOT / "release" / f"{FOLDER}.zip"  # a released bundle (dist/ may hold the unreleased state)
    shutil.copy2(zip_file, work / f"{FOLDER}.zip")
    env = dict(os.environ, PATH=f"{Path(os.sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for command in commands:
        command = command.split("#", 1)[0].strip()
        done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
        if command.startswith("frictionless validate"):
            for resource in package["resources"]:
                assert re.search(rf"{resource['name']}\s.*{re.escape(resource['path'])}\s.*VALID", done.stdout), \
                    (resource["name"], done.stdout)
            json_report = subprocess.run([*command.split(), "--json"], cwd=work, env=env,
                                         capture_output=True, text=True)
            report = json.loads(json_report.stdout)
            assert report["valid"] and len(report["tasks"]) == len(package["resources"])


R_CHECK = r"""
out <- lapply(names(tables), function(name) {
  table <- tables[[name]]
  lapply(setNames(names(table), names(table)), function(column) {
    list(class = class(table[[column]])[1], na = sum(is.na(table[[column]])))
  })
})
names(out) <- names(tables)
cat(toJSON(out, auto_unbox = TRUE))
"""


def test_r_readr_reads_every_column_typed(bundle: Path, package: dict):
    rscript = shutil.which("Rscript")
    if rscript is None:
        message = "the R check needs Debian's R (apt-get install -y r-base-core r-cran-readr r-cran-jsonlite)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    script = bundle / "read.R"
    script.write_text(snippet("R (readr and jsonlite)", "r") + R_CHECK, encoding="utf-8")
    done = subprocess.run([rscript, "--vanilla", str(script)], cwd=bundle, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout[done.stdout.index("{\""):])
    expected = {"string": "character", "integer": "integer", "boolean": "logical"}
    for resource in package["resources"]:
        columns = result[resource["name"]]
        missing = empty_cells(bundle, resource)
        assert list(columns) == [f["name"] for f in resource["schema"]["fields"]]
        for field in resource["schema"]["fields"]:
            assert columns[field["name"]] == {"class": expected[field["type"]], "na": missing[field["name"]]}, \
                (resource["name"], field["name"])
