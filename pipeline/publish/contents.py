"""What a bundle holds: exactly the files its layout and its descriptor name, each as declared.

A release bundle is `datapackage.json`, the resource files it lists (and any Table Schema or
dialect it gives as a relative file), README.md, LICENSE, CITATION.cff, CHANGELOG.md,
SHA256SUMS and the evidence map under reports/. Nothing else is accepted, listed in SHA256SUMS
or not: a `.git/config` or `.envrc` in a "verified" folder would run its author's commands.
Nothing is fetched: a schema or dialect given as a URL is refused (inline or in the bundle only).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pipeline.core.problems import Problem, ProblemsFound
from pipeline.publish.bundle import BUNDLE_FILES, REPORT_FILES

DESCRIPTOR = "datapackage.json"
CHECKSUMS = "SHA256SUMS"
LAYOUT = frozenset(BUNDLE_FILES) | frozenset(REPORT_FILES)
MAX_JSON_DEPTH = 64
_DRIVE = re.compile(r"^[A-Za-z]:")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def refuse(code: str, message: str, **where) -> ProblemsFound:
    return ProblemsFound([Problem(code, message, **where)])


def unsafe_reason(name: str) -> str | None:
    """Why a relative path from an archive or a descriptor must not be written, or None."""
    if not name or "\x00" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "empty or with control characters"
    if "\\" in name:
        return "contains a backslash"
    if name.startswith("/") or _DRIVE.match(name):
        return "is an absolute path"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "climbs out of the folder with '..'"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' path segment"
    return None


def _depth(value, limit: int) -> int:
    stack, deepest = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def parse_descriptor(data: bytes) -> dict:
    try:
        descriptor = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        message = "is nested too deeply" if isinstance(error, RecursionError) else f"cannot be read: {error}"
        raise refuse("bad-descriptor", f"{DESCRIPTOR} {message}", file=DESCRIPTOR)
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise refuse("bad-descriptor", f"{DESCRIPTOR} has no list of resources", file=DESCRIPTOR)
    if _depth(descriptor, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise refuse("bad-descriptor", f"{DESCRIPTOR} is nested more than {MAX_JSON_DEPTH} levels deep",
                     file=DESCRIPTOR)
    return descriptor


def read_descriptor(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise refuse("bad-descriptor", f"{DESCRIPTOR} cannot be read: {error}", file=DESCRIPTOR)
    return parse_descriptor(data)


def _reference_problem(name: str, key: str, ref) -> Problem | None:
    """A resource's `schema` or `dialect`: inline, or a safe relative file of the bundle."""
    if ref is None or isinstance(ref, dict):
        return None
    if not isinstance(ref, str):
        return Problem("bad-descriptor", f"resource '{name}' {key} is neither an object nor a path",
                       file=DESCRIPTOR, column=key)
    if _URL.match(ref) or "://" in ref:
        return Problem("remote-reference", f"resource '{name}' gives its {key} as a URL; nothing is fetched "
                       "during verification", file=DESCRIPTOR, column=key, value=ref,
                       suggestion=f"put the {key} inline in {DESCRIPTOR} or as a file inside the bundle")
    reason = unsafe_reason(ref)
    if reason:
        return Problem("unsafe-path", f"resource '{name}' {key} path {reason}", file=DESCRIPTOR, value=ref)
    return None


STANDARD_PROFILES = ("https://datapackage.org/profiles/", "https://specs.frictionlessdata.io/schemas/")


def profile_problems(descriptor: dict) -> list[Problem]:
    """A `profile` or `$schema` anywhere in the descriptor is a named profile or a standard one
    (frictionless knows those without fetching); any other address would be fetched: refused."""
    problems, stack = [], [descriptor]
    while stack:
        item = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend(child for child in children if isinstance(child, (dict, list)))
        if not isinstance(item, dict):
            continue
        for key in ("profile", "$schema"):
            value = item.get(key)
            if isinstance(value, str) and ("/" in value or ":" in value) and not value.startswith(STANDARD_PROFILES):
                problems.append(Problem("remote-reference", f"'{key}' names a profile that would be fetched; nothing "
                                        "is fetched during verification", file=DESCRIPTOR, column=key, value=value,
                                        suggestion="use a standard Data Package profile"))
    return problems


def resource_files(descriptor: dict) -> tuple[list[tuple[str, str | None, int | None]], list[Problem]]:
    """(path, hash, bytes) of every resource file, each path checked as safe to write; schema and
    dialect references checked as local."""
    entries, problems = [], profile_problems(descriptor)
    for index, resource in enumerate(descriptor["resources"]):
        if not isinstance(resource, dict):
            problems.append(Problem("bad-descriptor", f"resource {index} is not an object", file=DESCRIPTOR))
            continue
        name = resource.get("name", str(index))
        path = resource.get("path")
        problems += [p for key in ("schema", "dialect") if (p := _reference_problem(name, key, resource.get(key)))]
        if not isinstance(path, str):  # inline data or multipart paths: not what a release holds
            problems.append(Problem("bad-descriptor", f"resource '{name}' has no single path", file=DESCRIPTOR,
                                    value=json.dumps(path)))
            continue
        reason = unsafe_reason(path) if not _URL.match(path) else "is a URL, not a file in the package"
        if reason:
            problems.append(Problem("unsafe-path", f"resource '{name}' path {reason}", file=DESCRIPTOR, value=path))
            continue
        size = resource.get("bytes")
        entries.append((path, resource.get("hash"), size if isinstance(size, int) and size >= 0 else None))
    return entries, problems


