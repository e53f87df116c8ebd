"""The catalogue of problems: every code a check emits is declared once; one rule gives the exit code;
docs/problems.md is current."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.catalogue import CATALOGUE, DATA, INPUT, problems_markdown
from pipeline.core.problems import Problem, exit_code, render_json

ROOT = Path(__file__).resolve().parents[1]


def _code_position(node: ast.AST) -> int | None:
    """Where a function takes its `code` parameter (None if it takes none)."""
    names = [a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
    return names.index("code") if "code" in names else None


def _calls(node: ast.AST, scope: dict[str, int], path: str, found: dict[str, list[str]]) -> None:
    """Code literals of the calls under `node`; `scope` maps the helpers visible there to their
    code position (a nested `def add(…, code, …)` shadows another module's or function's `add`)."""
    body = node.body if isinstance(getattr(node, "body", None), list) else []
    local = {child.name: _code_position(child) for child in body
             if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))}
    scope = {**scope, **local}
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Call):
            name = getattr(child.func, "id", None) or getattr(child.func, "attr", None)
            position = scope.get(name)
            if position is not None:
                arguments = child.args[position:position + 1] + [k.value for k in child.keywords if k.arg == "code"]
                while arguments:
                    argument = arguments.pop()
                    if isinstance(argument, ast.IfExp):  # "a" if … else "b"
                        arguments += [argument.body, argument.orelse]
                    elif isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        found.setdefault(argument.value, []).append(f"{path}:{child.lineno}")
        _calls(child, scope, path, found)


def emitted_codes() -> dict[str, list[str]]:
    """Every string literal passed as a code to Problem or to a helper that takes `code`, in pipeline/."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _calls(tree, {"Problem": 0}, str(path.relative_to(ROOT)), found)
    return found


def test_every_code_emitted_in_pipeline_is_declared():
    found = emitted_codes()
    assert len(found) > 80  # the scan sees the checks (a broken scan would pass vacuously)
    undeclared = {code: where for code, where in found.items() if code not in CATALOGUE}
    assert not undeclared, f"declare these in pipeline/core/catalogue.py: {undeclared}"


def test_every_declared_code_has_a_title_a_class_a_meaning_and_a_fix():
    for entry in CATALOGUE.values():
        assert entry.exit_class in (INPUT, DATA), entry
        assert entry.title and entry.meaning.endswith(".") and entry.fix.endswith((".", "`")), entry


def test_no_spelling_of_unreadable_but_the_merged_ones():
    unreadable = sorted(code for code in CATALOGUE if "unreadable" in code)
    assert unreadable == ["unreadable-file", "unreadable-package", "unreadable-params", "unreadable-table"]


def test_an_undeclared_code_is_refused():
    with pytest.raises(ValueError, match="not declared"):
        Problem("no-such-code", "anything")


def test_the_exit_code_comes_from_the_errors_classes():
    data = Problem("unknown-molecule", "x")
    unreadable = Problem("unreadable-file", "y")
    warning = Problem("unreadable-file", "z", severity="warning")
    assert exit_code([]) == 0 and exit_code([warning]) == 0
    assert exit_code([data, warning]) == 1
    assert exit_code([data, unreadable]) == 2


def test_json_keeps_the_contract_and_adds_file_and_severity():
    problem = Problem("unknown-molecule", "not in the vocabulary", file="c.csv", line=2, column="molecule",
                      value="Glutamte", suggestion="Glutamate")
    assert list(__import__("json").loads(render_json([problem]))[0]) == [
        "code", "message", "line", "column", "value", "suggestion", "file", "severity"]


def test_no_command_formats_an_error_by_hand():
    for path in sorted((ROOT / "pipeline" / "cli").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"error \[[a-z{-]+\]|\"error: ", text), path


def test_docs_problems_md_is_generated_from_the_catalogue():
    page = (ROOT / "docs" / "problems.md").read_text(encoding="utf-8")
    assert page == problems_markdown(), "run `python -m pipeline.cli.docs problems > docs/problems.md`"
    done = subprocess.run([sys.executable, "-m", "pipeline.cli.docs", "problems"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert done.stdout == page
