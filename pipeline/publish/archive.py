"""A release zip, inspected before a byte is unpacked and unpacked counting every byte.

Refused: anything that is not a zip; more entries than a release can have; absolute, `..`,
backslash or drive-letter paths; symlinks, devices and encrypted entries; duplicate names (also
by case or Unicode form); files outside the single top folder; and, once the descriptor inside
is read, any file the bundle layout and the descriptor do not name (`contents.declared_files`),
any resource whose unpacked size differs from the bytes the descriptor declares, and any other
file above a modest cap or compressed absurdly well. Sizes are declared, then checked again while
unpacking (headers can lie): a zip bomb is an archive that unpacks to more than it declares.
"""

from __future__ import annotations

import os
import shutil
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.problems import Problem, ProblemsFound
from pipeline.publish.contents import DESCRIPTOR, declared_files, parse_descriptor, unsafe_reason

_CHUNK = 1 << 16


@dataclass(frozen=True)
class ZipLimits:
    """What is not declared is bounded: entries, the size of undeclared files, their compression."""

    max_entries: int = 10_000
    max_ratio: float = 100.0          # uncompressed / compressed, for undeclared entries above ratio_floor
    ratio_floor: int = 1024 * 1024    # small files may compress very well; that is harmless
    max_json_bytes: int = 16 * 1024 * 1024
    max_other_bytes: int = 1024 * 1024 * 1024  # a file whose size the descriptor does not declare


def refuse(code: str, message: str, **where) -> ProblemsFound:
    return ProblemsFound([Problem(code, message, **where)])


def _open_entries(path: Path) -> list[zipfile.ZipInfo]:
    label = path.name
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK" or not zipfile.is_zipfile(path):
        raise refuse("not-a-zip", "the file is not a zip archive", file=label,
                     value=repr(magic) if magic else "empty file")
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
        raise refuse("not-a-zip", f"the zip cannot be read: {error}", file=label)


def _entry_problem(info: zipfile.ZipInfo, label: str, seen: dict[str, str]) -> Problem | None:
    name = info.orig_filename if hasattr(info, "orig_filename") else info.filename
    reason = unsafe_reason(name)
    if reason:
        return Problem("unsafe-path", f"archive entry {reason}", file=label, value=name)
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return Problem("symlink-entry", "archive entry is a symbolic link", file=label, value=name)
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return Problem("special-entry", "archive entry is not a regular file", file=label, value=name)
    if info.flag_bits & 0x1:
        return Problem("encrypted-entry", "archive entry is encrypted", file=label, value=name)
    folded = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
    if folded in seen:
        return Problem("duplicate-entry", "two archive entries have the same name"
                       + ("" if seen[folded] == name else f" (differing only in case: {seen[folded]})"),
                       file=label, value=name)
    seen[folded] = name
    if not _is_dir(info) and "/" not in name:
        return Problem("bundle-layout", "file outside the top folder", file=label, value=name)
    return None


def _is_dir(info: zipfile.ZipInfo) -> bool:
    return info.is_dir() or stat.S_IFMT(info.external_attr >> 16) == stat.S_IFDIR


def inspect_zip(path: Path, limits: ZipLimits = ZipLimits()) -> tuple[str, list[zipfile.ZipInfo]]:
    """The single top folder and the file entries, or every reason the archive is refused."""
    label = path.name
    infos = _open_entries(path)
    if len(infos) > limits.max_entries:
        raise refuse("zip-bomb", f"the archive has {len(infos)} entries, more than {limits.max_entries}", file=label)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    tops: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    for info in infos:
        problem = _entry_problem(info, label, seen)
        if problem:
            problems.append(problem)
            continue
        tops.add(info.filename.split("/", 1)[0])
        if not _is_dir(info):
            files.append(info)
    if len(tops) > 1:
        problems.append(Problem("bundle-layout", "a release zip holds one top folder; this one has several",
                                file=label, value=", ".join(sorted(tops))))
    if not files and not problems:
        problems.append(Problem("bundle-layout", "the archive holds no files", file=label))
    if problems:
        raise ProblemsFound(problems)
    top = tops.pop()
    problems = check_declared(path, top, files, limits)
    if problems:
        raise ProblemsFound(problems)
    return top, files


