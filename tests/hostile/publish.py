"""The hostile corpus for the publish layer (download, package validation, deposit, diff): every
case is built here by code from the package `dvc repro` produced, never checked in.

    python tests/hostile/publish.py OUT    # writes each bundle case to OUT/, prints the count per class

tests/test_hostile_publish.py runs every case; each names its class, the exit code it must get and the
problem code that must explain it.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
NAME, VERSION = "ketamap", "0.1.0"
TOP = f"{NAME}-{VERSION}"

# ---------------------------------------------------------------------------------------------
# Bundles with the release's shape (also used by tests/test_download.py)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_files(version: str = VERSION, descriptor_edit: Callable[[dict], None] | None = None) -> dict[str, bytes]:
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["version"] = version
    files = {r["path"]: (ROOT / r["path"]).read_bytes() for r in descriptor["resources"]}
    if descriptor_edit:
        descriptor_edit(descriptor)
    files["datapackage.json"] = (json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n").encode()
    files.update({"README.md": b"# ketamap\n", "LICENSE": b"CC-BY-4.0\n", "CHANGELOG.md": b"## 0.1.0\n",
                  "CITATION.cff": b"cff-version: 1.2.0\n"})
    return files


def with_checksums(files: dict[str, bytes]) -> dict[str, bytes]:
    files = {k: v for k, v in files.items() if k != "SHA256SUMS"}
    files["SHA256SUMS"] = "".join(f"{sha256(files[p])}  {p}\n" for p in sorted(files)).encode()
    return files


def rehash_descriptor(files: dict[str, bytes]) -> dict[str, bytes]:
    """A tampering that also fixes datapackage.json's hashes (so only later checks can notice)."""
    descriptor = json.loads(files["datapackage.json"])
    for resource in descriptor["resources"]:
        data = files[resource["path"]]
        resource["hash"], resource["bytes"] = f"sha256:{sha256(data)}", len(data)
    return {**files, "datapackage.json": (json.dumps(descriptor, indent=2) + "\n").encode()}


def zip_bytes(entries: dict[str, bytes], top: str = TOP, mode: int = 0o100644) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(f"{top}/{name}" if top else name, date_time=(2026, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name])
    return buffer.getvalue()


def release_zip(version: str = VERSION) -> bytes:
    return zip_bytes(with_checksums(package_files(version)), top=f"{NAME}-{version}")


# ---------------------------------------------------------------------------------------------
# The cases


@dataclass(frozen=True)
class Case:
    klass: str
    name: str
    exit: int
    code: str | None  # the problem code that must explain it (None: any, the exit code is the promise)
    data: object = None


FSMONITOR = b"[core]\n\tfsmonitor = \"touch /tmp/ketamap-pwned; false\"\n"
EXTRA_FILES = {
    ".git/config (listed in SHA256SUMS)": (".git/config", FSMONITOR, True),
    ".git/config (not listed)": (".git/config", FSMONITOR, False),
    ".envrc (listed)": (".envrc", b"touch /tmp/ketamap-pwned\n", True),
    ".envrc (not listed)": (".envrc", b"touch /tmp/ketamap-pwned\n", False),
    "Makefile": ("Makefile", b"all:\n\ttouch /tmp/ketamap-pwned\n", True),
    "an undeclared data file": ("data/extra.csv", b"a,b\n1,2\n", True),
    "a script under reports/": ("reports/run.sh", b"#!/bin/sh\n", True),
    "a forged download marker": (".ketamap-download.json", b'{"files": []}\n', True),
    "a backup beside a resource": ("data/findings.csv.orig", b"x\n", True),
    ".vscode/settings.json": (".vscode/settings.json", b'{"terminal.integrated.shellArgs.linux": ["-c"]}', True),
}
ROUTES = ("download zip url", "download local zip", "validate zip")


def extra_file_zip(name: str, data: bytes, listed: bool) -> bytes:
    files = package_files()
    if listed:
        return zip_bytes(with_checksums({**files, name: data}))
    return zip_bytes({**with_checksums(files), name: data})


def undeclared_cases() -> list[Case]:
    # `ketamap validate` calls a zip it cannot open as a release unreadable (exit 2); download refuses it (1)
    return [Case("undeclared files", f"{label} via {route}", 2 if route == "validate zip" else 1, "undeclared-file",
                 (route, *spec)) for label, spec in EXTRA_FILES.items() for route in ROUTES]


def remote_edit(kind: str, url: str) -> Callable[[dict], None]:
    def edit(descriptor: dict) -> None:
        findings = next(r for r in descriptor["resources"] if r["name"] == "findings")
        if kind == "profile":
            descriptor["profile"] = url
        else:
            findings[kind] = url

    return edit


REMOTE = {  # kind, where (None: the test server's URL), the problem code
    "schema as an http URL to this machine": ("schema", None, "remote-reference"),
    "schema as an https URL": ("schema", "https://example.org/schema.json", "remote-reference"),
    "dialect as an http URL to this machine": ("dialect", None, "remote-reference"),
    "schema as a file: URL": ("schema", "file:///etc/passwd", "remote-reference"),
    "schema climbing out with ..": ("schema", "../../etc/passwd.json", "unsafe-path"),
    "schema as an absolute path": ("schema", "/etc/passwd", "unsafe-path"),
    "package profile as an http URL": ("profile", None, "remote-reference"),
    "resource $schema as an http URL": ("$schema", None, "remote-reference"),
}
REMOTE_ROUTES = ("download zip url", "download descriptor url", "validate folder")


