"""Zenodo records (the public records API, no token): which record a DOI names, which version,
and the release zip's download URL, size and md5 as Zenodo lists them."""

from __future__ import annotations

import re
from typing import Callable
from urllib.parse import urljoin

from pipeline.core.problems import Problem, ProblemsFound

ZENODO_API = "https://zenodo.org/api"
ZENODO_SANDBOX_API = "https://sandbox.zenodo.org/api"
DOI = re.compile(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)?10\.(5281|5072)/zenodo\.(\d+)/?$", re.I)
RECORD_URL = re.compile(r"^https?://(sandbox\.)?zenodo\.org/(?:api/)?records?/(\d+)(?:[/?#].*)?$", re.I)

GetJson = Callable[..., "dict | None"]  # (url, params=None, missing_ok=False) -> the answer, None for a 404


def zenodo_source(text: str, api: str | None) -> tuple[str, str] | None:
    """(record id, API base) when `text` is a Zenodo DOI or record URL."""
    for pattern, sandbox in ((DOI, lambda m: m.group(1) == "5072"), (RECORD_URL, lambda m: bool(m.group(1)))):
        match = pattern.match(text)
        if match:
            default = ZENODO_SANDBOX_API if sandbox(match) else ZENODO_API
            return match.group(2), (api or default).rstrip("/")
    return None


def norm_version(version: str | None) -> str:
    return (version or "").strip().lstrip("vV")


def record_files(record: dict) -> list[dict]:
    files = record.get("files") or []
    if isinstance(files, dict):  # InvenioRDM shape: {"entries": {key: {...}}}
        files = list((files.get("entries") or {}).values())
    return [f for f in files if isinstance(f, dict)]


def _refuse(code: str, message: str, **where) -> ProblemsFound:
    return ProblemsFound([Problem(code, message, **where)])


def _find_version(get_json: GetJson, api: str, record: dict, record_id: str, version: str) -> dict:
    url = (record.get("links") or {}).get("versions") or f"{api}/records/{record.get('id', record_id)}/versions"
    seen: list[str] = []
    params: dict | None = {"size": 100}
    for _ in range(20):
        page = get_json(url, params=params) or {}
        for hit in (page.get("hits") or {}).get("hits") or []:
            found = str((hit.get("metadata") or {}).get("version"))
            seen.append(found)
            if norm_version(found) == norm_version(version):
                return get_json(f"{api}/records/{hit['id']}")
        url, params = (page.get("links") or {}).get("next"), None
        if not url:
            break
    raise _refuse("version-not-found", f"the record has no version {version!r}", file=f"{api}/records/{record_id}",
                  value=version, suggestion="versions found: " + (", ".join(sorted(set(seen))) or "none"))


def zenodo_record(get_json: GetJson, api: str, record_id: str, version: str | None) -> dict:
    """The record a DOI names: a version DOI is that version, a concept DOI the latest one;
    with `version`, the record of the same concept whose metadata.version is that version."""
    record = get_json(f"{api}/records/{record_id}", missing_ok=True)
    if record is None:  # a concept record id is not a record; Zenodo serves its latest version here
        record = get_json(f"{api}/records/{record_id}/versions/latest", missing_ok=True)
    if record is None:
        raise _refuse("not-found", f"Zenodo has no record {record_id}", file=f"{api}/records/{record_id}",
                      suggestion="check the DOI or record number")
    if not version or norm_version(record.get("metadata", {}).get("version")) == norm_version(version):
        return record
    return _find_version(get_json, api, record, record_id, version)


def release_file(record: dict, api: str) -> dict:
    """The release zip of a record: its key, download URL, size and md5."""
    zips = [f for f in record_files(record) if str(f.get("key", "")).lower().endswith(".zip")]
    record_id = record.get("id")
    if len(zips) != 1:
        keys = ", ".join(str(f.get("key")) for f in record_files(record)) or "none"
        raise _refuse("no-release-file", f"expected exactly one .zip in Zenodo record {record_id}, found {len(zips)}",
                      value=keys)
    entry = zips[0]
    links = entry.get("links") or {}
    url = links.get("content") or links.get("self") or f"{api}/records/{record_id}/files/{entry['key']}/content"
    checksum = str(entry.get("checksum") or "")
    algorithm, _, digest = checksum.partition(":")
    if algorithm.lower() != "md5" or not re.fullmatch(r"[0-9a-fA-F]{32}", digest):
        raise _refuse("missing-checksum", "Zenodo lists no md5 checksum for the release file", file=entry["key"],
                      value=checksum or None)
    size = entry.get("size", entry.get("filesize"))
    return {"key": entry["key"], "url": urljoin(api + "/", url), "md5": digest.lower(),
            "size": int(size) if isinstance(size, int) or str(size).isascii() and str(size).isdigit() else None}