def _relative(info: zipfile.ZipInfo) -> str:
    return info.filename.split("/", 1)[1]


def read_zipped_descriptor(path: Path, top: str, files: list[zipfile.ZipInfo], limits: ZipLimits) -> dict:
    entry = next((i for i in files if i.filename == f"{top}/{DESCRIPTOR}"), None)
    if entry is None:
        raise refuse("bundle-layout", f"the archive has no {top}/{DESCRIPTOR}", file=path.name)
    if entry.file_size > limits.max_json_bytes:
        raise refuse("zip-bomb", f"{DESCRIPTOR} declares {entry.file_size} bytes, more than "
                     f"{limits.max_json_bytes}", file=path.name)
    try:
        with zipfile.ZipFile(path) as archive, archive.open(entry) as fh:
            data = fh.read(limits.max_json_bytes + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
            zlib.error) as error:
        raise refuse("corrupt-zip", f"the archive is damaged: {error}", file=path.name)
    if len(data) > entry.file_size:
        raise refuse("zip-bomb", f"{DESCRIPTOR} unpacks to more bytes than declared", file=path.name)
    return parse_descriptor(data)


def check_declared(path: Path, top: str, files: list[zipfile.ZipInfo], limits: ZipLimits) -> list[Problem]:
    """Every entry is a file the layout or the descriptor names, at the size the descriptor declares."""
    label = path.name
    descriptor = read_zipped_descriptor(path, top, files, limits)
    declared, problems = declared_files(descriptor)
    if problems:
        return problems
    for info in files:
        name = _relative(info)
        if name not in declared:
            problems.append(Problem("undeclared-file", "the bundle holds a file that neither the bundle layout nor "
                                    f"{DESCRIPTOR} names; refused before anything is placed", file=label,
                                    value=name, suggestion="download releases only from their publisher; a "
                                    "bundle never carries dot-files, scripts or configuration"))
            continue
        size = declared[name]
        if name == DESCRIPTOR:  # bounded by max_json_bytes when it was read
            continue
        if size is not None:
            if info.file_size != size:
                problems.append(Problem("zip-bomb" if info.file_size > size else "size-mismatch",
                                        f"archive entry declares {info.file_size} bytes, {DESCRIPTOR} declares "
                                        f"{size}", file=label, value=name))
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_other_bytes:
            problems.append(Problem("zip-bomb", f"archive entry unpacks to {info.file_size} bytes, more than "
                                    f"{limits.max_other_bytes} for a file whose size is not declared",
                                    file=label, value=name))
        elif info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            problems.append(Problem("zip-bomb", f"archive entry expands {ratio:.0f}-fold ({info.compress_size} → "
                                    f"{info.file_size} bytes), more than {limits.max_ratio:.0f}",
                                    file=label, value=name))
    return problems


def check_space(dest: Path, files: list[zipfile.ZipInfo], label: str) -> None:
    need = sum(i.file_size for i in files)
    free = shutil.disk_usage(dest).free
    if need > free:
        raise refuse("no-space", f"the package unpacks to {need} bytes; only {free} are free here", file=label,
                     suggestion="free some space or choose another --to")


def extract_zip(path: Path, top: str, files: list[zipfile.ZipInfo], dest: Path,
                progress=None) -> None:
    """The entries under `top` into `dest`, counting bytes again (declared sizes can lie)."""
    label = path.name
    check_space(dest, files, label)
    total = sum(i.file_size for i in files)
    if progress:
        progress("unpacking", total, 0)
    try:
        with zipfile.ZipFile(path) as archive:
            for info in files:
                target = dest.joinpath(*_relative(info).split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                _extract_entry(archive, info, target, label, progress)
                os.chmod(target, 0o644)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
            zlib.error) as error:
        raise refuse("corrupt-zip", f"the archive is damaged: {error}", file=label)


def _extract_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, label: str, progress) -> None:
    written = 0
    with archive.open(info) as source, open(target, "xb") as sink:
        for block in iter(lambda: source.read(_CHUNK), b""):
            written += len(block)
            if written > info.file_size:
                raise refuse("zip-bomb", "archive entry unpacks to more bytes than it declares; stopped",
                             file=label, value=info.filename)
            sink.write(block)
            if progress:
                progress("unpacking", None, len(block))

