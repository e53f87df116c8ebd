"""download: a released package from Zenodo, a URL or a local path, verified before it lands.

Nothing reaches the target folder until every check passed, in this order:

1. the transfer itself (pipeline.core.http): every byte counted against Content-Length, the
   size Zenodo lists and our cap, within one overall deadline; for a Zenodo record, the md5
   checksum and size that Zenodo lists for the file (pipeline.publish.records);
2. the archive (pipeline.publish.archive): a zip with one top folder, no unsafe entries, and
   only the files the bundle layout and its descriptor name, each at its declared size
   (bytes are counted again while unpacking);
3. `SHA256SUMS` inside the bundle: every file listed and matching, no file unlisted;
4. `datapackage.json`: every resource's sha256 and byte size; no schema or dialect fetched;
5. `ketamap validate` on the package (`pipeline.datapackage.validation.validate_package`): it
   reads only the staged files (a remote schema, dialect or profile was refused at step 4), and
   frictionless, which would fetch them, is not involved (tests/test_hostile_publish.py checks).

The work happens in a hidden staging folder beside the target (pipeline.publish.place), which
is then renamed into place, so the target is either absent, the old content, or the complete
new package, never half. Every failure is a `Problem`; its code's exit class (pipeline/core/catalogue.py)
says whether the input could not be reached or used (exit 2) or verification failed (exit 1).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import urljoin, urlsplit

from pipeline.core.http import Policy, Progress, Transport, url_allowed
from pipeline.core.problems import Problem, ProblemsFound, exit_code  # noqa: F401 (exit_code: for callers)
from pipeline.publish.archive import ZipLimits, extract_zip, inspect_zip
from pipeline.publish.contents import (
    DESCRIPTOR,
    check_checksums,
    check_resources,
    foreign_files,
    package_identity,
    read_descriptor,
    references,
    resource_files,
    unsafe_reason,
)
from pipeline.publish.getter import Getter
from pipeline.publish.place import existing_ancestor, place, staging, write_marker
from pipeline.publish.records import norm_version, release_file, zenodo_record, zenodo_source

API_ENV = "KETAMAP_ZENODO_API"
DEADLINE_ENV = "KETAMAP_DOWNLOAD_DEADLINE"

@dataclass(frozen=True)
class Limits:
    """What a download may cost. Sizes of the package's own files follow what the bundle declares
    (a zip bomb is what exceeds its declaration); the rest is bounded here."""

    max_download_bytes: int = 64 * 1024 ** 3  # a zip URL declares nothing before it is fetched
    max_entries: int = 10_000
    max_ratio: float = 100.0          # uncompressed / compressed, for undeclared entries above ratio_floor
    ratio_floor: int = 1024 * 1024
    max_json_bytes: int = 16 * 1024 * 1024
    max_other_bytes: int = 1024 * 1024 * 1024
    retries: int = 4                  # after the first attempt, for 5xx, 429, timeouts, cut transfers
    backoff: float = 0.5              # seconds, doubled each retry
    max_backoff: float = 8.0
    max_retry_after: float = 60.0     # a server asking for a longer wait is given up on
    timeout: tuple[float, float] = (10.0, 60.0)  # connect, read (per socket read)
    max_redirects: int = 10
    deadline: float | None = 6 * 3600.0  # seconds for one transfer, retries included

    def policy(self) -> Policy:
        return Policy(self.timeout, self.retries, self.backoff, self.max_backoff, self.max_retry_after,
                      self.max_redirects, self.deadline)

    def zip(self) -> ZipLimits:
        return ZipLimits(self.max_entries, self.max_ratio, self.ratio_floor, self.max_json_bytes,
                         self.max_other_bytes)


@dataclass
class Downloaded:
    """What landed where, and what was checked on the way."""

    path: Path
    name: str
    version: str
    status: str  # "new", "identical" (already there, nothing changed) or "replaced"
    checks: list[str] = field(default_factory=list)


def refuse(code: str, message: str, **where) -> ProblemsFound:
    return ProblemsFound([Problem(code, message, **where)])


# ---------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True)
class Source:
    kind: str  # "zenodo", "zip-url", "descriptor-url", "zip-file", "descriptor-file"
    location: str
    api: str | None = None


def classify(source: str, api: str | None = None) -> Source:
    """What SOURCE is: a Zenodo DOI or record, a URL of a zip or a datapackage.json, or a local path."""
    text = source.strip()
    record = zenodo_source(text, api)
    if record:
        return Source("zenodo", record[0], record[1])
    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.I):
        if not url_allowed(text):
            raise refuse("insecure-url", "only https:// URLs are accepted (http:// only for this machine)",
                         file=text, suggestion="use the https:// address")
        name = PurePosixPath(urlsplit(text).path).name
        return Source("descriptor-url" if name.endswith(".json") else "zip-url", text)
    path = Path(text)
    if path.is_dir():
        for candidate in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
            if (candidate / DESCRIPTOR).is_file():
                return Source("descriptor-file", str(candidate / DESCRIPTOR))
        raise refuse("unreadable-package", f"the folder holds no {DESCRIPTOR}", file=text)
    if path.is_file():
        return Source("descriptor-file" if path.suffix == ".json" else "zip-file", str(path))
    raise refuse("usage", "not a Zenodo DOI or record, an https URL, or an existing file or folder", value=text,
                 suggestion="e.g. 10.5281/zenodo.1234567, https://zenodo.org/records/1234567, "
                            "https://…/ketamap-0.1.0.zip, or ./ketamap-0.1.0.zip")


# ---------------------------------------------------------------------------------------------
# Gathering a package into the staging folder


def gather_zip(zip_path: Path, staged: Path, limits: Limits, checks: list[str], progress: Progress | None = None) -> None:
    top, files = inspect_zip(zip_path, limits.zip())
    extract_zip(zip_path, top, files, staged, progress)
    checks.append(f"archive: {len(files)} files under {top}/, no unsafe or undeclared entries")
    problems, count = check_checksums(staged)
    if problems:
        raise ProblemsFound(problems)
    checks.append(f"SHA256SUMS: {count} files match")
    descriptor = read_descriptor(staged / DESCRIPTOR)
    name, version = package_identity(descriptor)
    if top != f"{name}-{version}":
        raise refuse("bundle-layout", f"the top folder should be {name}-{version}/ as {DESCRIPTOR} says",
                     file=zip_path.name, value=top)


def gather_descriptor(get: Callable[[str, Path, int | None], None], staged: Path, checks: list[str]) -> None:
    """A package from a datapackage.json and the files it names; `get(relative, dest, bytes)` fetches one."""
    get(DESCRIPTOR, staged / DESCRIPTOR, None)
    descriptor = read_descriptor(staged / DESCRIPTOR)
    entries, problems = resource_files(descriptor)
    if problems:
        raise ProblemsFound(problems)
    for relative, _, size in entries:
        target = staged.joinpath(*relative.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        get(relative, target, size)
    for ref in references(descriptor):  # a Table Schema or dialect given as a file of the package
        target = staged.joinpath(*ref.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            get(ref, target, None)
    checks.append(f"fetched {DESCRIPTOR} and {len(entries)} resource files")


def _validate(validator: Callable[[Path], list[Problem]], staged: Path, progress: Progress | None) -> list[Problem]:
    if progress:
        progress("validating the package", None, 0)
    try:
        return [p for p in validator(staged / DESCRIPTOR) if p.severity == "error"]
    except ProblemsFound as found:
        return found.problems
    except Exception as error:  # a validator that breaks must not let the package through
        return [Problem("validation-failed", f"the validator failed: {type(error).__name__}: {error}", file=DESCRIPTOR)]


def verify_staged(staged: Path, validator: Callable[[Path], list[Problem]], checks: list[str],
                  version: str | None, progress: Progress | None = None) -> tuple[str, str]:
    descriptor = read_descriptor(staged / DESCRIPTOR)
    name, found = package_identity(descriptor)
    problems, count = foreign_files(staged, descriptor), 0
    if not problems:
        problems, count = check_resources(staged, descriptor)
    if problems:
        raise ProblemsFound(problems)
    checks.append(f"{DESCRIPTOR}: sha256 and byte size of {count} resources match")
    if version and norm_version(version) != norm_version(found):
        raise refuse("version-mismatch", f"asked for version {version}, the package is version {found}",
                     file=DESCRIPTOR, value=found)
    problems = _validate(validator, staged, progress)
    if problems:
        raise ProblemsFound([Problem(p.code, p.message, file=_relative_to(p.file, staged), line=p.line,
                                     column=p.column, value=p.value, suggestion=p.suggestion) for p in problems])
    checks.append("ketamap validate: no problems")
    return name, found


def _relative_to(file: str | None, root: Path) -> str | None:
    if not file:
        return file
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file


# ---------------------------------------------------------------------------------------------
# One gatherer per kind of source


def _from_zenodo(where: Source, getter: Getter, work: Path, staged: Path, limits: Limits, checks: list[str],
                 version: str | None, progress: Progress | None) -> None:
    record = zenodo_record(getter.get_json, where.api, where.location, version)
    release = release_file(record, where.api)
    archive = work / "release.zip"
    fetched = getter.fetch(release["url"], archive, expected_size=release["size"], label=release["key"])
    problems = []
    if release["size"] is not None and fetched.size != release["size"]:
        problems.append(Problem("size-mismatch", f"size differs from the Zenodo record: expected "
                                f"{release['size']}, got {fetched.size}", file=release["key"]))
    if fetched.md5 != release["md5"]:
        problems.append(Problem("checksum-mismatch", f"md5 differs from the Zenodo record: expected "
                                f"{release['md5']}, got {fetched.md5}", file=release["key"], value=fetched.md5))
    if problems:
        raise ProblemsFound(problems)
    checks.append(f"Zenodo record {record.get('id')}: md5 and size of {release['key']} match")
    gather_zip(archive, staged, limits, checks, progress)


def _from_zip_url(where: Source, getter: Getter, work: Path, staged: Path, limits: Limits, checks: list[str],
                  progress: Progress | None) -> None:
    archive = work / "release.zip"
    fetched = getter.fetch(where.location, archive)
    checks.append(f"downloaded {fetched.size} bytes, sha256 {fetched.sha256}")
    gather_zip(archive, staged, limits, checks, progress)


def _local_getter(base: Path) -> Callable[[str, Path, int | None], None]:
    def get(relative: str, dest: Path, size: int | None) -> None:
        source_file = base.joinpath(*relative.split("/"))
        if source_file.is_symlink() or not source_file.is_file():
            raise refuse("missing-file", "the package lists a file that is missing (or a symlink)", file=relative)
        shutil.copyfile(source_file, dest)
        os.chmod(dest, 0o644)

    return get


def _gather(where: Source, getter: Getter | None, work: Path, staged: Path, limits: Limits, checks: list[str],
            version: str | None, progress: Progress | None) -> None:
    if where.kind == "zenodo":
        _from_zenodo(where, getter, work, staged, limits, checks, version, progress)
    elif where.kind == "zip-url":
        _from_zip_url(where, getter, work, staged, limits, checks, progress)
    elif where.kind == "zip-file":
        gather_zip(Path(where.location), staged, limits, checks, progress)
    elif where.kind == "descriptor-url":
        def get(relative: str, dest: Path, size: int | None) -> None:
            if unsafe_reason(relative):
                raise refuse("unsafe-path", "the package names an unsafe path", value=relative)
            getter.fetch(urljoin(where.location, relative), dest, expected_size=size)

        gather_descriptor(get, staged, checks)
    else:
        gather_descriptor(_local_getter(Path(where.location).parent), staged, checks)


def deadline_from_environment(limits: Limits, environ=os.environ) -> Limits:
    value = (environ.get(DEADLINE_ENV) or "").strip()
    if not value:
        return limits
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise refuse("usage", f"{DEADLINE_ENV} must be a positive number of seconds", value=value)
    from dataclasses import replace

    return replace(limits, deadline=seconds)


def download(source: str, to: Path | None = None, version: str | None = None, *, api: str | None = None,
             replace: bool = False, validator: Callable[[Path], list[Problem]] | None = None,
             limits: Limits = Limits(), sleep: Callable[[float], None] | None = None,
             progress: Progress | None = None, cwd: Path | None = None, session=None) -> Downloaded:
    """Fetch, verify and place a release; raises ProblemsFound (see `exit_code`) and changes nothing on failure."""
    if validator is None:
        from pipeline.datapackage.validation import validate_package as validator
    cwd = Path(cwd or Path.cwd())
    where = classify(source, api or os.environ.get(API_ENV) or None)
    target_hint = (cwd / to) if to is not None else cwd / "placeholder"
    with staging(existing_ancestor(target_hint)) as work:
        staged = work / "package"
        staged.mkdir()
        checks: list[str] = []
        getter = None
        if where.kind in ("zenodo", "zip-url", "descriptor-url"):
            getter = Getter(Transport(limits.policy(), sleep=sleep, session=session,
                                      headers={"Accept-Encoding": "identity", "User-Agent": "ketamap-download"}),
                            limits.max_download_bytes, limits.max_json_bytes, progress)
        _gather(where, getter, work, staged, limits, checks, version, progress)
        name, found = verify_staged(staged, validator, checks, version, progress)
        write_marker(staged, name, found)
        os.chmod(staged, 0o755)
        target = (cwd / to) if to is not None else cwd / f"{name}-{found}"
        status = place(staged, target, replace, cwd)
        return Downloaded(target, name, found, status, checks)
