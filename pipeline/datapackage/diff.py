"""Differences between two versions of the data package, row by row, keyed by each table's primary key.

A version is read from a folder holding `datapackage.json`, a `datapackage.json` path, a release
zip, or a git revision of this repository (`HEAD~1`, `v0.1.0`, or `REV:path/to/datapackage.json`).
Rows are matched by the resource's `primaryKey` (`finding_id` for findings); a row is *changed*
when a field both versions have differs. A column that only one version has is reported once as
a schema change, not as a change to every row.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.files import read_input
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.releases import find_release
from pipeline.core.versions import SEMVER

# The columns that tell a reader which finding a line is about, in the order they read best.
SUMMARY_FIELDS = {
    "findings": ["molecule_label", "measure", "direction", "population", "region_id", "species",
                 "qualifier", "references"],
}
FIRST_RESOURCE = "findings"
MAX_TABLE_BYTES = 1 << 30  # a table read whole (a 10^6-finding table is ~300 MB)
MAX_JSON_BYTES = 64 << 20  # a descriptor or Table Schema file


@dataclass
class PackageVersion:
    """One version of the package as the diff sees it: per resource its fields, key and rows."""

    ref: str
    name: str | None
    version: str | None
    fields: dict[str, list[str]]
    keys: dict[str, list[str]]
    rows: dict[str, list[dict[str, str]]]


@dataclass
class RowChange:
    key: dict[str, str]
    changes: list[tuple[str, str, str]]  # (field, old, new)


@dataclass
class ResourceDiff:
    name: str
    key: list[str]
    rows_old: int
    rows_new: int
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    changed: list[RowChange] = field(default_factory=list)
    fields_added: list[str] = field(default_factory=list)
    fields_removed: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed or self.fields_added or self.fields_removed)


@dataclass
class PackageDiff:
    old: PackageVersion
    new: PackageVersion
    resources: dict[str, ResourceDiff]
    warnings: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return all(r.identical for r in self.resources.values())


# ---------------------------------------------------------------------------------------------
# Reading a version


class _Reader:
    """Reads files of one package version by their path relative to the descriptor's folder; a file
    over `limit` bytes is refused before it is read."""

    def read(self, path: str, limit: int = MAX_TABLE_BYTES) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError


class _FolderReader(_Reader):
    def __init__(self, base: Path):
        self.base = base

    def read(self, path: str, limit: int = MAX_TABLE_BYTES) -> bytes:
        return read_input(self.base / path, limit)  # stat first: a FIFO or a device is refused, not read


class _ZipReader(_Reader):
    def __init__(self, archive: zipfile.ZipFile, base: str):
        self.archive, self.base = archive, base

    def read(self, path: str, limit: int = MAX_TABLE_BYTES) -> bytes:
        """The member, if it unzips to at most `limit` bytes (zipfile stops at the size its entry
        declares, so a member that lies about it cannot inflate further)."""
        info = self.archive.getinfo(posixpath.join(self.base, path) if self.base else path)
        if info.file_size > limit:
            raise ProblemsFound([Problem("unreadable-package", f"it unzips to {info.file_size:,} bytes, more than "
                                         f"the {limit:,} it may (a zip bomb?); it is not read", file=info.filename,
                                         suggestion="compare a release zip that `ketamap download` verifies")])
        return self.archive.read(info)


class _GitReader(_Reader):
    def __init__(self, repo: Path, rev: str, base: str):
        self.repo, self.rev, self.base = repo, rev, base

    def read(self, path: str, limit: int = MAX_TABLE_BYTES) -> bytes:  # this repository's own history
        target = posixpath.normpath(posixpath.join(self.base, path)) if self.base else path
        return _git(self.repo, "show", f"{self.rev}:{target}")


class _GitError(ProblemsFound):
    """git failed: a Problem like any other (callers reword it for the revision they asked about)."""

    def __init__(self, message: str):
        super().__init__([Problem("git-failed", f"git could not read it: {message}",
                                  suggestion="check the revision with `git log --oneline`")])
        self.message = message


def _git(repo: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except OSError as error:  # git not installed
        raise _GitError(str(error)) from error
    if done.returncode != 0:
        raise _GitError(done.stderr.decode("utf-8", "replace").strip())
    return done.stdout


def _unreadable(spec: str, message: str, suggestion: str | None = None) -> ProblemsFound:
    return ProblemsFound([Problem("unreadable-package", message, file=spec, suggestion=suggestion)])


def _safe_relative(path: object) -> bool:
    if not isinstance(path, str) or not path or "://" in path or path.startswith(("/", "\\")):
        return False
    return ".." not in path.replace("\\", "/").split("/")


def _open_reader(spec: str, repo: Path) -> tuple[_Reader, bytes]:
    """The reader for `spec` and the bytes of its descriptor."""
    path = Path(spec)
    if path.is_dir():
        descriptor = path / "datapackage.json"
        if not descriptor.is_file():
            raise _unreadable(spec, "this folder holds no datapackage.json",
                              "give a folder with a built package, a datapackage.json, a release zip or a git revision")
        return _FolderReader(path), read_input(descriptor, MAX_JSON_BYTES)
    if path.is_file():
        if zipfile.is_zipfile(path):
            return _zip_reader(path, spec)
        return _FolderReader(path.parent), read_input(path, MAX_JSON_BYTES)
    if spec.startswith("-") or not spec.strip():
        raise _unreadable(spec, "not a file, a folder or a git revision")
    released = _released(spec, repo)
    if released is not None:
        return released
    rev, _, descriptor_path = spec.partition(":")
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except _GitError:
        raise _unreadable(spec, "no such file or folder, and not a git revision of this repository",
                          "give a folder, a datapackage.json, a release zip, or a revision such as HEAD~1 or v0.1.0")
    # Like git itself: `REV:path` is relative to the repository's top, `REV:./path` to the current folder.
    target = descriptor_path or "datapackage.json"
    if target.startswith(("./", "../")):
        prefix = _git(repo, "rev-parse", "--show-prefix").decode("utf-8").strip()
        target = posixpath.join(prefix, target)
    target = posixpath.normpath(target)
    if not _safe_relative(target):
        raise _unreadable(spec, f"{target} is outside the repository")
    try:
        data = _git(repo, "show", f"{rev}:{target}")
    except _GitError:
        raise _unreadable(spec, f"revision {rev} has no {target}")
    return _GitReader(repo, rev, posixpath.dirname(target)), data


def _zip_reader(path: Path, spec: str) -> tuple[_Reader, bytes]:
    archive = zipfile.ZipFile(path)
    candidates = sorted((n for n in archive.namelist() if posixpath.basename(n) == "datapackage.json"),
                        key=lambda n: (n.count("/"), n))
    if not candidates:
        raise _unreadable(spec, "this zip holds no datapackage.json")
    reader = _ZipReader(archive, posixpath.dirname(candidates[0]))
    return reader, reader.read("datapackage.json", MAX_JSON_BYTES)


def _released(spec: str, repo: Path) -> tuple[_Reader, bytes] | None:
    """A released version by number (`0.1.0` or `v0.1.0`, release/releases.json): its kept bundle, else
    the datapackage.json of the commit that built it; None when `spec` names no recorded release."""
    version = spec.removeprefix("v")
    if not SEMVER.match(version):
        return None
    entry = find_release(_top(repo), version)
    if entry is None:
        return None
    kept = _top(repo) / entry.bundle
    if kept.is_file():
        return _zip_reader(kept, spec)
    return _open_reader(f"{entry.commit}:datapackage.json", repo)


def _top(repo: Path) -> Path:
    """The repository's top folder (the release record's root), or `repo` outside git."""
    try:
        return Path(_git(repo, "rev-parse", "--show-toplevel").decode("utf-8").strip())
    except _GitError:
        return Path(repo)


def _table_rows(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    # Cells beyond the header (DictReader's None key) belong to no field and are not compared.
    rows = [{k: v for k, v in row.items() if k is not None} for row in reader]
    return list(reader.fieldnames or []), rows


def read_version(spec: str, repo: Path = Path(".")) -> PackageVersion:
    """Read one version of the package; every way it can fail becomes an `unreadable-package` Problem."""
    try:
        return _read_version(spec, repo)
    except _GitError as error:
        raise _unreadable(spec, f"git could not read it: {error.message}")
    except ProblemsFound as found:  # a file refused unread (read_input: missing, a FIFO, too large): said as is
        raise ProblemsFound([p if p.code == "unreadable-package" else Problem(
            "unreadable-package", f"{p.file}: {p.message}" if p.file else p.message, file=spec,
            suggestion=p.suggestion) for p in found.problems]) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, csv.Error) as error:
        raise _unreadable(spec, f"cannot read the package: {type(error).__name__}: {error}")


def _read_version(spec: str, repo: Path) -> PackageVersion:
    reader, descriptor_bytes = _open_reader(spec, repo)
    try:
        return _read_tables(spec, reader, descriptor_bytes)
    finally:
        if isinstance(reader, _ZipReader):
            reader.archive.close()


def _read_tables(spec: str, reader: _Reader, descriptor_bytes: bytes) -> PackageVersion:
    try:
        descriptor = json.loads(descriptor_bytes.decode("utf-8-sig"))
    except ValueError as error:
        raise _unreadable(spec, f"datapackage.json is not valid JSON: {error}")
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise _unreadable(spec, "datapackage.json has no list of resources")
    fields: dict[str, list[str]] = {}
    keys: dict[str, list[str]] = {}
    rows: dict[str, list[dict[str, str]]] = {}
    for resource in descriptor["resources"]:
        if not isinstance(resource, dict) or not isinstance(resource.get("name"), str):
            raise _unreadable(spec, "a resource in datapackage.json has no name")
        name, path = resource["name"], resource.get("path")
        if not _safe_relative(path):
            raise _unreadable(spec, f"resource {name!r}: path {path!r} is not a relative path inside the package")
        schema = resource.get("schema") or {}
        if isinstance(schema, str):
            if not _safe_relative(schema):
                raise _unreadable(spec, f"resource {name!r}: schema path {schema!r} is not inside the package")
            schema = json.loads(reader.read(schema, MAX_JSON_BYTES).decode("utf-8-sig"))
        declared = resource.get("bytes")  # a release zip declares each table's size: a bomb exceeds it
        exact = isinstance(reader, _ZipReader) and isinstance(declared, int) and 0 <= declared < MAX_TABLE_BYTES
        header, table = _table_rows(reader.read(path, declared if exact else MAX_TABLE_BYTES))
        declared = [f["name"] for f in schema.get("fields", []) if isinstance(f, dict) and "name" in f]
        fields[name] = declared or header
        key = schema.get("primaryKey") or (["finding_id"] if name == FIRST_RESOURCE else [])
        keys[name] = [key] if isinstance(key, str) else list(key)
        rows[name] = table
    return PackageVersion(ref=spec, name=descriptor.get("name"), version=descriptor.get("version"),
                          fields=fields, keys=keys, rows=rows)


def empty_version(ref: str = "(nothing)") -> PackageVersion:
    """The version before the first release: no resources, no rows."""
    return PackageVersion(ref=ref, name=None, version=None, fields={}, keys={}, rows={})


# ---------------------------------------------------------------------------------------------
# Comparing


def _ordered_names(old: PackageVersion, new: PackageVersion) -> list[str]:
    names = set(old.rows) | set(new.rows)
    return sorted(names, key=lambda n: (n != FIRST_RESOURCE, n))


def _index(rows: list[dict[str, str]], key: list[str], label: str, resource: str,
           warnings: list[str]) -> dict[tuple[str, ...], dict[str, str]]:
    index: dict[tuple[str, ...], dict[str, str]] = {}
    for row in rows:
        k = tuple(row.get(f) or "" for f in key)
        if k in index:
            warnings.append(f"{resource}: {label} has more than one row with {'|'.join(key)} = "
                            f"{'|'.join(k)}; the first one is compared")
            continue
        index[k] = row
    return index


def diff_resource(name: str, old: PackageVersion, new: PackageVersion, warnings: list[str]) -> ResourceDiff:
    old_fields, new_fields = old.fields.get(name, []), new.fields.get(name, [])
    key = new.keys.get(name) or old.keys.get(name) or []
    old_rows, new_rows = old.rows.get(name, []), new.rows.get(name, [])
    result = ResourceDiff(name=name, key=key, rows_old=len(old_rows), rows_new=len(new_rows))
    if name in old.fields and name in new.fields:
        result.fields_added = [f for f in new_fields if f not in old_fields]
        result.fields_removed = [f for f in old_fields if f not in new_fields]
    if not key:
        warnings.append(f"{name}: no primary key, rows not compared")
        return result
    before = _index(old_rows, key, "OLD", name, warnings)
    after = _index(new_rows, key, "NEW", name, warnings)
    common = [f for f in new_fields if f in old_fields and f not in key]
    for k in sorted(after.keys() - before.keys()):
        result.added.append(after[k])
    for k in sorted(before.keys() - after.keys()):
        result.removed.append(before[k])
    for k in sorted(before.keys() & after.keys()):
        changes = [(f, before[k].get(f) or "", after[k].get(f) or "") for f in common
                   if (before[k].get(f) or "") != (after[k].get(f) or "")]
        if changes:
            result.changed.append(RowChange(key=dict(zip(key, k)), changes=changes))
    return result


def diff_versions(old: PackageVersion, new: PackageVersion) -> PackageDiff:
    warnings: list[str] = []
    resources = {name: diff_resource(name, old, new, warnings) for name in _ordered_names(old, new)}
    return PackageDiff(old=old, new=new, resources=resources, warnings=warnings)


def diff_packages(old_spec: str, new_spec: str, repo: Path = Path(".")) -> PackageDiff:
    """Read both versions (collecting the problems of both) and compare them."""
    problems: list[Problem] = []
    versions = []
    for spec in (old_spec, new_spec):
        try:
            versions.append(read_version(spec, repo))
        except ProblemsFound as found:
            problems += found.problems
    if problems:
        raise ProblemsFound(problems)
    return diff_versions(*versions)


# ---------------------------------------------------------------------------------------------
# Rendering


def _key_text(key: dict[str, str]) -> str:
    return "|".join(key.values())


def _summary(resource: str, row: dict[str, str], key: list[str]) -> str:
    wanted = SUMMARY_FIELDS.get(resource) or [f for f in row if f not in key][:3]
    return " ".join(row.get(f) or "·" for f in wanted)


def _counts(r: ResourceDiff) -> str:
    return f"{len(r.added)} added, {len(r.removed)} removed, {len(r.changed)} changed ({r.rows_old} → {r.rows_new} rows)"


def _describe(v: PackageVersion) -> str:
    return f"{v.ref} ({v.name or '?'} {v.version or '?'})" if v.version or v.name else v.ref


def render_text(diff: PackageDiff) -> str:
    lines = [f"--- {_describe(diff.old)}", f"+++ {_describe(diff.new)}"]
    for r in diff.resources.values():
        if r.identical:
            lines.append(f"{r.name}: no changes ({r.rows_new} rows)")
            continue
        lines.append(f"{r.name}: {_counts(r)}")
        for f in r.fields_added:
            lines.append(f"  + column {f}")
        for f in r.fields_removed:
            lines.append(f"  - column {f}")
        for row in r.added:
            lines.append(f"  + {'|'.join(row.get(k) or '' for k in r.key)}  {_summary(r.name, row, r.key)}")
        for row in r.removed:
            lines.append(f"  - {'|'.join(row.get(k) or '' for k in r.key)}  {_summary(r.name, row, r.key)}")
        for change in r.changed:
            parts = "; ".join(f"{f}: {old!r} → {new!r}" for f, old, new in change.changes)
            lines.append(f"  ~ {_key_text(change.key)}  {parts}")
    lines += [f"warning: {w}" for w in diff.warnings]
    return "\n".join(lines) + "\n"


def as_json(diff: PackageDiff) -> dict:
    def version(v: PackageVersion) -> dict:
        return {"ref": v.ref, "name": v.name, "version": v.version}

    return {
        "old": version(diff.old),
        "new": version(diff.new),
        "identical": diff.identical,
        "resources": {
            r.name: {
                "key": r.key,
                "rows_old": r.rows_old,
                "rows_new": r.rows_new,
                "fields_added": r.fields_added,
                "fields_removed": r.fields_removed,
                "added": r.added,
                "removed": r.removed,
                "changed": [{"key": c.key, "changes": [{"field": f, "old": o, "new": n} for f, o, n in c.changes]}
                            for c in r.changed],
            }
            for r in diff.resources.values()
        },
        "warnings": diff.warnings,
    }


def render_json(diff: PackageDiff) -> str:
    return json.dumps(as_json(diff), ensure_ascii=False, indent=2) + "\n"


_MD_SPECIAL = frozenset("\\`*[]<>!|~&")


def _md(value: str) -> str:
    """Text shown literally in markdown: every character that could open a link, an image, an HTML
    tag, code or emphasis is backslash-escaped (so `[x](javascript:…)` stays text), newlines become spaces."""
    text = (value or "").replace("\r", " ").replace("\n", " ")
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text)


def _md_code(value: str) -> str:
    """A field name as inline code, whatever backticks it holds."""
    text = (value or "").replace("\r", " ").replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(_md(h) for h in header) + " |", "|" + " --- |" * len(header)]
            + ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows])


def render_markdown(diff: PackageDiff, heading_level: int = 3) -> str:
    """Markdown for people and for CHANGELOG.md: a section per resource that changed."""
    h = "#" * heading_level
    lines: list[str] = []
    for r in diff.resources.values():
        title = _md(r.name.capitalize())
        if r.identical:
            lines += [f"{h} {title}", "", f"No changes ({r.rows_new} rows).", ""]
            continue
        lines += [f"{h} {title}", "", f"{_counts(r)}.", ""]
        if r.fields_added or r.fields_removed:
            lines += [f"- column added: {_md_code(f)}" for f in r.fields_added]
            lines += [f"- column removed: {_md_code(f)}" for f in r.fields_removed]
            lines.append("")
        columns = SUMMARY_FIELDS.get(r.name)
        for label, rows in (("Added", r.added), ("Removed", r.removed)):
            if not rows:
                continue
            shown = columns or [f for f in (diff.new.fields.get(r.name) or diff.old.fields.get(r.name, []))
                                if f not in r.key][:3]
            lines += [f"{label}:", ""]
            lines += _md_table(r.key + shown, [[row.get(f) or "" for f in r.key + shown] for row in rows])
            lines.append("")
        if r.changed:
            lines += ["Changed:", ""]
            lines += _md_table(["+".join(r.key), "field", "old", "new"],
                               [[_key_text(c.key), f, o, n] for c in r.changed for f, o, n in c.changes])
            lines.append("")
    lines += [f"> warning: {_md(w)}" for w in diff.warnings]
    return "\n".join(lines).rstrip("\n") + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
