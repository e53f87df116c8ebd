"""Reading and writing the project's CSV tables: UTF-8, '\\n' line ends, atomic replacement."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def csv_bytes(fieldnames: list[str], rows: Iterable[Mapping[str, object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(row.get(k)) for k in fieldnames})
    return buffer.getvalue().encode("utf-8")


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_csv(path: Path, fieldnames: list[str], rows: Iterable[Mapping[str, object]]) -> None:
    atomic_write_bytes(path, csv_bytes(fieldnames, rows))


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_recorded_sha256(path: Path, raw: bytes, shown: str, fix: str, *, required: bool = False) -> None:
    """A source file with a `<file>.sha256` record beside it must still have that hash.

    The record is what `ketamap fetch-source` writes and what data/raw/ keeps for the export: a
    one-byte edit of a raw source (↑ becoming ↓) would otherwise build and publish.
    """
    from pipeline.core.problems import Problem, ProblemsFound

    record = path.with_name(path.name + ".sha256")
    try:
        recorded = record.read_text(encoding="utf-8").split()[:1]
    except FileNotFoundError:
        if not required:
            return
        raise ProblemsFound([Problem("missing-checksum", f"no sha256 record ({record.name}) beside the source",
                                     file=shown, suggestion=f"restore {record.name} from git "
                                     f"(`git checkout -- {record.name}`)")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProblemsFound([Problem("unreadable-file", f"cannot read the sha256 record {record.name}: {error}",
                                     file=shown)]) from None
    actual = sha256_bytes(raw)
    if recorded != [actual]:
        raise ProblemsFound([Problem("checksum-mismatch", f"the file differs from the sha256 recorded in "
                                     f"{record.name} (it is {actual})", file=shown,
                                     value=recorded[0] if recorded else None, suggestion=fix)])
