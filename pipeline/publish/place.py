"""Where a verified download lands: a hidden staging folder beside the target, renamed into place.

- The staging folder is `.ketamap-download-<pid>-<random>/` on the target's filesystem. It is
  removed when the download ends, also on SIGTERM; one left by a killed run (its process is gone)
  is swept at the start of the next run.
- The placed folder carries a marker, `.ketamap-download.json` (name, version, the files placed),
  so that `--replace` replaces only a folder ketamap placed and that holds nothing else; never
  the current folder or one of its parents, never a folder with the user's files.
"""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from pipeline.core.problems import Problem, ProblemsFound

MARKER = ".ketamap-download.json"
STAGING_PREFIX = ".ketamap-download-"
_STAGING = re.compile(rf"^{re.escape(STAGING_PREFIX)}(\d+)-[A-Za-z0-9_]+$")


def refuse(code: str, message: str, **where) -> ProblemsFound:
    return ProblemsFound([Problem(code, message, **where)])


def existing_ancestor(path: Path) -> Path:
    # A folder that does not exist yet cannot be a mount point, so the nearest existing ancestor
    # is on the same filesystem as the final target and a rename from there is atomic.
    path = path.absolute()
    for candidate in [path.parent, *path.parent.parents]:
        if candidate.is_dir():
            return candidate
    return Path.cwd()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def sweep(folder: Path) -> list[Path]:
    """Remove staging folders whose process is gone (a run killed with -9); return them."""
    removed = []
    try:
        candidates = list(folder.iterdir())
    except OSError:
        return removed
    for path in candidates:
        match = _STAGING.match(path.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))) \
                and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def staging(folder: Path):
    """A fresh staging folder in `folder`, removed on exit, on an exception and on SIGTERM."""
    sweep(folder)
    work = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
    previous = None
    if threading.current_thread() is threading.main_thread():
        def terminated(signum, frame):
            raise SystemExit(128 + signum)

        previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def write_marker(staged: Path, name: str, version: str) -> None:
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    text = json.dumps({"placed_by": "ketamap download", "name": name, "version": version, "files": files},
                      indent=2) + "\n"
    (staged / MARKER).write_text(text, encoding="utf-8")
    os.chmod(staged / MARKER, 0o644)


def _tree(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def same_tree(a: Path, b: Path) -> bool:
    left, right = _tree(a), _tree(b)
    if left.keys() != right.keys():
        return False
    return all(not right[k].is_symlink() and filecmp.cmp(left[k], right[k], shallow=False) for k in left)


def foreign_content(target: Path) -> list[str]:
    """What in `target` ketamap did not place: everything, without a marker."""
    try:
        marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
        placed = set(marker["files"]) | {MARKER}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        return ["(no ketamap marker)"]
    present = set()
    for path in target.rglob("*"):
        name = path.relative_to(target).as_posix()
        if path.is_symlink() or not (path.is_dir() or path.is_file()):
            present.add(name)
        elif path.is_file():
            present.add(name)
    return sorted(present - placed)


def _guard(target: Path, cwd: Path) -> None:
    resolved, here = target.resolve(), cwd.resolve()
    if resolved == here or resolved in here.parents:
        raise refuse("target-unsafe", "the target is the current folder or one of its parents; nothing was changed",
                     file=str(target), suggestion="download into a new folder, e.g. --to ketamap-data")


def place(staged: Path, target: Path, replace: bool, cwd: Path) -> str:
    """Rename the verified package into `target`; the old content, if any, stays until then."""
    _guard(target, cwd)
    if not target.exists() and not target.is_symlink():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, target)
        return "new"
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        os.rename(staged, target)  # rename(2) replaces an empty folder in one step
        return "new"
    if target.is_dir() and not target.is_symlink() and same_tree(staged, target):
        return "identical"
    if not replace:
        raise refuse("target-exists", "the target folder exists and holds something else; nothing was changed",
                     file=str(target), suggestion="choose another --to, remove the folder, or pass --replace")
    foreign = foreign_content(target) if target.is_dir() and not target.is_symlink() else ["(not a folder)"]
    if foreign:
        raise refuse("target-foreign", "--replace replaces only a folder that ketamap download placed and that "
                     "holds nothing else; nothing was changed", file=str(target), value=", ".join(foreign[:5]),
                     suggestion="move your files away, or choose another --to")
    backup = target.with_name(f".{target.name}.replaced-{os.getpid()}")
    os.rename(target, backup)
    try:
        os.rename(staged, target)
    except OSError:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)
    return "replaced"
