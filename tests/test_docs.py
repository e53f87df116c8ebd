"""The documentation: links that resolve, a short README, a CLI reference that matches `--help`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    return LINK.findall(text)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(path: Path):
    broken = []
    for target in _links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        file = target.split("#", 1)[0]
        if not (path.parent / file).exists():
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_to_files_the_project_does_not_have(path: Path):
    text = path.read_text(encoding="utf-8")
    outside = "/".join(("..", "shared"))  # the folder beside the project, which users do not have
    assert "SPEC.md" not in text and outside not in text


def test_the_readme_is_short_and_keeps_the_two_quick_start_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 120
    block = re.search(r"^## Quick start\b.*?^```sh\n(.*?)^```", text, re.M | re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    setup = "python3 -m venv .venv && . .venv/bin/activate && pip install -q -r requirements.lock && " \
            "pip install -q --no-deps -e . && "
    assert commands == [setup + "dvc repro", setup + "python -m pytest -q"]


def test_the_cli_reference_is_current():
    from pipeline.cli.docs import cli_reference

    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == cli_reference(), \
        "docs/cli.md is stale: python -m pipeline.cli.docs cli > docs/cli.md"
