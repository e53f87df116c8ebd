"""Packaging: pyproject.toml alone installs a ketamap that can rebuild the package (issue: one house, item 5)."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT, copy_project

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level module → the pipeline files importing it, for every module outside the standard library."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "pipeline" and top not in sys.stdlib_module_names:
                    found.setdefault(top, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_every_third_party_import_is_a_declared_dependency():
    declared = _requirement_names(PYPROJECT["project"]["dependencies"])
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module, files in _third_party_imports().items():
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(set(files))
    assert missing == {}, "imported by pipeline/ but not in pyproject.toml [project] dependencies"
    assert {"matplotlib", "dvc"} <= declared


def test_the_test_extra_holds_what_only_the_tests_import():
    extra = _requirement_names(PYPROJECT["project"]["optional-dependencies"]["test"])
    assert {"pytest", "hypothesis", "jsonschema", "selenium", "import-linter", "grimp", "duckdb"} <= extra


def test_one_version_source_for_the_tool():
    """The tool's version is pipeline.__version__ (pyproject reads it); the data's is params.yaml's."""
    import pipeline

    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pipeline.__version__"}
    assert importlib.metadata.version("ketamap") == pipeline.__version__


@pytest.mark.slow
def test_pip_install_from_pyproject_alone_rebuilds_the_package(tmp_path: Path):
    """A fresh venv, `pip install .` without the lock, then `dvc repro -f` in a copy of the project."""
    project = copy_project(tmp_path / "ketamap")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "."], cwd=project,
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-4000:]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", DVC_NO_ANALYTICS="1")
    version = subprocess.run(["ketamap", "--version"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert version.stdout == f"ketamap {importlib.metadata.version('ketamap')}\n", version.stdout + version.stderr
    built = subprocess.run(["dvc", "repro", "-f"], cwd=project, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    # The published tables come out identical (the figure's bytes may follow another matplotlib).
    changed = subprocess.run(["git", "status", "--porcelain", "--", "data", "datapackage.json"], cwd=project,
                             capture_output=True, text=True, check=True).stdout
    assert changed == ""
