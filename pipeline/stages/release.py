"""release: the release bundle (dist/<name>-<version>.zip), .zenodo.json and CITATION.cff."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.files import atomic_write_bytes
from pipeline.core.problems import Problem
from pipeline.core.settings import read_params
from pipeline.publish.bundle import (
    CHANGELOG_FILE,
    build,
    changelog_warnings,
    release_from_params,
)


def run(root: Path = Path(".")) -> list[Problem]:
    params = read_params(root)
    outputs = build(root, params)
    # not fatal: a rebuild between releases must not fail on the changelog
    warnings = changelog_warnings(release_from_params(params), (root / CHANGELOG_FILE).read_text(encoding="utf-8"))
    for path, data in outputs.items():
        atomic_write_bytes(path, data)
    return warnings