def references(descriptor: dict) -> list[str]:
    """The schema and dialect files a descriptor names (already checked by `resource_files`)."""
    return [r[key] for r in descriptor["resources"] if isinstance(r, dict)
            for key in ("schema", "dialect") if isinstance(r.get(key), str)]


def declared_files(descriptor: dict) -> tuple[dict[str, int | None], list[Problem]]:
    """Every file a bundle may hold → its declared byte size (None when not declared)."""
    entries, problems = resource_files(descriptor)
    declared: dict[str, int | None] = {name: None for name in LAYOUT}
    declared.update({name: None for name in references(descriptor)})
    declared.update({path: size for path, _, size in entries})
    return declared, problems


def foreign_files(root: Path, descriptor: dict) -> list[Problem]:
    """Files under `root` that the layout and the descriptor do not name (and anything not a file)."""
    declared, _ = declared_files(descriptor)
    problems = []
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            problems.append(Problem("special-entry", "not a regular file", file=name))
        elif path.is_file() and name not in declared:
            problems.append(Problem("undeclared-file", f"neither the bundle layout nor {DESCRIPTOR} names this file",
                                    file=name))
    return problems


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def read_checksums(text: str, label: str = CHECKSUMS) -> tuple[dict[str, str], list[Problem]]:
    """`sha256sum` lines ("<hex>  <path>" or "<hex> *<path>") → {path: hex}."""
    listed: dict[str, str] = {}
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line)
        if not match:
            problems.append(Problem("bad-checksum-line", "not a sha256sum line", file=label, line=number, value=line))
            continue
        name = match.group(2)
        reason = unsafe_reason(name)
        if reason:
            problems.append(Problem("unsafe-path", f"listed path {reason}", file=label, line=number, value=name))
        elif name in listed:
            problems.append(Problem("duplicate-entry", "path listed twice", file=label, line=number, value=name))
        else:
            listed[name] = match.group(1).lower()
    return listed, problems


def check_checksums(root: Path) -> tuple[list[Problem], int]:
    """Every file SHA256SUMS lists matches it, and every other file is listed."""
    try:
        text = (root / CHECKSUMS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [Problem("missing-checksums", f"the bundle has no readable {CHECKSUMS}: {error}", file=CHECKSUMS)], 0
    listed, problems = read_checksums(text)
    for name, expected in listed.items():
        path = root / name
        if not path.is_file():
            problems.append(Problem("missing-file", f"{CHECKSUMS} lists a file the bundle does not have", file=name))
            continue
        actual, _ = sha256_of(path)
        if actual != expected:
            problems.append(Problem("checksum-mismatch", f"sha256 differs from {CHECKSUMS}: expected {expected}, "
                                    f"got {actual}", file=name, value=actual))
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    for name in sorted(present - set(listed) - {CHECKSUMS}):
        problems.append(Problem("unlisted-file", f"the bundle has a file {CHECKSUMS} does not list", file=name))
    return problems, len(listed)


def _hash_problem(target: Path, path: str, expected_hash: str | None) -> Problem | None:
    if not expected_hash:
        return Problem("missing-checksum", f"{DESCRIPTOR} gives no hash for this file", file=path)
    algorithm, _, digest = str(expected_hash).rpartition(":")
    algorithm = (algorithm or "md5").lower()
    if algorithm not in ("md5", "sha256"):
        return Problem("missing-checksum", f"unsupported hash algorithm {algorithm}", file=path)
    hasher = hashlib.new(algorithm)
    with open(target, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(block)
    if hasher.hexdigest() != digest.lower():
        return Problem("checksum-mismatch", f"{algorithm} differs from {DESCRIPTOR}: expected {digest.lower()}, "
                       f"got {hasher.hexdigest()}", file=path, value=hasher.hexdigest())
    return None


def check_resources(root: Path, descriptor: dict) -> tuple[list[Problem], int]:
    """Every resource's sha256 (or md5, for a hash without prefix) and byte size."""
    entries, problems = resource_files(descriptor)
    for path, expected_hash, expected_bytes in entries:
        target = root / path
        if not target.is_file():
            problems.append(Problem("missing-file", f"{DESCRIPTOR} lists a resource file the package lacks", file=path))
            continue
        problem = _hash_problem(target, path, expected_hash)
        if problem:
            problems.append(problem)
        actual_bytes = target.stat().st_size
        if expected_bytes is None:
            problems.append(Problem("missing-checksum", f"{DESCRIPTOR} gives no byte size for this file", file=path))
        elif actual_bytes != expected_bytes:
            problems.append(Problem("size-mismatch", f"byte size differs from {DESCRIPTOR}: expected {expected_bytes}, "
                                    f"got {actual_bytes}", file=path, value=str(actual_bytes)))
    return problems, len(entries)


def package_identity(descriptor: dict) -> tuple[str, str]:
    name, version = str(descriptor.get("name") or ""), str(descriptor.get("version") or "")
    for what, value in (("name", name), ("version", version)):
        if not _SAFE_NAME.match(value):
            raise refuse("bad-descriptor", f"{DESCRIPTOR} has no usable {what}", file=DESCRIPTOR, value=value)
    return name, version
