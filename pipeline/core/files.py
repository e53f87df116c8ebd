"""Reading and writing the project's CSV tables: UTF-8, '\\n' line ends, atomic replacement; and reading
what people give (`read_input`): regular files only (stat first, never open-and-block), bounded."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from pipeline.core.problems import Problem, ProblemsFound


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


def csv_bytes(fieldnames: list[str], rows: Iterable[Mapping[str, object]], cells: Iterable[Sequence] = ()) -> bytes:
    """The rows as CSV, cells as `csv_cell` writes them (the csv module itself writes None as an empty
    cell and other values with str(), so only booleans are rewritten: a million rows in seconds);
    then `cells`: more rows, already as text (or None) in `fieldnames` order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fieldnames)
    writer.writerows([csv_cell(v) if v.__class__ is bool else v for v in map(row.get, fieldnames)] for row in rows)
    writer.writerows(cells)
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


# ---------------------------------------------------------------------------------------------
# Reading what people give: regular files only, and bounded

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def not_regular(mode: int) -> str | None:
    """What a file mode is when it is not a regular file ('a folder', 'a FIFO (named pipe)', …), else None."""
    return next((kind for test, kind in _KINDS if test(mode)), None if stat.S_ISREG(mode) else "not a regular file")


def input_refusal(path: Path, shown: str | None = None) -> Problem | None:
    """Why `path` must not be opened, or None for a regular file. `os.stat` only (it follows
    symlinks, so a link to /dev/zero is a device): nothing is opened, so nothing can block."""
    shown = shown or str(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return Problem("not-found", "no such file", file=shown, suggestion="check the path")
    except OSError as error:
        return Problem("unreadable-file", f"the file cannot be read: {error.strerror or error}", file=shown)
    kind = not_regular(mode)
    if kind is None:
        return None
    return Problem("not-a-file", f"this is {kind}, not a regular file; it is not read (it could block or never end)",
                   file=shown, suggestion="give the path of a saved file (a .csv, .tsv, .xlsx or .ods)")


def open_input(path: Path, max_bytes: int, shown: str | None = None) -> int:
    """A descriptor of a regular file of at most `max_bytes` (the caller closes it); raise ProblemsFound otherwise.

    Stat first, then open without blocking (O_NONBLOCK: a FIFO swapped in after the stat opens at
    once) and check that the open file is the regular file that was stat'ed.
    """
    shown = shown or str(path)
    refusal = input_refusal(path, shown)
    if refusal is not None:
        raise ProblemsFound([refusal])
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise ProblemsFound([_unreadable(shown, error)]) from None
    try:
        info = os.fstat(fd)
        if not_regular(info.st_mode) is not None:  # replaced between the stat and the open
            raise ProblemsFound([input_refusal(path, shown) or Problem("not-a-file", "the file changed while it "
                                 "was opened", file=shown, suggestion="give the path of a saved file")])
        if info.st_size > max_bytes:
            raise ProblemsFound([too_large(shown, info.st_size, max_bytes)])
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_input(path: Path, max_bytes: int, shown: str | None = None) -> bytes:
    """The bytes of a regular file of at most `max_bytes` (`open_input`); raise ProblemsFound otherwise.
    Never reads more than `max_bytes` + 1 bytes, whatever the file grows to meanwhile."""
    shown = shown or str(path)
    fd = open_input(path, max_bytes, shown)
    try:
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 22, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise ProblemsFound([too_large(shown, size, max_bytes)])
        return b"".join(chunks)
    except OSError as error:
        raise ProblemsFound([_unreadable(shown, error)]) from None
    finally:
        os.close(fd)


def _unreadable(shown: str, error: OSError) -> Problem:
    return Problem("unreadable-file", f"the file cannot be read: {error.strerror or error}", file=shown)


def too_large(shown: str, size: int, max_bytes: int) -> Problem:
    return Problem("file-too-large", f"the file has {size:,} bytes or more; at most {max_bytes:,} are read",
                   file=shown, suggestion="split it into several files, each under the limit")
