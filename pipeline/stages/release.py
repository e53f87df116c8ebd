"""release: the release bundle (dist/<name>-<version>.zip, or dist/<name>-unreleased.zip after a
release), .zenodo.json and CITATION.cff; a released version's bundle is its kept bytes (release/)."""

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
from pipeline.publish.releases import release_state


def run(root: Path = Path(".")) -> list[Problem]:
    params = read_params(root)
    outputs = build(root, params)
    # not fatal: a rebuild between releases must not fail on the changelog
    state, _ = release_state(root, params)
    warnings = changelog_warnings(release_from_params(state), (root / CHANGELOG_FILE).read_text(encoding="utf-8"))
    for path, data in outputs.items():
        atomic_write_bytes(path, data)
    return warnings
