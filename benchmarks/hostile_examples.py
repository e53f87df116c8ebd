"""Issue 12's "Why" examples, each rerun as a user would meet it, in temporary copies.

    python benchmarks/hostile_examples.py            # every example (~5 min at load 2)
    python benchmarks/hostile_examples.py --only dvc # the examples whose name holds "dvc"

Each example runs the real command (`python -m pipeline`, `dvc repro`) in a fresh process against
a temporary copy of the project (tests/conftest.copy_project), a temporary folder, or a real
HTTP server on 127.0.0.1 (tests/local_http.py, tests/fake_zenodo.py). One line per example: the
exit code (and the promised one), the first line of the message, whether a traceback was shown,
and whether the tree (the project copy, the target folder, the input) is byte-identical
afterwards. `held` is all of these as promised. Then the hostile corpus' cases per class, counted
from the test suite's own case lists (tests/hostile/*.py, tests/hostile_values.py, and the
parametrised hostile tests), for the issue's closing note.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "hostile")]
from conftest import copy_project, tool_env  # noqa: E402
from hostile.publish import (  # noqa: E402
    TOP,
    extra_file_zip,
    package_files,
    release_zip,
    remote_edit,
    with_checksums,
    zip_bytes,
)
from local_http import running_server, serve  # noqa: E402

HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes\n"
TIMEOUT = 120


def row(reference: str = "PMID:1", **cells: str) -> str:
    values = {"molecule": "BDNF", "measure": "", "direction": "increase", "population": "animal", "region": "HPC",
              "species": "rat", "reference": reference, "qualifier": "", "notes": "", **cells}
    return ",".join(values[c] for c in HEADER.strip().split(",")) + "\n"


@dataclass
class Outcome:
    code: int | str          # the exit code, or "timeout"
    output: str
    unchanged: bool
    extra: bool = True       # the example's own check beyond code / traceback / tree (a file kept, no request)
    note: str = ""


@dataclass
class Example:
    klass: str
    name: str
    promised: int | str      # an exit code, or "≠0" (dvc's own code on a failed stage)
    run: Callable[["Work"], Outcome]

    def held(self, outcome: Outcome) -> bool:
        code_ok = outcome.code == self.promised or (self.promised == "≠0" and outcome.code not in (0, "timeout"))
        return code_ok and "Traceback" not in outcome.output and outcome.unchanged and outcome.extra


EXAMPLES: list[Example] = []


def example(klass: str, name: str, promised: int | str):
    def register(run: Callable[["Work"], Outcome]):
        EXAMPLES.append(Example(klass, name, promised, run))
        return run
    return register


# ---------------------------------------------------------------------------------------------
# Running things


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` (but .git and DVC's own tmp/cache): regular files by sha256, anything
    else by its mode (never opened)."""
    seen = {}
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".git" and not (top.endswith(".dvc") and d in ("tmp", "cache"))]
        for name in dirs + files:
            path = Path(top, name)
            info = os.lstat(path)
            key = path.relative_to(folder).as_posix()
            if os.path.isfile(path) and not os.path.islink(path):
                seen[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                seen[key] = f"{info.st_mode:o}"
    return seen


def command(args: list[str], cwd: Path, env: dict | None = None, timeout: float = TIMEOUT) -> tuple[int | str, str]:
    """Exit code (or "timeout": the whole process group is killed) and stdout + stderr of one process."""
    process = subprocess.Popen(args, cwd=cwd, env={**tool_env(), **(env or {})}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=timeout)
        return process.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        return "timeout", out


def ketamap(*args: str, cwd: Path, env: dict | None = None, timeout: float = TIMEOUT) -> tuple[int | str, str]:
    return command([sys.executable, "-m", "pipeline", *args], cwd, env, timeout)


def dvc_repro(project: Path, timeout: float = 600) -> tuple[int | str, str]:
    return command([sys.executable, "-m", "dvc", "repro"], project, timeout=timeout)


def watched(folder: Path, run: Callable[[], tuple[int | str, str]], check: Callable[[], bool] = lambda: True,
            note: str = "") -> Outcome:
    before = snapshot(folder)
    code, output = run()
    return Outcome(code, output, snapshot(folder) == before, check(), note)


def first_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if re.search(r"\berror\b|\[[a-z-]+\]|ERROR|refus", line):
            return line
    return lines[0] if lines else ""


def published_tables(project: Path, folder: Path, edit: Callable[[str, str], str] = lambda name, text: text) -> Path:
    """The project's four published tables copied into folder/data (each edited by `edit(name, text)`)."""
    data = folder / "data"
    data.mkdir()
    for name in ("findings", "molecules", "regions", "sources"):
        text = (project / "data" / f"{name}.csv").read_text(encoding="utf-8")
        (data / f"{name}.csv").write_text(edit(name, text), encoding="utf-8")
    return data


class Work:
    """A scratch folder, one project copy (reset to its commit before each example) and a server."""

    def __init__(self, base: Path, server):
        self.base, self.server, self.count = base, server, 0
        self.project = copy_project(base / "ketamap")

    def folder(self) -> Path:
        self.count += 1
        path = self.base / f"case-{self.count}"
        path.mkdir()
        return path

    def reset(self) -> Path:
        for top, _, names in os.walk(self.project / "data"):  # FIFOs and links an example left (git clean skips FIFOs)
            for name in names:
                if not os.path.isfile(Path(top, name)) or os.path.islink(Path(top, name)):
                    os.unlink(Path(top, name))
        git = ["git", "-c", "core.fsmonitor=false"]
        subprocess.run([*git, "checkout", "-q", "--", "."], cwd=self.project, check=True)
        subprocess.run([*git, "clean", "-qfd"], cwd=self.project, check=True)
        return self.project

    def edit_params(self, old: str, new: str) -> Path:
        project = self.reset()
        params = project / "params.yaml"
        text = params.read_text(encoding="utf-8")
        assert old in text, old
        params.write_text(text.replace(old, new, 1), encoding="utf-8")
        return project


# ---------------------------------------------------------------------------------------------
# Code execution from a "verified" download

for _label, (_name, _listed) in {"SHA256SUMS lists an extra .git/config (core.fsmonitor)": (".git/config", True),
                                 "SHA256SUMS lists an extra .envrc": (".envrc", True)}.items():
    def _bundle(w: Work, name=_name, listed=_listed) -> Outcome:
        folder = w.folder()
        (folder / f"{TOP}.zip").write_bytes(extra_file_zip(name, b"[core]\n\tfsmonitor = \"touch pwned\"\n", listed))
        return watched(folder, lambda: ketamap("download", f"{TOP}.zip", "--to", "out", cwd=folder),
                       lambda: not (folder / "out").exists())
    example("code execution", f"download: {_label}", 1)(_bundle)


@example("code execution", "validate: the same zip with .git/config", 2)
def _validate_git_zip(w: Work) -> Outcome:
    folder = w.folder()
    (folder / f"{TOP}.zip").write_bytes(extra_file_zip(".git/config", b"[core]\n\tfsmonitor = x\n", True))
    return watched(folder, lambda: ketamap("validate", f"{TOP}.zip", cwd=folder))


@example("code execution", "download: a resource schema as plain-http URL (nothing fetched)", 1)
def _remote_schema(w: Work) -> Outcome:
    folder, hits = w.folder(), len(w.server.hits)
    remote = serve(w.server, "/remote/schema.json", b'{"fields": []}')
    url = serve(w.server, f"/{TOP}.zip", zip_bytes(with_checksums(package_files(descriptor_edit=remote_edit(
        "schema", remote)))))
    return watched(folder, lambda: ketamap("download", url, "--to", "out", cwd=folder),
                   lambda: not any(h.startswith("/remote/") for h in w.server.hits[hits:]))


# ---------------------------------------------------------------------------------------------
# A failed build deletes the release

for _label, (_old, _new) in {"release.version: 1.0": ("version: 0.1.0", "version: '1.0'"),
                             "release.date: 2026-02-31": ('date: "2026-11-29"', 'date: "2026-02-31"'),
                             "release.name with ..": ("name: ketamap", "name: ../ketamap"),
                             "paths.interim: ../x": ("interim: data/interim", "interim: ../x")}.items():
    def _setting(w: Work, old=_old, new=_new) -> Outcome:
        project = w.edit_params(old, new)
        return watched(w.base, lambda: dvc_repro(project), lambda: not (w.base / "x").exists())
    example("failed build", f"dvc repro with {_label}", "≠0")(_setting)


# ---------------------------------------------------------------------------------------------
# Rows accepted silently

def _validate_text(content: bytes, name: str = "in.csv", *args: str):
    def run(w: Work) -> Outcome:
        folder = w.folder()
        (folder / name).write_bytes(content)
        return watched(folder, lambda: ketamap("validate", name, "--no-package", *args, cwd=folder))
    return run


UNCLOSED = (HEADER + row("PMID:1") + row("PMID:2", notes='"Müller') + row("PMID:3") + row("PMID:4", notes='x"')).encode()
example("rows", "validate: an unclosed quote swallowing later lines (4 rows, 2 bad)", 2)(_validate_text(UNCLOSED))


@example("rows", "add: the same unclosed-quote file", 2)
def _add_unclosed(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    (folder / "quotes.csv").write_bytes(UNCLOSED)
    return watched(project, lambda: ketamap("add", str(folder / "quotes.csv"), cwd=project))


@example("rows", "validate: an xlsx whose <dimension> understates its rows (all 3 read)", 0)
def _dimension(w: Work) -> Outcome:
    from build import set_dimension, xlsx_edited

    folder = w.folder()
    xlsx_edited(set_dimension("A1:B2"))(folder / "dim.xlsx")
    outcome = watched(folder, lambda: ketamap("validate", "dim.xlsx", "--no-package", "--format", "json", cwd=folder))
    rows = json.loads(outcome.output)["files"][0]["rows"] if outcome.code == 0 else None
    outcome.extra, outcome.output = rows == 3, f"rows read: {rows} of 3"
    return outcome


example("rows", "validate: a NUL byte past the first 64 KiB", 2)(_validate_text(
    (HEADER + "".join(row(f"PMID:{n}") for n in range(1, 3000))).encode() + b"BDNF\x00,,\n"))
example("rows", "validate: a zero-width space in a DOI", 1)(_validate_text(
    (HEADER + row("10.1038/nature\u200b17998")).encode()))
example("rows", "validate: a zero-width space in species", 1)(_validate_text(
    (HEADER + row(species="ra\u200bt")).encode()))
example("rows", "validate: =HYPERLINK(...) in species", 1)(_validate_text(
    (HEADER + row(species='"=HYPERLINK(""http://example.org"",""x"")"')).encode()))
example("rows", "validate: a formula cell in an xlsx", 1)(
    lambda w: _validate_text((TESTS / "fixtures/contrib/formula.xlsx").read_bytes(), "formula.xlsx")(w))
example("rows", "validate: PMID:0", 1)(_validate_text((HEADER + row("PMID:0")).encode()))
example("rows", "validate: PMID:0012345678 beside PMID:12345678 (not canonical; suggested)", 1)(_validate_text(
    (HEADER + row("PMID:12345678") + row("PMID:0012345678")).encode()))
example("rows", "validate: a DOI ending in '.'", 1)(_validate_text((HEADER + row("10.1038/nature17998.")).encode()))


# ---------------------------------------------------------------------------------------------
# Lost work

@example("lost work", "two `ketamap add` of different files with one name at once", 2)
def _concurrent_add(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    sources = []
    for side, ref in (("a", "PMID:1"), ("b", "PMID:2")):
        (folder / side).mkdir()
        (folder / side / "same.csv").write_text(HEADER + row(ref), encoding="utf-8")
        sources.append(folder / side / "same.csv")
    results: list = [None, None]

    def add(i: int) -> None:
        results[i] = ketamap("add", str(sources[i]), cwd=project)
    threads = [threading.Thread(target=add, args=(i,)) for i in (0, 1)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    codes = sorted(r[0] for r in results)
    loser = next((r for r in results if r[0] != 0), results[1])
    winner = sources[[r[0] for r in results].index(0)] if 0 in codes else None
    kept = winner is not None and (project / "data/contrib/same.csv").read_bytes() == winner.read_bytes()
    return Outcome(loser[0], loser[1], True, codes == [0, 2] and kept, f"exits {codes}")


@example("lost work", "add validates one read, the file is swapped: the validated bytes land", 0)
def _swap(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    script = f"""
import sys
from pathlib import Path
from pipeline.contributions import intake
from pipeline.core.settings import load_params
from pipeline.core.vocab import Vocabulary
source, project = Path({str(folder / 'swap.csv')!r}), Path({str(project)!r})
real = intake.validate_staged
def validate(*args, **kwargs):
    source.write_text("not,a,contribution\\n=1,2,3\\n")
    return real(*args, **kwargs)
intake.validate_staged = validate
validated = source.read_bytes()
destination, copied = intake.add_file(source, project, load_params(project), Vocabulary(project / "schemas"))
print("added the validated bytes" if destination.read_bytes() == validated else "error: other bytes landed")
"""
    (folder / "swap.csv").write_text(HEADER + row("PMID:1"), encoding="utf-8")
    code, output = command([sys.executable, "-c", script], project)
    return Outcome(code, output, True, "validated bytes" in output)


@example("lost work", "download --to . --replace in a folder of the user's files", 2)
def _replace_cwd(w: Work) -> Outcome:
    folder = w.folder()
    (folder / "my-notes.txt").write_text("mine\n")
    (folder / f"{TOP}.zip").write_bytes(release_zip())
    return watched(folder, lambda: ketamap("download", f"{TOP}.zip", "--to", ".", "--replace", cwd=folder))


@example("lost work", "dvc repro after a one-byte edit of data/raw/ (an arrow flipped)", "≠0")
def _raw_edit(w: Work) -> Outcome:
    project = w.reset()
    raw = next((project / "data/raw").glob("*.txt"))
    data = raw.read_bytes()
    for old, new in (("↑".encode(), "↓".encode()), (b"increase", b"decrease")):
        if old in data:
            raw.write_bytes(data.replace(old, new, 1))
            break
    return watched(project, lambda: dvc_repro(project))


# ---------------------------------------------------------------------------------------------
# Secrets

@example("secrets", "ZENODO_TOKEN with a newline (never shown, nothing sent)", 2)
def _token(w: Work) -> Outcome:
    from fake_zenodo import FakeZenodo

    folder, token = w.folder(), "tok-Zq81xN3v\nPp0sECRET"
    (folder / "dist").mkdir()
    (folder / "dist" / f"{TOP}.zip").write_bytes(release_zip())
    metadata = json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8")) | {"version": "0.1.0",
                                                                                   "creators": [{"name": "Doe, Jane"}]}
    (folder / ".zenodo.json").write_text(json.dumps(metadata), encoding="utf-8")
    with FakeZenodo(token) as fake:
        outcome = watched(folder, lambda: ketamap("deposit", "--publish", "--bundle", f"dist/{TOP}.zip", "--metadata",
                                                  ".zenodo.json", "--state", "deposits.json", cwd=folder,
                                                  env={"KETAMAP_ZENODO_API": fake.api, "ZENODO_TOKEN": token}))
        outcome.extra = fake.requests == [] and "Pp0sECRET" not in outcome.output
    return outcome


# ---------------------------------------------------------------------------------------------
# Hangs and blow-ups

def _special(kind: str, path: Path) -> None:
    os.mkfifo(path) if kind == "fifo" else path.symlink_to("/dev/zero")


for _kind in ("fifo", "zero"):
    _what = "a FIFO" if _kind == "fifo" else "a symlink to /dev/zero"

    def _validate_special(w: Work, kind=_kind) -> Outcome:
        folder = w.folder()
        _special(kind, folder / "in.csv")
        return watched(folder, lambda: ketamap("validate", "in.csv", "--no-package", cwd=folder, timeout=60))
    example("hangs", f"validate: {_what} as input", 2)(_validate_special)

    def _package_special(w: Work, kind=_kind) -> Outcome:
        folder = w.folder()
        for name, data in package_files().items():
            (folder / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / "pkg" / name).write_bytes(data)
        (folder / "pkg/data/findings.csv").unlink()
        _special(kind, folder / "pkg/data/findings.csv")
        return watched(folder, lambda: ketamap("validate", "pkg/datapackage.json", cwd=folder, timeout=60))
    example("hangs", f"validate: a package whose findings.csv is {_what}", 2)(_package_special)

    def _report_special(w: Work, kind=_kind) -> Outcome:
        project, folder = w.reset(), w.folder()
        published_tables(project, folder)
        (folder / "data/findings.csv").unlink()
        _special(kind, folder / "data/findings.csv")
        return watched(folder, lambda: ketamap("report", "--data", str(folder / "data"), "--out",
                                               str(folder / "out"), cwd=project, timeout=60))
    example("hangs", f"report --data: findings.csv is {_what}", 2)(_report_special)

    def _dvc_special(w: Work, kind=_kind) -> Outcome:
        project = w.reset()
        _special(kind, project / "data/contrib/dropped.csv")
        started = time.monotonic()
        outcome = watched(project, lambda: dvc_repro(project, timeout=45))
        outcome.note = f"{time.monotonic() - started:.0f} s; DVC hashes the stage's deps before any stage runs"
        return outcome
    example("hangs", f"dvc repro: {_what} in data/contrib/", "≠0")(_dvc_special)

    def _stage_special(w: Work, kind=_kind) -> Outcome:
        project = w.reset()
        _special(kind, project / "data/contrib/dropped.csv")
        return watched(project, lambda: command([sys.executable, "-m", "pipeline.cli.stage", "extract"], project,
                                                timeout=60))
    example("hangs", f"the extract stage itself: {_what} in data/contrib/", 2)(_stage_special)


def _corpus_case(name: str, *args: str):
    def run(w: Work) -> Outcome:
        from build import cases

        folder = w.folder()
        next(c for c in cases() if c.name == name).build(folder / name)
        started = time.monotonic()
        outcome = watched(folder, lambda: ketamap("validate", name, "--no-package", *args, cwd=folder, timeout=300))
        outcome.note = f"{time.monotonic() - started:.1f} s"
        return outcome
    return run


example("hangs", "validate: a CSV of 200,000 columns", 2)(_corpus_case("columns-200000.csv"))
example("hangs", "validate: a 412 KB xlsx with a 400 MB shared string", 2)(_corpus_case("shared-400mb.xlsx"))
example("hangs", "validate: a 1 MB xlsx that inflates to 1 GiB", 2)(_corpus_case("inflate-1gib.xlsx"))

for _label, _headers in (("its body", False), ("its headers", True)):
    def _drip(w: Work, headers=_headers) -> Outcome:
        folder = w.folder()
        url = serve(w.server, f"/drip-{headers}/{TOP}.zip", release_zip(), drip=2.0, drip_headers=headers)
        started = time.monotonic()
        outcome = watched(folder, lambda: ketamap("download", url, "--to", "out", "--deadline", "3", cwd=folder))
        outcome.note = f"{time.monotonic() - started:.1f} s with --deadline 3"
        outcome.extra = time.monotonic() - started < 15
        return outcome
    example("hangs", f"download: a server dripping {_label} a byte every 2 s", 2)(_drip)


# ---------------------------------------------------------------------------------------------
# Tracebacks (each a clear exit 2 or 1)

example("tracebacks", "validate: a header cell over 131,072 characters", 2)(_corpus_case("header-131073.csv"))
DEEP = ('{"a":' * 100_000 + "1" + "}" * 100_000).encode()


@example("tracebacks", "validate: datapackage.json nested 100,000 levels", 2)
def _deep_descriptor(w: Work) -> Outcome:
    folder = w.folder()
    (folder / "datapackage.json").write_bytes(DEEP)
    return watched(folder, lambda: ketamap("validate", "datapackage.json", cwd=folder))


@example("tracebacks", "deposit --dry-run: .zenodo.json nested 100,000 levels", 2)
def _deep_zenodo(w: Work) -> Outcome:
    folder = w.folder()
    (folder / f"{TOP}.zip").write_bytes(release_zip())
    (folder / ".zenodo.json").write_bytes(DEEP)
    return watched(folder, lambda: ketamap("deposit", "--dry-run", "--bundle", f"{TOP}.zip", "--metadata",
                                           ".zenodo.json", "--state", "d.json", cwd=folder,
                                           env={"ZENODO_TOKEN": "tok-good"}))


@example("tracebacks", "validate in the repository: schemas/contribution.schema.json nested 100,000 levels", 2)
def _deep_schema(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    (project / "schemas/contribution.schema.json").write_bytes(DEEP)
    (folder / "x.csv").write_text(HEADER + row(), encoding="utf-8")
    return watched(project, lambda: ketamap("validate", str(folder / "x.csv"), "--no-package", cwd=project))


@example("tracebacks", "validate in the repository: a broken schemas/molecules.csv", 2)
def _broken_molecules(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    (project / "schemas/molecules.csv").write_bytes(b'molecule_id,"label\n\x00x')
    (folder / "x.csv").write_text(HEADER + row(), encoding="utf-8")
    return watched(project, lambda: ketamap("validate", str(folder / "x.csv"), "--no-package", cwd=project))


@example("tracebacks", "diff on a zip bomb", 2)
def _diff_bomb(w: Work) -> Outcome:
    from build import inflation_bomb

    folder = w.folder()
    (folder / "old.zip").write_bytes(release_zip())
    files = with_checksums(package_files())
    (folder / "new.zip").write_bytes(zip_bytes(files))
    inflation_bomb(1 << 30, f"{TOP}/data/findings.csv", lambda: {k if k.startswith(TOP) else f"{TOP}/{k}": v
                                                                 for k, v in files.items()})(folder / "new.zip")
    return watched(folder, lambda: ketamap("diff", "old.zip", "new.zip", cwd=folder, timeout=300))


@example("tracebacks", "report: a molecule label with $...$ (drawn as written)", 0)
def _mathtext(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    data = published_tables(project, folder, lambda name, text: text.replace("BDNF", r"$\frac{BDNF$"))
    outcome = watched(data, lambda: ketamap("report", "--data", str(data), "--out", str(folder / "out"), cwd=project))
    svg = folder / "out" / "evidence-map.svg"
    outcome.extra = svg.is_file() and r"\frac{BDNF" in svg.read_text(encoding="utf-8")
    return outcome


@example("tracebacks", "report --out onto a file", 2)
def _report_onto_file(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    (folder / "a-file").write_bytes(b"keep me")
    return watched(folder, lambda: ketamap("report", "--out", str(folder / "a-file"), cwd=project))


@example("tracebacks", "report --out into an unwritable folder (/proc, even as root)", 2)
def _report_unwritable(w: Work) -> Outcome:
    project = w.reset()
    return watched(project, lambda: ketamap("report", "--out", "/proc/ketamap-report", cwd=project))


# ---------------------------------------------------------------------------------------------
# Device nodes replaced

@example("device nodes", "template --output /dev/full (as root)", 2)
def _dev_full(w: Work) -> Outcome:
    before = os.lstat("/dev/full")
    code, output = ketamap("template", "--output", "/dev/full", cwd=w.folder())
    after = os.lstat("/dev/full")
    same = (after.st_mode, after.st_rdev, after.st_ino) == (before.st_mode, before.st_rdev, before.st_ino)
    return Outcome(code, output, same, note=f"root: {os.geteuid() == 0}")


@example("device nodes", "template --output onto a FIFO", 2)
def _template_fifo(w: Work) -> Outcome:
    folder = w.folder()
    os.mkfifo(folder / "out.csv")
    return watched(folder, lambda: ketamap("template", "--output", "out.csv", cwd=folder, timeout=60))


# ---------------------------------------------------------------------------------------------
# Messages that mislead

def _says(run: Callable[[Work], Outcome], *fragments: str, absent: tuple[str, ...] = ()):
    def check(w: Work) -> Outcome:
        outcome = run(w)
        outcome.extra = outcome.extra and all(f in outcome.output for f in fragments) and not any(
            a in outcome.output for a in absent)
        return outcome
    return check


example("messages", "validate: 'incrеase' with a Cyrillic е (U+0435) shows the code point", 1)(_says(_validate_text(
    (HEADER + row(direction="incr\u0435ase")).encode()), "U+0435"))
example("messages", "validate: ':x:' in a value is printed literally", 1)(_says(_validate_text(
    (HEADER + row(direction=":x: up")).encode()), ":x:", absent=("\u274c",)))


@example("messages", "add: a file name with a newline is printed escaped", 1)
def _newline_name(w: Work) -> Outcome:
    project, folder = w.reset(), w.folder()
    source = folder / "a\nerror [forged] all fine.csv"
    source.write_text(HEADER + row(direction="sideways"), encoding="utf-8")
    outcome = watched(project, lambda: ketamap("add", str(source), cwd=project))
    outcome.extra = "a\\nerror [forged]" in outcome.output and not any(
        line.startswith("error [forged]") for line in outcome.output.splitlines())
    return outcome


example("messages", "validate: an encrypted xlsx (an OLE file) says so, not BadZipFile", 2)(_says(_validate_text(
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "secret.xlsx"), "password", absent=("BadZipFile",)))
example("messages", "validate: an .xls renamed .xlsx says so, not BadZipFile", 2)(_says(_validate_text(
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "old.xlsx"), ".xls", absent=("BadZipFile",)))

for _kind in ("fifo", "folder"):
    def _add_special(w: Work, kind=_kind) -> Outcome:
        project, folder = w.reset(), w.folder()
        os.mkfifo(folder / "in.csv") if kind == "fifo" else (folder / "in.csv").mkdir()
        return watched(project, lambda: ketamap("add", str(folder / "in.csv"), cwd=project, timeout=60))
    example("messages", f"add on a {_kind} says not-a-file, not 'no such file'", 2)(
        _says(_add_special, "[not-a-file]", absent=("no such file",)))


@example("messages", "report on a duplicated finding_id exits 1", 1)
def _duplicate_id(w: Work) -> Outcome:
    def twice(name: str, text: str) -> str:  # the first finding again on the next line
        lines = text.splitlines(keepends=True)
        return "".join(lines[:2] + lines[1:]) if name == "findings" else text

    project, folder = w.reset(), w.folder()
    data = published_tables(project, folder, twice)
    return watched(data, lambda: ketamap("report", "--data", str(data), "--out", str(folder / "out"), cwd=project))


@example("messages", "diff --format markdown: [x](javascript:...) shown literally", 0)
def _markdown(w: Work) -> Outcome:
    folder = w.folder()
    for side, label in (("old", None), ("new", "[click](javascript:alert(1))")):
        files = package_files()
        if label:
            files["data/findings.csv"] = files["data/findings.csv"].replace(b",BDNF,", f",{label},".encode(), 1)
        for name, data in files.items():
            (folder / side / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / side / name).write_bytes(data)
    from markdown_it import MarkdownIt

    outcome = watched(folder, lambda: ketamap("diff", "old", "new", "--format", "markdown", cwd=folder))
    html = MarkdownIt("commonmark").enable("table").render(outcome.output)
    outcome.extra = "<a " not in html and "javascript:" in outcome.output and "Changed" in outcome.output
    outcome.output = next((line for line in outcome.output.splitlines() if "javascript" in line), outcome.output)
    return outcome


# ---------------------------------------------------------------------------------------------
# kill -9 leftovers

@example("kill -9", "download after a killed one left .ketamap-download-<dead pid>-*/ (swept)", 0)
def _stale_staging(w: Work) -> Outcome:
    folder = w.folder()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    left = folder / f".ketamap-download-{child.pid}-abc123"
    (left / "package").mkdir(parents=True)
    (left / "release.zip").write_bytes(b"partial")
    (folder / f"{TOP}.zip").write_bytes(release_zip())
    code, output = ketamap("download", f"{TOP}.zip", "--to", "out", cwd=folder)
    swept = not left.exists() and (folder / "out" / "datapackage.json").is_file()
    return Outcome(code, output, True, swept, "the stale staging folder is gone, the package placed")


@example("kill -9", "dvc repro with a corrupted .dvc/tmp/rwlock (docs/troubleshooting.md's fix, then rerun)", "≠0")
def _rwlock(w: Work) -> Outcome:
    project = w.reset()
    lock = project / ".dvc" / "tmp" / "rwlock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text('{"read": {')
    outcome = watched(project, lambda: dvc_repro(project))
    documented = "rm -f .dvc/tmp/rwlock" in (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    lock.unlink()
    again, _ = dvc_repro(project)
    outcome.extra = documented and again == 0 and "RWLock" in outcome.output
    outcome.note = f"after the documented fix dvc repro exits {again}"
    return outcome


# ---------------------------------------------------------------------------------------------
# The hostile corpus, counted per class of the "What to build"

CLASSES = {
    1: "a bundle holds exactly what it declares (undeclared files, remote references, transfers, --replace, staging)",
    2: "a failed build leaves every committed output as it was (settings, raw checksum)",
    3: "every row read or the file refused (quotes, dimension, NUL, formulas, invisible/lookalike, identifiers)",
    4: "limits instead of blow-ups (sizes, inflation, shared strings, FIFOs/devices/folders, JSON depth)",
    5: "add is atomic and exact; outputs refuse non-regular targets",
    6: "secrets and text stay inert (token, markdown, escaping, mathtext)",
    0: "other hostile checks (deposit metadata) and the corpus' own bookkeeping",
}
FILES = ["tests/test_hostile_publish.py", "tests/test_hostile_files.py", "tests/test_hostile_values.py",
         "tests/test_hostile_cli.py", "tests/test_settings.py", "tests/test_add.py"]
BY_KLASS = {"undeclared files": 1, "remote references": 1, "transfers": 1, "replace": 1, "staging": 1,
            "token": 6, "markdown": 6, "deposit metadata": 0, "quotes": 3, "dimension": 3, "nul": 3, "formula": 3,
            "invisible": 3, "lookalike": 3, "identifier": 3, "size": 4, "inflation": 4, "shared-strings": 4,
            "special": 4}
BY_TEST = {"test_a_fifo_in_contrib": 4, "test_a_packages_table": 4, "test_add_refuses_and_changes_nothing": 5,
           "test_a_descriptor_nested": 4, "test_report_out_onto": 5, "test_a_molecule_label": 6,
           "test_add_prints_a_hostile_file_name": 6, "test_verification_never_involves": 1,
           "test_a_damaged_vocabulary": 4, "test_validate_with_a_damaged_schema": 4, "test_diff_refuses_a_zip": 4,
           "test_report_on_a_duplicated": 3, "test_report_out_where": 5,
           "test_corpus_covers": 0, "test_the_builder": 0, "test_the_corpus_covers": 0}


def classify(node: str) -> int | None:
    """The issue's class (1-6, 0 other) of one collected test, or None for a test that is not hostile."""
    from build import cases as file_cases
    from hostile.publish import all_cases
    from hostile_values import corpus

    path, _, test = node.partition("::")
    function, _, param = test.partition("[")
    param = param.rstrip("]")
    for prefix, klass in BY_TEST.items():
        if function.startswith(prefix):
            return klass
    if path.endswith("test_settings.py"):
        return 2
    if path.endswith("test_add.py"):
        hostile = ("two_adds", "copies_exactly", "never_replaces", "never_overwrites", "resolves_outside", "fifo",
                   "template_output")
        return 5 if any(word in function for word in hostile) else None
    if path.endswith("test_hostile_values.py"):  # ids are "kind:column:value" (pytest escapes the value)
        return BY_KLASS.get(param.split(":")[0]) if {param.split(":")[0]} <= {c.kind for c in corpus()} else None
    named = {c.name: c.klass for c in all_cases()} | {c.name: c.klass for c in file_cases()}
    return BY_KLASS.get(named.get(param, ""), None)


def corpus_counts(run_tests: bool) -> dict[int, list[int]]:
    """{class: [tried, held]}; held is only known when the tests are run (else the same as tried)."""
    outcome: dict[str, bool] = {}
    if run_tests:
        with tempfile.NamedTemporaryFile(suffix=".xml") as report:
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report.name}",
                            *FILES], cwd=ROOT, capture_output=True, text=True)
            import xml.etree.ElementTree as ElementTree

            for case in ElementTree.parse(report.name).iter("testcase"):
                path = case.get("classname", "").replace(".", "/") + ".py"
                failed = any(child.tag in ("failure", "error", "skipped") for child in case)
                outcome[f"{path}::{case.get('name')}"] = not failed
    else:
        listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                 *FILES], cwd=ROOT, capture_output=True, text=True).stdout
        outcome = {line: True for line in listed.splitlines() if "::" in line}
    counts: dict[int, list[int]] = {k: [0, 0] for k in CLASSES}
    for node, passed in outcome.items():
        klass = classify(node)
        if klass is not None:
            counts[klass][0] += 1
            counts[klass][1] += passed
    return counts


def slow_counts() -> dict[int, int]:
    from build import cases as file_cases

    counts: dict[int, int] = {}
    for case in file_cases():
        if case.slow:
            counts[BY_KLASS[case.klass]] = counts.get(BY_KLASS[case.klass], 0) + 1
    return counts


# ---------------------------------------------------------------------------------------------

def run_examples(only: str | None) -> list[tuple[Example, Outcome, float]]:
    chosen = [e for e in EXAMPLES if not only or only in e.name or only in e.klass]
    results = []
    with tempfile.TemporaryDirectory(prefix="ketamap-hostile-") as scratch:
        server_iter = running_server()
        server = next(server_iter)
        try:
            work = Work(Path(scratch), server)
            for item in chosen:
                started = time.monotonic()
                try:
                    outcome = item.run(work)
                except Exception as error:  # the script's own failure: shown as a line, not a traceback
                    outcome = Outcome("crash", f"{type(error).__name__}: {error}", False, False)
                results.append((item, outcome, time.monotonic() - started))
                print(line(item, outcome, results[-1][2]), flush=True)
        finally:
            next(server_iter, None)
    return results


def line(item: Example, outcome: Outcome, seconds: float) -> str:
    message = first_line(outcome.output).replace("|", "\\|")[:110]
    note = f" ({outcome.note})" if outcome.note else ""
    return (f"| {item.klass} | {item.name} | {outcome.code} (promised {item.promised}) | {message}{note} | "
            f"{'yes' if 'Traceback' in outcome.output else 'no'} | {'yes' if outcome.unchanged else 'NO'} | "
            f"{'held' if item.held(outcome) else 'NOT HELD'} | {seconds:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run the examples whose name or class holds this text")
    parser.add_argument("--no-examples", action="store_true", help="only count the corpus")
    parser.add_argument("--run-tests", action="store_true", help="run the corpus' tests to count what held")
    args = parser.parse_args()
    if not args.no_examples:
        print("| class | example | exit | first line of the message | traceback | tree unchanged | | s |")
        print("|---|---|---|---|---|---|---|---|")
        results = run_examples(args.only)
        held = sum(item.held(outcome) for item, outcome, _ in results)
        print(f"\n{held} of {len(results)} examples held.")
    counts, slow = corpus_counts(args.run_tests), slow_counts()
    print("\n| class | cases tried (suite) | held | slow cases (benchmarks/hostile_slow.py) |\n|---|---|---|---|")
    for klass, title in CLASSES.items():
        tried, passed = counts[klass]
        print(f"| {klass}. {title} | {tried} | {passed if args.run_tests else '(run with --run-tests)'} | "
              f"{slow.get(klass, 0)} |")
    total = sum(c[0] for k, c in counts.items() if k)
    print(f"\n{total} hostile cases in the suite (classes 1-6), {sum(slow.values())} slow ones in the benchmark.")


if __name__ == "__main__":
    main()