def remote_cases() -> list[Case]:
    return [Case("remote references", f"{label} via {route}", 1, code, (route, kind, where))
            for label, (kind, where, code) in REMOTE.items() for route in REMOTE_ROUTES]


def transfer_cases() -> list[Case]:
    return [
        Case("transfers", "a server dripping a byte every 2 s (library)", 2, "deadline-exceeded", "library"),
        Case("transfers", "a server dripping a byte every 2 s (ketamap download --deadline)", 2,
             "deadline-exceeded", "cli"),
        Case("transfers", "a server dripping a byte every 2 s (KETAMAP_DOWNLOAD_DEADLINE)", 2,
             "deadline-exceeded", "env"),
        Case("transfers", "a server dripping its headers a byte every 2 s (library)", 2, "deadline-exceeded",
             "headers library"),
        Case("transfers", "a server dripping its headers a byte every 2 s (ketamap download --deadline)", 2,
             "deadline-exceeded", "headers cli"),
        Case("transfers", "Retry-After far beyond the cap", 2, "http-error", "99999"),
        Case("transfers", "Retry-After as an HTTP-date in the past", 0, None, "Wed, 21 Oct 2015 07:28:00 GMT"),
        Case("transfers", "Retry-After with a non-ASCII digit", 0, None, "\u00b2"),
        Case("transfers", "Retry-After negative", 0, None, "-5"),
        Case("transfers", "Retry-After garbage", 0, None, "soon"),
    ]


def replace_cases() -> list[Case]:
    return [
        Case("replace", "--to . --replace in a folder of the user's files", 2, "target-unsafe", "cwd"),
        Case("replace", "--to .. --replace", 2, "target-unsafe", "parent"),
        Case("replace", "--replace over a folder with the user's files", 2, "target-foreign", "foreign"),
        Case("replace", "--replace over a placed folder that gained a file", 2, "target-foreign", "gained"),
        Case("replace", "--replace over a placed folder with a file in a new subfolder", 2, "target-foreign",
             "gained-nested"),
        Case("replace", "--replace over a symlink to a folder", 2, "target-foreign", "symlink"),
        Case("replace", "--replace over a placed folder", 0, None, "placed"),
    ]


def staging_cases() -> list[Case]:
    return [
        Case("staging", "SIGTERM during a transfer removes the staging folder", 143, None, "sigterm"),
        Case("staging", "a staging folder left by a killed run is swept", 0, None, "stale"),
        Case("staging", "a staging folder of a live run is left alone", 0, None, "live"),
    ]


BAD_TOKENS = {
    "a trailing line break inside": "tok-Zq81xN3v\nPp0sECRET",
    "a carriage return": "tok-Zq81xN3v\rPp0sECRET",
    "a tab": "tok-Zq81xN3v\tPp0sECRET",
    "a space": "tok-Zq81xN3v Pp0sECRET",
    "an escape character": "tok-Zq81xN3v\x1b[2JPp0sECRET",
    "a DEL": "tok-Zq81xN3v\x7fPp0sECRET",
    "a non-ASCII letter": "tok-Zq81xN3vöPp0sECRET",
    "a zero-width space": "tok-Zq81xN3v\u200bPp0sECRET",
}


def token_cases() -> list[Case]:
    return [Case("token", f"ZENODO_TOKEN with {label}", 2, "token-malformed", token)
            for label, token in BAD_TOKENS.items()]


MARKDOWN_VALUES = {
    "a javascript: link": "[click](javascript:alert(1))",
    "an image": "![x](http://127.0.0.1/track.png)",
    "an HTML tag": "<img src=x onerror=alert(1)>",
    "a script tag": "<script>alert(1)</script>",
    "an autolink": "<javascript:alert(1)>",
    "an entity": "&lt;b&gt;",
    "a table break": "a | b\nc",
    "code": "`rm -rf`",
    "a reference link": "[x][1]\n\n[1]: javascript:alert(1)",
}


def markdown_cases() -> list[Case]:
    return [Case("markdown", f"diff --format markdown: {label}", 0, None, value)
            for label, value in MARKDOWN_VALUES.items()]


def deposit_cases() -> list[Case]:
    return [
        Case("deposit metadata", "--production with the placeholder creator", 1, "placeholder-creator",
             ("--production", "--publish")),
        Case("deposit metadata", "--production --dry-run with the placeholder creator", 1, "placeholder-creator",
             ("--production", "--dry-run")),
        Case("deposit metadata", "--production, the placeholder spaced and cased differently", 1,
             "placeholder-creator", ("--production", "--dry-run", "maintainers,   KETAMAP")),
        Case("deposit metadata", "sandbox --dry-run with the placeholder creator warns", 0, "placeholder-creator",
             ("--dry-run",)),
    ]


def all_cases() -> list[Case]:
    return (undeclared_cases() + remote_cases() + transfer_cases() + replace_cases() + staging_cases()
            + token_cases() + markdown_cases() + deposit_cases())


def counts() -> dict[str, int]:
    return dict(Counter(case.klass for case in all_cases()))


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for label, (name, data, listed) in EXTRA_FILES.items():
        safe = "".join(c if c.isalnum() else "-" for c in label).strip("-")
        (out / f"undeclared-{safe}.zip").write_bytes(extra_file_zip(name, data, listed))
    for label, (kind, where, _) in REMOTE.items():
        safe = "".join(c if c.isalnum() else "-" for c in label).strip("-")
        files = package_files(descriptor_edit=remote_edit(kind, where or "http://127.0.0.1:9/x.json"))
        (out / f"remote-{safe}.zip").write_bytes(zip_bytes(with_checksums(files)))
    for klass, count in counts().items():
        print(f"{klass}: {count}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus"))
