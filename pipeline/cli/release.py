"""`ketamap release`: record the built version as released (pipeline.publish.releases), or its DOI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import typer

from pipeline.core.files import atomic_write_bytes
from pipeline.core.problems import Problem, ProblemsFound, render_text
from pipeline.core.releases import RECORD_PATH
from pipeline.core.settings import read_params, release_from_params
from pipeline.publish.releases import record_doi, record_release

BUILD_FILES = ("datapackage.json", "dist", "dvc.lock", "params.yaml", "CHANGELOG.md")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def release_commit(root: Path) -> str:
    """HEAD, when it holds the build being released (no uncommitted change to the build's files)."""
    try:
        commit = _git(root, "rev-parse", "--verify", "HEAD").strip()
        dirty = _git(root, "status", "--porcelain", "--", *BUILD_FILES).strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise ProblemsFound([Problem("not-a-repository", f"git cannot read this repository: {error}",
                                     suggestion="run `ketamap release` in a git clone of ketamap")]) from None
    if dirty:
        raise ProblemsFound([Problem("uncommitted-build", "the build is not committed; the record names the commit "
                                     "that holds it", value=dirty.splitlines()[0].strip(),
                                     suggestion="commit the outputs of `dvc repro` first")])
    return commit


def release_command(doi: str | None, root: Path = Path(".")) -> int:
    """0 recorded, 1 not releasable (already released, stale build), 2 unreadable input."""
    try:
        params = read_params(root)
        if doi:
            outputs = record_doi(root, str(params["release"]["version"]), doi)
        else:
            bundle_name = release_from_params(params).bundle_name
            outputs = record_release(root, params, release_commit(root), bundle_name)
    except ProblemsFound as found:
        typer.echo(render_text(found.problems), err=True)
        unreadable = {"unreadable-params", "bad-release-record", "not-a-repository", "bad-doi"}
        return 2 if any(p.code in unreadable for p in found.problems) else 1
    for path, data in outputs.items():
        atomic_write_bytes(path, data)
    written = ", ".join(sorted(str(p.relative_to(root)) for p in outputs))
    typer.echo(f"recorded in {RECORD_PATH}: wrote {written}; commit them.")
    return 0
