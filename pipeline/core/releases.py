"""The record of released versions (`release/releases.json`, committed) and the unreleased state.

A release is immutable: its record names the version, its date, the commit whose `dist/` built
it, the bundle's path (kept under `release/`, outside DVC's outputs, so no rebuild deletes it),
the bundle's and the descriptor's sha256 and, once deposited, the Zenodo DOI. Versions are found
here by name, so `ketamap diff 0.1.0 .` works in a clone without tags.

A build whose `release.version` is already released but whose package differs from the release
(a contribution accepted, a column renamed) is the *unreleased* state after it: version
`<version>+unreleased` in datapackage.json and the metadata, bundle `dist/<name>-unreleased.zip`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.versions import SEMVER, semver_key

RECORD_PATH = "release/releases.json"
UNRELEASED = "unreleased"
RECORD_NOTE = "Written by `ketamap release`; one entry per released version, never edited after (except its DOI)."


@dataclass(frozen=True)
class ReleaseEntry:
    version: str
    date: str
    commit: str
    bundle: str  # repository path of the kept zip
    sha256: str  # of the bundle
    descriptor_sha256: str  # of its datapackage.json: a rebuild with the same descriptor is the release
    doi: str | None = None
    note: str | None = None


def unreleased_version(version: str) -> str:
    return f"{version}+{UNRELEASED}"


def is_unreleased(version: str) -> bool:
    return version.endswith(f"+{UNRELEASED}")


def released_of(version: str) -> str:
    """`0.1.0+unreleased` → `0.1.0` (the release the state follows); a release → itself."""
    return version.removesuffix(f"+{UNRELEASED}")


def read_record(root: Path) -> list[ReleaseEntry]:
    """The released versions, oldest first; an absent record is no release yet."""
    path = Path(root) / RECORD_PATH
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        entries = [ReleaseEntry(**{k: item.get(k) for k in ReleaseEntry.__dataclass_fields__})
                   for item in raw["releases"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ProblemsFound([Problem("bad-release-record", f"the release record cannot be read: {error}",
                                     file=RECORD_PATH, suggestion="restore it from git: `git checkout -- "
                                     f"{RECORD_PATH}`")]) from None
    bad = [e.version for e in entries if not isinstance(e.version, str) or not SEMVER.match(e.version)
           or not all(isinstance(getattr(e, k), str) for k in ("date", "commit", "bundle", "sha256",
                                                               "descriptor_sha256"))]
    if bad:
        raise ProblemsFound([Problem("bad-release-record", "a release entry lacks a semantic version, date, commit, "
                                     "bundle or sha256", file=RECORD_PATH, value=str(bad[0]))])
    return sorted(entries, key=lambda e: semver_key(e.version))


def find_release(root: Path, version: str) -> ReleaseEntry | None:
    return next((e for e in read_record(root) if e.version == version), None)


def previous_release(root: Path, version: str) -> ReleaseEntry | None:
    """The highest released version below `version` (its release when `version` is unreleased)."""
    if is_unreleased(version):
        return find_release(root, released_of(version))
    current = semver_key(version)
    lower = [e for e in read_record(root) if semver_key(e.version) < current]
    return lower[-1] if lower else None


def record_text(entries: list[ReleaseEntry]) -> str:
    ordered = sorted(entries, key=lambda e: semver_key(e.version))
    return json.dumps({"note": RECORD_NOTE, "releases": [asdict(e) for e in ordered]}, indent=2,
                      ensure_ascii=False) + "\n"
