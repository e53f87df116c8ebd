"""download: a released package from Zenodo, a URL or a local path, verified before it lands.

Nothing reaches the target folder until every check passed, in this order:

1. the transfer itself: every byte counted against Content-Length and our size cap, and, for a
   Zenodo record, the md5 checksum and size that Zenodo lists for the file;
2. the archive: a zip with one top folder, no absolute or `..` paths, no backslashes or drive
   letters, no symlinks or special files, no duplicate names, and an uncompressed size and
   compression ratio that are not absurd (bytes are counted again while extracting);
3. `SHA256SUMS` inside the bundle: every file listed and matching, no file unlisted;
4. `datapackage.json`: every resource's sha256 and byte size;
5. `ketamap validate` on the package (`pipeline.validate.validate_package`).

The work happens in a hidden temporary folder beside the target (same filesystem), which is
then renamed into place, so the target is either absent, the old content, or the complete new
package, never half. Every failure is a `Problem`; its code's exit class (pipeline/core/catalogue.py)
says whether the input could not be reached or used (exit 2) or verification failed (exit 1).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import urljoin, urlsplit

from pipeline.core.problems import Problem, ProblemsFound

ZENODO_API = "https://zenodo.org/api"
ZENODO_SANDBOX_API = "https://sandbox.zenodo.org/api"
API_ENV = "KETAMAP_ZENODO_API"
DESCRIPTOR = "datapackage.json"
CHECKSUMS = "SHA256SUMS"

_DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?10\.(5281|5072)/zenodo\.(\d+)/?$", re.I)
_RECORD_URL = re.compile(r"^https?://(sandbox\.)?zenodo\.org/(?:api/)?records?/(\d+)(?:[/?#].*)?$", re.I)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    """What a sane release of this dataset can be; anything beyond is refused, not trusted."""

    max_download_bytes: int = 256 * 1024 * 1024
    max_unpacked_bytes: int = 256 * 1024 * 1024
    max_entries: int = 10_000
    max_ratio: float = 100.0          # uncompressed / compressed, for entries above ratio_floor
    ratio_floor: int = 1024 * 1024    # small files may compress very well; that is harmless
    max_json_bytes: int = 16 * 1024 * 1024
    retries: int = 4                  # after the first attempt, for 5xx, 429, timeouts, cut transfers
    backoff: float = 0.5              # seconds, doubled each retry
    max_backoff: float = 8.0
    timeout: tuple[float, float] = (10.0, 60.0)  # connect, read (per chunk)
    max_redirects: int = 10


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
# Transport: https only (plain http for loopback, so tests run on 127.0.0.1), every byte counted


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_allowed(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


@dataclass
class Fetched:
    size: int
    md5: str
    sha256: str
    data: bytes | None = None  # only for small in-memory fetches


class Transport:
    """GET with safe redirects, bounded retries with exponential backoff, and counted bytes."""

    def __init__(self, limits: Limits, sleep: Callable[[float], None] | None = None,
                 progress: bool = False, session=None):
        import requests

        self.limits = limits
        self.sleep = sleep or time.sleep
        self.progress = progress
        self.session = session or requests.Session()
        self.session.headers.update({"Accept-Encoding": "identity", "User-Agent": "ketamap-download"})

    def get_json(self, url: str, params: dict | None = None, missing_ok: bool = False) -> dict | None:
        fetched = self.fetch(url, None, params=params, max_bytes=self.limits.max_json_bytes,
                             missing_ok=missing_ok, accept="application/json")
        if fetched is None:
            return None
        try:
            return json.loads(fetched.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise refuse("unreadable-file", f"the answer is not JSON: {error}", file=url)

    def fetch(self, url: str, dest: Path | None, *, params: dict | None = None, max_bytes: int | None = None,
              expected_size: int | None = None, missing_ok: bool = False, accept: str | None = None,
              label: str | None = None) -> Fetched | None:
        """The body of `url` into `dest` (or memory); None for a 404 when `missing_ok`."""
        import requests

        if params:
            url = requests.Request("GET", url, params=params).prepare().url
        if not url_allowed(url):
            raise refuse("insecure-url", "only https:// URLs are accepted (http:// only for this machine)",
                         file=url, suggestion="use the https:// address")
        max_bytes = max_bytes or self.limits.max_download_bytes
        last: Problem | None = None
        for attempt in range(self.limits.retries + 1):
            if attempt:
                self.sleep(self._delay(attempt, last))
            outcome = self._attempt(url, dest, max_bytes, expected_size, missing_ok, accept, label)
            if isinstance(outcome, Problem):
                last = outcome
                continue
            return outcome
        assert last is not None
        raise ProblemsFound([Problem(last.code, f"{last.message} (gave up after {self.limits.retries + 1} attempts)",
                                     file=last.file, value=last.value, suggestion=last.suggestion)])

    def _delay(self, attempt: int, last: Problem | None) -> float:
        delay = min(self.limits.backoff * 2 ** (attempt - 1), self.limits.max_backoff)
        if last is not None and last.value and last.value.startswith("retry-after:"):
            try:
                delay = max(delay, min(float(last.value.split(":", 1)[1]), self.limits.max_backoff))
            except ValueError:
                pass
        return delay

    def _open(self, url: str, accept: str | None):
        """The final response after following redirects, each hop checked; raises on refusal."""
        headers = {"Accept": accept} if accept else {}
        for _ in range(self.limits.max_redirects + 1):
            response = self.session.get(url, stream=True, allow_redirects=False,
                                        timeout=self.limits.timeout, headers=headers)
            if response.status_code not in _REDIRECTS:
                return url, response
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise refuse("http-error", f"redirect {response.status_code} without a Location", file=url)
            target = urljoin(url, location)
            if not url_allowed(target):
                raise refuse("insecure-redirect", "refused a redirect away from https", file=url, value=target,
                             suggestion="the server sent us to an insecure address; do not trust this download")
            url = target
        raise refuse("http-error", f"more than {self.limits.max_redirects} redirects", file=url)

    def _attempt(self, url, dest, max_bytes, expected_size, missing_ok, accept, label) -> Fetched | Problem | None:
        import requests
        import urllib3

        try:
            final_url, response = self._open(url, accept)
        except requests.Timeout:
            return Problem("unreachable", "the server did not answer in time", file=url)
        except requests.RequestException as error:
            return Problem("unreachable", f"cannot connect: {type(error).__name__}", file=url)
        with response:
            status = response.status_code
            if status == 429 or status >= 500:
                retry_after = response.headers.get("Retry-After")
                return Problem("http-error", f"the server answered HTTP {status}", file=final_url,
                               value=f"retry-after:{retry_after}" if retry_after else None)
            if status == 404 and missing_ok:
                return None
            if status == 404:
                raise ProblemsFound([Problem("not-found", "the server answered HTTP 404 (not found)", file=final_url,
                                             suggestion="check the address, DOI or record number")])
            if status >= 400:
                raise ProblemsFound([Problem("http-error", f"the server answered HTTP {status}", file=final_url)])
            if status != 200:
                raise ProblemsFound([Problem("http-error", f"unexpected HTTP {status}", file=final_url)])
            encoding = response.headers.get("Content-Encoding", "identity").lower()
            declared = response.headers.get("Content-Length")
            declared = int(declared) if declared and declared.isascii() and declared.isdigit() and encoding == "identity" else None
            for limit, what in ((max_bytes, "the size cap"), (expected_size, "the size the record lists")):
                if declared is not None and limit is not None and declared > limit:
                    raise ProblemsFound([Problem("size-mismatch", f"the server announces {declared} bytes, more than "
                                                 f"{what} ({limit})", file=final_url, value=str(declared))])
            md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
            sink = open(dest, "wb") if dest is not None else None
            buffer = bytearray()
            try:
                with self._bar(label or PurePosixPath(urlsplit(final_url).path).name, declared) as advance:
                    for chunk in response.iter_content(_CHUNK):
                        size += len(chunk)
                        if size > max_bytes or (expected_size is not None and size > expected_size):
                            raise ProblemsFound([Problem("size-mismatch", "the transfer is larger than expected; stopped",
                                                         file=final_url, value=f"more than {size - len(chunk)} bytes")])
                        md5.update(chunk)
                        sha256.update(chunk)
                        if sink is not None:
                            sink.write(chunk)
                        else:
                            buffer += chunk
                        advance(len(chunk))
            except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
                return Problem("truncated-transfer", f"the transfer broke off after {size} bytes"
                               + (f" of {declared}" if declared is not None else "") + f" ({type(error).__name__})",
                               file=final_url)
            finally:
                if sink is not None:
                    sink.close()
            if declared is not None and size != declared:
                return Problem("truncated-transfer", f"received {size} bytes, the server announced {declared}",
                               file=final_url)
            return Fetched(size, md5.hexdigest(), sha256.hexdigest(), bytes(buffer) if dest is None else None)

    def _bar(self, label: str, total: int | None):
        from contextlib import contextmanager

        @contextmanager
        def bar():
            if not self.progress:
                yield lambda n: None
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                          TimeRemainingColumn(), console=Console(stderr=True), transient=True) as progress:
                task = progress.add_task(label, total=total)
                yield lambda n: progress.advance(task, n)

        return bar()


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
    doi = _DOI.match(text)
    if doi:
        default = ZENODO_SANDBOX_API if doi.group(1) == "5072" else ZENODO_API
        return Source("zenodo", doi.group(2), (api or default).rstrip("/"))
    record = _RECORD_URL.match(text)
    if record:
        default = ZENODO_SANDBOX_API if record.group(1) else ZENODO_API
        return Source("zenodo", record.group(2), (api or default).rstrip("/"))
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


def _norm_version(version: str | None) -> str:
    return (version or "").strip().lstrip("vV")


def record_files(record: dict) -> list[dict]:
    files = record.get("files") or []
    if isinstance(files, dict):  # InvenioRDM shape: {"entries": {key: {...}}}
        files = list((files.get("entries") or {}).values())
    return [f for f in files if isinstance(f, dict)]


def zenodo_record(transport: Transport, api: str, record_id: str, version: str | None) -> dict:
    """The record a DOI names: a version DOI is that version, a concept DOI the latest one;
    with `version`, the record of the same concept whose metadata.version is that version."""
    record = transport.get_json(f"{api}/records/{record_id}", missing_ok=True)
    if record is None:  # a concept record id is not a record; Zenodo serves its latest version here
        record = transport.get_json(f"{api}/records/{record_id}/versions/latest", missing_ok=True)
    if record is None:
        raise refuse("not-found", f"Zenodo has no record {record_id}", file=f"{api}/records/{record_id}",
                     suggestion="check the DOI or record number")
    if not version or _norm_version(record.get("metadata", {}).get("version")) == _norm_version(version):
        return record
    url = (record.get("links") or {}).get("versions") or f"{api}/records/{record.get('id', record_id)}/versions"
    seen: list[str] = []
    params: dict | None = {"size": 100}
    for _ in range(20):
        page = transport.get_json(url, params=params) or {}
        for hit in (page.get("hits") or {}).get("hits") or []:
            found = str((hit.get("metadata") or {}).get("version"))
            seen.append(found)
            if _norm_version(found) == _norm_version(version):
                return transport.get_json(f"{api}/records/{hit['id']}")
        url, params = (page.get("links") or {}).get("next"), None
        if not url:
            break
    raise refuse("version-not-found", f"the record has no version {version!r}", file=f"{api}/records/{record_id}",
                 value=version, suggestion="versions found: " + (", ".join(sorted(set(seen))) or "none"))


def release_file(record: dict, api: str) -> dict:
    """The release zip of a record: its key, download URL, size and md5."""
    zips = [f for f in record_files(record) if str(f.get("key", "")).lower().endswith(".zip")]
    record_id = record.get("id")
    if len(zips) != 1:
        keys = ", ".join(str(f.get("key")) for f in record_files(record)) or "none"
        raise refuse("no-release-file", f"expected exactly one .zip in Zenodo record {record_id}, found {len(zips)}",
                     value=keys)
    entry = zips[0]
    links = entry.get("links") or {}
    url = links.get("content") or links.get("self") or f"{api}/records/{record_id}/files/{entry['key']}/content"
    checksum = str(entry.get("checksum") or "")
    algorithm, _, digest = checksum.partition(":")
    if algorithm.lower() != "md5" or not re.fullmatch(r"[0-9a-fA-F]{32}", digest):
        raise refuse("missing-checksum", "Zenodo lists no md5 checksum for the release file", file=entry["key"],
                     value=checksum or None)
    size = entry.get("size", entry.get("filesize"))
    return {"key": entry["key"], "url": urljoin(api + "/", url), "md5": digest.lower(),
            "size": int(size) if isinstance(size, int) or str(size).isdigit() else None}


# ---------------------------------------------------------------------------------------------
# The archive


def unsafe_reason(name: str) -> str | None:
    """Why a relative path from an archive or a descriptor must not be written, or None."""
    if not name or "\x00" in name or any(ord(c) < 32 for c in name):
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


def inspect_zip(path: Path, limits: Limits) -> tuple[str, list[zipfile.ZipInfo]]:
    """The single top folder and the file entries, or every reason the archive is refused."""
    label = path.name
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK" or not zipfile.is_zipfile(path):
        raise refuse("not-a-zip", "the file is not a zip archive", file=label,
                     value=repr(magic) if magic else "empty file")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
        raise refuse("not-a-zip", f"the zip cannot be read: {error}", file=label)
    problems: list[Problem] = []
    if len(infos) > limits.max_entries:
        raise refuse("zip-bomb", f"the archive has {len(infos)} entries, more than {limits.max_entries}", file=label)
    seen: dict[str, str] = {}
    tops: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    total = 0
    for info in infos:
        name = info.orig_filename if hasattr(info, "orig_filename") else info.filename
        reason = unsafe_reason(name)
        if reason:
            problems.append(Problem("unsafe-path", f"archive entry {reason}", file=label, value=name))
            continue
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if stat.S_ISLNK(mode):
            problems.append(Problem("symlink-entry", "archive entry is a symbolic link", file=label, value=name))
            continue
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            problems.append(Problem("special-entry", "archive entry is not a regular file", file=label, value=name))
            continue
        if info.flag_bits & 0x1:
            problems.append(Problem("encrypted-entry", "archive entry is encrypted", file=label, value=name))
            continue
        folded = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
        if folded in seen:
            problems.append(Problem("duplicate-entry", "two archive entries have the same name"
                                    + ("" if seen[folded] == name else f" (differing only in case: {seen[folded]})"),
                                    file=label, value=name))
            continue
        seen[folded] = name
        tops.add(name.split("/", 1)[0])
        if info.is_dir() or kind == stat.S_IFDIR:
            continue
        if "/" not in name:
            problems.append(Problem("bundle-layout", "file outside the top folder", file=label, value=name))
            continue
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            problems.append(Problem("zip-bomb", f"archive entry expands {ratio:.0f}-fold "
                                    f"({info.compress_size} → {info.file_size} bytes), more than {limits.max_ratio:.0f}",
                                    file=label, value=name))
        files.append(info)
    if total > limits.max_unpacked_bytes:
        problems.append(Problem("zip-bomb", f"the archive unpacks to {total} bytes, more than the cap "
                                f"of {limits.max_unpacked_bytes}", file=label))
    if len(tops) > 1:
        problems.append(Problem("bundle-layout", "a release zip holds one top folder; this one has several",
                                file=label, value=", ".join(sorted(tops))))
    if not files and not problems:
        problems.append(Problem("bundle-layout", "the archive holds no files", file=label))
    if problems:
        raise ProblemsFound(problems)
    return tops.pop(), files


def extract_zip(path: Path, top: str, files: list[zipfile.ZipInfo], dest: Path, limits: Limits) -> None:
    """The entries under `top` into `dest`, counting bytes again (declared sizes can lie)."""
    label = path.name
    written = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in files:
                relative = info.filename.split("/", 1)[1]
                target = dest.joinpath(*relative.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                entry = 0
                with archive.open(info) as source, open(target, "xb") as sink:
                    for block in iter(lambda: source.read(_CHUNK), b""):
                        entry += len(block)
                        written += len(block)
                        if entry > info.file_size or written > limits.max_unpacked_bytes:
                            raise refuse("zip-bomb", "archive entry unpacks to more bytes than declared or allowed; "
                                         "stopped", file=label, value=info.filename)
                        sink.write(block)
                os.chmod(target, 0o644)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
            zlib.error) as error:
        raise refuse("corrupt-zip", f"the archive is damaged: {error}", file=label)


# ---------------------------------------------------------------------------------------------
# What is inside


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


def read_descriptor(path: Path) -> dict:
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise refuse("bad-descriptor", f"{DESCRIPTOR} cannot be read: {error}", file=DESCRIPTOR)
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise refuse("bad-descriptor", f"{DESCRIPTOR} has no list of resources", file=DESCRIPTOR)
    return descriptor


def resource_files(descriptor: dict) -> tuple[list[tuple[str, str | None, int | None]], list[Problem]]:
    """(path, hash, bytes) of every resource file, each path checked as safe to write."""
    entries, problems = [], []
    for index, resource in enumerate(descriptor["resources"]):
        if not isinstance(resource, dict):
            problems.append(Problem("bad-descriptor", f"resource {index} is not an object", file=DESCRIPTOR))
            continue
        name = resource.get("name", str(index))
        path = resource.get("path")
        if not isinstance(path, str):  # inline data or multipart paths: not what a release holds
            problems.append(Problem("bad-descriptor", f"resource '{name}' has no single path", file=DESCRIPTOR,
                                    value=json.dumps(path)))
            continue
        reason = unsafe_reason(path) if "://" not in path else "is a URL, not a file in the package"
        if reason:
            problems.append(Problem("unsafe-path", f"resource '{name}' path {reason}", file=DESCRIPTOR, value=path))
            continue
        size = resource.get("bytes")
        entries.append((path, resource.get("hash"), size if isinstance(size, int) else None))
    return entries, problems


def check_resources(root: Path, descriptor: dict) -> tuple[list[Problem], int]:
    """Every resource's sha256 (or md5, for a hash without prefix) and byte size."""
    entries, problems = resource_files(descriptor)
    for path, expected_hash, expected_bytes in entries:
        target = root / path
        if not target.is_file():
            problems.append(Problem("missing-file", f"{DESCRIPTOR} lists a resource file the package lacks", file=path))
            continue
        if not expected_hash:
            problems.append(Problem("missing-checksum", f"{DESCRIPTOR} gives no hash for this file", file=path))
        else:
            algorithm, _, digest = expected_hash.rpartition(":")
            algorithm = (algorithm or "md5").lower()
            if algorithm not in ("md5", "sha256"):
                problems.append(Problem("missing-checksum", f"unsupported hash algorithm {algorithm}", file=path))
            else:
                hasher = hashlib.new(algorithm)
                with open(target, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        hasher.update(block)
                if hasher.hexdigest() != digest.lower():
                    problems.append(Problem("checksum-mismatch", f"{algorithm} differs from {DESCRIPTOR}: expected "
                                            f"{digest.lower()}, got {hasher.hexdigest()}", file=path,
                                            value=hasher.hexdigest()))
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


# ---------------------------------------------------------------------------------------------
# Gathering a package into the staging folder


def gather_zip(zip_path: Path, staged: Path, limits: Limits, checks: list[str]) -> None:
    top, files = inspect_zip(zip_path, limits)
    extract_zip(zip_path, top, files, staged, limits)
    checks.append(f"archive: {len(files)} files under {top}/, no unsafe entries")
    problems, count = check_checksums(staged)
    if problems:
        raise ProblemsFound(problems)
    checks.append(f"{CHECKSUMS}: {count} files match")
    descriptor = read_descriptor(staged / DESCRIPTOR)
    name, version = package_identity(descriptor)
    if top != f"{name}-{version}":
        raise refuse("bundle-layout", f"the top folder should be {name}-{version}/ as {DESCRIPTOR} says",
                     file=zip_path.name, value=top)


def gather_descriptor(get: Callable[[str, Path, int | None], None], staged: Path, checks: list[str]) -> None:
    """A package from a datapackage.json and the files beside it; `get(relative, dest, bytes)` fetches one."""
    get(DESCRIPTOR, staged / DESCRIPTOR, None)
    descriptor = read_descriptor(staged / DESCRIPTOR)
    entries, problems = resource_files(descriptor)
    if problems:
        raise ProblemsFound(problems)
    for relative, _, size in entries:
        target = staged.joinpath(*relative.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        get(relative, target, size)
    for resource in descriptor["resources"]:  # a Table Schema or dialect given as a relative file
        for key in ("schema", "dialect"):
            ref = resource.get(key)
            if isinstance(ref, str) and "://" not in ref and not unsafe_reason(ref):
                target = staged.joinpath(*ref.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    get(ref, target, None)
    checks.append(f"fetched {DESCRIPTOR} and {len(entries)} resource files")


def verify_staged(staged: Path, validator: Callable[[Path], list[Problem]], checks: list[str],
                  version: str | None) -> tuple[str, str]:
    descriptor = read_descriptor(staged / DESCRIPTOR)
    name, found = package_identity(descriptor)
    problems, count = check_resources(staged, descriptor)
    if problems:
        raise ProblemsFound(problems)
    checks.append(f"{DESCRIPTOR}: sha256 and byte size of {count} resources match")
    if version and _norm_version(version) != _norm_version(found):
        raise refuse("version-mismatch", f"asked for version {version}, the package is version {found}",
                     file=DESCRIPTOR, value=found)
    try:
        problems = [p for p in validator(staged / DESCRIPTOR) if p.severity == "error"]
    except Exception as error:  # a validator that breaks must not let the package through
        problems = [Problem("validation-failed", f"the validator failed: {error}", file=DESCRIPTOR)]
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
# Placing it


def same_tree(a: Path, b: Path) -> bool:
    def files(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() or p.is_symlink()}

    left, right = files(a), files(b)
    if left.keys() != right.keys():
        return False
    import filecmp

    return all(not right[k].is_symlink() and filecmp.cmp(left[k], right[k], shallow=False) for k in left)


def place(staged: Path, target: Path, replace: bool) -> str:
    """Rename the verified package into `target`; the old content, if any, stays until then."""
    if not target.exists() and not target.is_symlink():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, target)
        return "new"
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        os.rename(staged, target)  # rename(2) replaces an empty folder in one step
        return "new"
    if target.is_dir() and same_tree(staged, target):
        return "identical"
    if not replace:
        raise refuse("target-exists", "the target folder exists and holds something else; nothing was changed",
                     file=str(target), suggestion="choose another --to, remove the folder, or pass --replace")
    backup = target.with_name(f".{target.name}.replaced-{os.getpid()}")
    os.rename(target, backup)
    try:
        os.rename(staged, target)
    except OSError:
        os.rename(backup, target)
        raise
    if backup.is_dir() and not backup.is_symlink():
        shutil.rmtree(backup, ignore_errors=True)
    else:
        backup.unlink()
    return "replaced"


def _existing_ancestor(path: Path) -> Path:
    # A folder that does not exist yet cannot be a mount point, so the nearest existing ancestor
    # is on the same filesystem as the final target and a rename from there is atomic.
    path = path.absolute()
    for candidate in [path.parent, *path.parent.parents]:
        if candidate.is_dir():
            return candidate
    return Path.cwd()


# ---------------------------------------------------------------------------------------------
# The whole thing


def download(source: str, to: Path | None = None, version: str | None = None, *, api: str | None = None,
             replace: bool = False, validator: Callable[[Path], list[Problem]] | None = None,
             limits: Limits = Limits(), sleep: Callable[[float], None] | None = None, progress: bool = False,
             cwd: Path | None = None, session=None) -> Downloaded:
    """Fetch, verify and place a release; raises ProblemsFound (see `exit_code`) and changes nothing on failure."""
    if validator is None:
        from pipeline.datapackage.validation import validate_package as validator
    cwd = Path(cwd or Path.cwd())
    api = api or os.environ.get(API_ENV) or None
    where = classify(source, api)
    target_hint = (cwd / to) if to is not None else cwd / "placeholder"
    work = Path(tempfile.mkdtemp(prefix=".ketamap-download-", dir=_existing_ancestor(target_hint)))
    try:
        staged = work / "package"
        staged.mkdir()
        checks: list[str] = []
        transport = Transport(limits, sleep, progress, session) if where.kind in (
            "zenodo", "zip-url", "descriptor-url") else None
        if where.kind == "zenodo":
            record = zenodo_record(transport, where.api, where.location, version)
            release = release_file(record, where.api)
            archive = work / "release.zip"
            fetched = transport.fetch(release["url"], archive, expected_size=release["size"], label=release["key"])
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
            gather_zip(archive, staged, limits, checks)
        elif where.kind == "zip-url":
            archive = work / "release.zip"
            fetched = transport.fetch(where.location, archive)
            checks.append(f"downloaded {fetched.size} bytes, sha256 {fetched.sha256}")
            gather_zip(archive, staged, limits, checks)
        elif where.kind == "zip-file":
            gather_zip(Path(where.location), staged, limits, checks)
        elif where.kind == "descriptor-url":
            def get(relative: str, dest: Path, size: int | None) -> None:
                transport.fetch(urljoin(where.location, relative), dest, expected_size=size)

            gather_descriptor(get, staged, checks)
        else:
            base = Path(where.location).parent

            def get(relative: str, dest: Path, size: int | None) -> None:
                source_file = base.joinpath(*relative.split("/"))
                if source_file.is_symlink() or not source_file.is_file():
                    raise refuse("missing-file", "the package lists a file that is missing (or a symlink)",
                                 file=relative)
                shutil.copyfile(source_file, dest)
                os.chmod(dest, 0o644)

            gather_descriptor(get, staged, checks)
        name, found = verify_staged(staged, validator, checks, version)
        os.chmod(staged, 0o755)
        target = (cwd / to) if to is not None else cwd / f"{name}-{found}"
        status = place(staged, target, replace)
        return Downloaded(target, name, found, status, checks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
