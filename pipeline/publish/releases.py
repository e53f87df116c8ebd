"""Released versions stay as released: the kept bundles under `release/` and the release record.

`ketamap release` (after the version bump, `dvc repro` and a commit of the build) copies
`dist/<name>-<version>.zip` to `release/<name>-<version>.zip` and appends its entry to
`release/releases.json` (pipeline/core/releases.py). From then on the release stage ships the
kept bytes whenever the package equals the release, and names any other build unreleased.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from pipeline.core.files import sha256_bytes
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.versions import semver_key
from pipeline.core.releases import (
    RECORD_PATH,
    ReleaseEntry,
    find_release,
    is_unreleased,
    read_record,
    record_text,
    released_of,
    unreleased_version,
)

KEPT_DIR = "release"
DOI = r"10.\d{4,9}/\S+"


def built_version(root: Path) -> str | None:
    """The version datapackage.json was built as (the package stage decides), or None if unreadable."""
    try:
        version = json.loads((Path(root) / "datapackage.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def release_state(root: Path, params: dict) -> tuple[dict, ReleaseEntry | None]:
    """The params to build the release files with, and the release whose bundle to ship unchanged (if any).

    A package built as `<version>+unreleased` is built under that version; a package built as a
    released version is that release, whose kept bundle is shipped byte for byte.
    """
    release = params.get("release") if isinstance(params, dict) else None
    if not isinstance(release, dict) or not release.get("version"):
        return params, None
    version = str(release["version"])
    if built_version(root) == unreleased_version(version):
        return {**params, "release": {**release, "version": unreleased_version(version)}}, None
    return params, find_release(root, version)


def kept_bundle(root: Path, entry: ReleaseEntry) -> bytes:
    """The released bundle's bytes, checked against the record."""
    path = Path(root) / entry.bundle
    restore = (f"restore it from the release commit: `git show {entry.commit[:12]}:dist/{Path(entry.bundle).name} "
               f"> {entry.bundle}`")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ProblemsFound([Problem("released-bundle-missing", f"the bundle of released version {entry.version} "
                                     f"cannot be read: {error.strerror}", file=entry.bundle, suggestion=restore)])
    if sha256_bytes(data) != entry.sha256:
        raise ProblemsFound([Problem("released-bundle-changed", f"the bundle of released version {entry.version} "
                                     f"is not the one released (sha256 {entry.sha256[:12]}…)", file=entry.bundle,
                                     value=sha256_bytes(data)[:12], suggestion=restore)])
    return data


def record_release(root: Path, params: dict, commit: str, bundle_name: str) -> dict[Path, bytes]:
    """The files `ketamap release` writes (the kept zip and the record), after every check."""
    root = Path(root)
    release = params["release"]
    version, date = str(release["version"]), str(release["date"])
    dist = root / "dist" / bundle_name
    problems: list[Problem] = []
    if find_release(root, version) is not None:
        problems.append(Problem("already-released", f"version {version} is already released",
                                file=RECORD_PATH, value=version,
                                suggestion="bump release.version (and release.date) in params.yaml, then `dvc repro`"))
    built = built_version(root)
    if built != version:
        problems.append(Problem("params-mismatch", f"datapackage.json is version {built} but params.yaml says {version}",
                                file="datapackage.json", value=str(built),
                                suggestion="bump release.version in params.yaml, then `dvc repro`"
                                if built and is_unreleased(built) else "run `dvc repro`"))
    earlier = read_record(root)
    if earlier and not problems and _newer(earlier[-1].version, version):
        problems.append(Problem("bad-version", f"version {version} is not above the last release {earlier[-1].version}",
                                file="params.yaml", column="release.version", value=version))
    if not dist.is_file():
        problems.append(Problem("missing-file", "the release bundle is not built", file=f"dist/{bundle_name}",
                                suggestion="run `dvc repro`"))
    if problems:
        raise ProblemsFound(problems)
    data = dist.read_bytes()
    descriptor = (root / "datapackage.json").read_bytes()
    entry = ReleaseEntry(version=version, date=date, commit=commit, bundle=f"{KEPT_DIR}/{bundle_name}",
                         sha256=sha256_bytes(data), descriptor_sha256=sha256_bytes(descriptor))
    return {root / entry.bundle: data,
            root / RECORD_PATH: record_text([*earlier, entry]).encode("utf-8")}


def record_doi(root: Path, version: str, doi: str) -> dict[Path, bytes]:
    """The record with `version`'s Zenodo DOI set (the one field written after release)."""
    entries = read_record(root)
    version = released_of(version)
    if not re.fullmatch(DOI, doi):
        raise ProblemsFound([Problem("bad-doi", "not a DOI (10.NNNN/…)", value=doi, suggestion="e.g. 10.5281/zenodo.123")])
    if not any(e.version == version for e in entries):
        raise ProblemsFound([Problem("not-released", f"version {version} is not in the release record",
                                     file=RECORD_PATH, value=version, suggestion="run `ketamap release` first")])
    updated = [replace(e, doi=doi) if e.version == version else e for e in entries]
    return {Path(root) / RECORD_PATH: record_text(updated).encode("utf-8")}


def _newer(a: str, b: str) -> bool:
    return semver_key(a) >= semver_key(b)
