"""`ketamap validate` prints what the input holds inertly: markup, emoji codes, line breaks, invisible
and lookalike characters are shown as what they are, never acted on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, tool_env

HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes\n"


def validate(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "validate", "--no-package", str(path)], cwd=ROOT,
                          env=tool_env(), capture_output=True, text=True)


@pytest.mark.parametrize("value, shown", [
    ("[red]boom[/red]", "[red]boom[/red]"),
    (":x: :thumbs_up:", ":x: :thumbs_up:"),
    ("[bold]bold[/]", "[bold]bold[/]"),
    ("a\x1b[31mred", "\\x1b[31m"),
    ("ra\u200bt", "\\u200b"),
])
def test_values_are_printed_literally(tmp_path, value, shown):
    path = tmp_path / "c.csv"
    path.write_text(HEADER + f'{value},,increase,animal,HPC,rat,PMID:1,,\n', encoding="utf-8")
    result = validate(path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert shown in result.stdout, result.stdout
    assert "\x1b" not in result.stdout and "❌" not in result.stdout and "👍" not in result.stdout


def test_a_file_name_with_a_line_break_cannot_forge_report_lines(tmp_path):
    path = tmp_path / "x.csv\n  error line 9, molecule: forged.csv"
    path.write_text(HEADER + "BDNF,,sideways,animal,HPC,rat,PMID:1,,\n", encoding="utf-8")
    result = validate(path)
    lines = result.stdout.splitlines()
    assert not any(line.startswith("  error line 9") for line in lines), result.stdout
    assert "x.csv\\n  error line 9" in lines[0]


def test_a_lookalike_is_named_by_its_code_point(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "BDNF,,increase,animal,HPC,rаt,PMID:1,,\n", encoding="utf-8")  # Cyrillic а
    result = validate(path)
    assert "U+0430 CYRILLIC SMALL LETTER A" in result.stdout and "'rat'" in result.stdout


def test_in_colour_values_stay_literal_and_only_the_report_is_styled(tmp_path):
    """FORCE_COLOR (as for `| less -R`): rich styles the verdict and the codes, never the values."""
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "[red]boom[/red],,increase,animal,HPC,rat,PMID:1,,:x:\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pipeline", "validate", "--no-package", str(path)], cwd=ROOT,
                            env={**tool_env(), "FORCE_COLOR": "1"}, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "\x1b[31minvalid\x1b[0m" in result.stdout  # styled
    assert "(value '[red]boom[/red]')" in result.stdout and "❌" not in result.stdout


def test_a_plain_report_loads_neither_rich_nor_yaml_outside_a_checkout(tmp_path):
    """Written to a pipe and run where there is no params.yaml, a check imports only what it uses."""
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "BDNF,,sideways,animal,HPC,rat,PMID:1,,\n", encoding="utf-8")
    code = ("import sys; sys.argv = ['ketamap', 'validate', '--no-package', sys.argv[1]]\n"
            "from pipeline.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in ('rich', 'yaml') if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, str(path)], cwd=tmp_path, env=tool_env(),
                            capture_output=True, text=True)
    assert "LOADED []" in result.stderr, result.stderr
    assert "c.csv: 1 row, invalid" in result.stdout and "[unknown-direction]" in result.stdout
