"""The package's architecture as tests: layers import only downward, no cycles, only the CLI prints."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "pipeline"
# Lines a module or a function may have before it needs a reason in a comment (issue: one house).
MODULE_LINES = 500
FUNCTION_LINES = 60
LONG_BECAUSE = "# long because:"


def test_the_layers_contract_holds():
    """pyproject.toml's [tool.importlinter] layers, checked by import-linter itself."""
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("pipeline")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(graph.find_shortest_chain(importer=imported, imported=module) + (imported,))
    assert cycles == []


def test_sources_and_contributions_never_import_each_other():
    graph = grimp.build_graph("pipeline")
    assert not graph.chain_exists(importer="pipeline.sources", imported="pipeline.contributions", as_packages=True)
    assert not graph.chain_exists(importer="pipeline.contributions", imported="pipeline.sources", as_packages=True)


def test_nobody_imports_the_cli_or_the_stages():
    graph = grimp.build_graph("pipeline")
    for top in ("pipeline.cli", "pipeline.stages"):
        importers = set(graph.find_downstream_modules(top, as_package=True))
        outside = {m for m in importers if not m.startswith("pipeline.cli") and m != "pipeline.__main__"}
        assert outside == set(), top


def _python_files():
    return sorted(PIPELINE.rglob("*.py"))


def test_only_the_cli_prints_or_exits():
    offenders = []
    for path in _python_files():
        if path.is_relative_to(PIPELINE / "cli") or path.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"print", "exit", "input"}:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}()")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                    (node.value.id == "sys" and node.attr in {"exit", "stdout", "stderr"}) or node.value.id == "typer"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []


def test_modules_and_functions_stay_small_or_say_why():
    """No module over ~500 lines, no function over ~60, unless a comment on it says why."""
    too_long = []
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        if len(lines) > MODULE_LINES and LONG_BECAUSE not in "\n".join(lines[:30]):
            too_long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                head = "\n".join(lines[max(node.lineno - 3, 0):node.lineno + 2])
                if length > FUNCTION_LINES and LONG_BECAUSE not in head:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() {length} lines")
    assert too_long == []
