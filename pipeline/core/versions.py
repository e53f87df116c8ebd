"""Semantic versions, as release.version and the release record write them."""

from __future__ import annotations

import re

# semver.org's own regular expression for a valid version (2.0.0).
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def semver_key(version: str) -> tuple:
    """Sort key giving semver precedence (a pre-release sorts before its release)."""
    match = SEMVER.match(version)
    if not match:
        raise ValueError(f"not a semantic version: {version}")
    major, minor, patch, pre = int(match[1]), int(match[2]), int(match[3]), match[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p), "") if p.isascii() and p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, parts)
