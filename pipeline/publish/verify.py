"""`ketamap validate`'s library: contributions, curation files and whole packages (a datapackage.json,
a folder holding one, a release zip), one CheckedFile per path."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from functools import partial
from pathlib import Path

from pipeline.contributions.package_index import PackageIndex
from pipeline.contributions.rules import CheckedFile, _finish, check_file
from pipeline.contributions.table import LIMITS, SheetLimits
from pipeline.core.files import input_refusal
from pipeline.core.problems import Problem, ProblemsFound, exit_code as problems_exit_code
from pipeline.core.settings import curation_folder
from pipeline.core.vocab import Vocabulary

SHEET_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".ods")


def is_package(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in (".json", ".zip")


def check_package(path: Path, progress=None) -> CheckedFile:
    """A whole package: a datapackage.json, a folder holding one, or a release zip (checksums first);
    `progress(text)` hears what is being checked."""
    from pipeline.datapackage.validation import validate_package  # here: a contribution never needs it
    from pipeline.publish.download import Limits, gather_zip, verify_staged

    shown = str(path)
    checked = CheckedFile(shown, None, [], [], 0)
    if not path.exists():
        return _finish(checked, [Problem("not-found", "no such file or folder", file=shown)], None, None)
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="ketamap-validate-") as staged:
            try:
                try:
                    gather_zip(path, Path(staged), Limits(), [])
                except ProblemsFound as found:  # the zip cannot be opened as a release: unreadable input
                    raise ProblemsFound([Problem("unreadable-package", "the zip cannot be opened as a release "
                                                 "package", file=shown), *found.problems]) from None
                verify_staged(Path(staged), partial(validate_package, progress=progress), [], None)
                checked.row_count = _findings_rows(Path(staged) / "datapackage.json")
                problems = []
            except ProblemsFound as found:
                problems = found.problems
        return _finish(checked, problems, None, None)
    descriptor = path / "datapackage.json" if path.is_dir() else path
    if not descriptor.is_file():
        if path.is_dir() and path.suffix.lower() in SHEET_SUFFIXES:  # `x.csv/` was meant as a file
            return _finish(checked, [input_refusal(path, shown)], None, None)
        return _finish(checked, [Problem("not-found", "the folder has no datapackage.json", file=shown)], None, None)
    problems = _local_package_problems(descriptor, progress)
    checked.row_count = _findings_rows(descriptor)
    return _finish(checked, problems, None, None)


def _local_package_problems(descriptor: Path, progress=None) -> list[Problem]:
    """A package on disk: its resource, schema and dialect references local and safe, then validated
    with nothing fetched (validate_package reads only local files; frictionless is not involved)."""
    from pipeline.datapackage.validation import validate_package
    from pipeline.publish.contents import read_descriptor, resource_files

    try:
        _, problems = resource_files(read_descriptor(descriptor))
    except ProblemsFound as found:
        problems = found.problems
    if problems:
        return [Problem(p.code, p.message, file=str(descriptor), column=p.column, value=p.value,
                        suggestion=p.suggestion) for p in problems]
    return validate_package(descriptor, progress)


def findings_path(package: Path) -> Path | None:
    """The findings table of a package given as a findings CSV, a datapackage.json or a folder."""
    if package.is_file() and package.suffix.lower() == ".csv":
        return package
    descriptor = package / "datapackage.json" if package.is_dir() else package
    if descriptor.is_file():
        try:
            resources = json.loads(descriptor.read_text(encoding="utf-8"))["resources"]
            relative = next(r["path"] for r in resources if r.get("name") == "findings")
        except (ValueError, KeyError, TypeError, StopIteration, OSError):
            return None
        return descriptor.parent / relative if isinstance(relative, str) else None
    candidate = package / "data" / "findings.csv"
    return candidate if candidate.is_file() else None


def _findings_rows(descriptor: Path) -> int:
    path = findings_path(descriptor)
    if path is None or input_refusal(path) is not None:
        return 0
    try:
        with open(path, "rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    except (OSError, TypeError):
        return 0


def validate_paths(paths: list[Path], package_findings: PackageIndex | list[dict[str, str]] | None = None,
                   vocab: Vocabulary | None = None, max_errors: int | None = None,
                   progress=None, limits: SheetLimits = LIMITS) -> list[CheckedFile]:
    vocab = vocab or Vocabulary()
    return [check_package(path, progress) if is_package(path) else
            check_file(path, vocab, package_findings, max_errors=max_errors, with_rows=False, limits=limits)
            for path in paths]


def exit_code(files: list[CheckedFile]) -> int:
    return problems_exit_code([p for f in files for p in f.problems])



def validate_files(paths: list[Path], findings: PackageIndex | list[dict] | None, vocab: Vocabulary, max_errors: int | None,
                   curation: bool = False, progress=None, limits: SheetLimits = LIMITS) -> list:
    """`ketamap validate`: files in the curation folder (or all, with `curation`) as curation
    files, the rest as contributions or packages (pipeline.contributions.rules); one report per path, in order."""
    folder = curation_folder(Path("."))
    is_curation = [curation or Path(p).resolve().parent == folder.resolve() for p in paths]
    chosen = [p for p, yes in zip(paths, is_curation) if yes]
    curated = iter([])
    if chosen and findings is None:
        curated = iter([CheckedFile(str(p), None, [], [Problem(
            "not-found", "a curation file needs the package's findings to check its ids", file=str(p),
            suggestion="run it in the repository (data/findings.csv) or give --package")], 0) for p in chosen])
    elif chosen:
        from pipeline.contributions.intake import check_curation_paths  # here: a contribution never needs it

        curated = iter([_curation_report(c) for c in check_curation_paths(chosen, _rows(findings), vocab, folder)])
    others = [p for p, yes in zip(paths, is_curation) if not yes]
    others = iter(_as_curation_if_it_is_one(path, f, findings, vocab, folder)
                  for path, f in zip(others, validate_paths(others, findings, vocab, max_errors, progress, limits)))
    return [next(curated) if yes else next(others) for yes in is_curation]


def _as_curation_if_it_is_one(path: Path, checked, findings: list[dict] | None, vocab: Vocabulary, folder: Path):
    """A file whose columns are a curation file's (finding_id, no molecule) is checked as one; without the
    package's findings to check its ids against, the report says which option to add."""
    written = {(p.value or "").strip().casefold() for p in checked.problems if p.code == "unknown-column"}
    missing = {p.column for p in checked.problems if p.code == "missing-column"}
    if "finding_id" not in written or "molecule" not in missing:
        return checked
    if findings is not None:
        from pipeline.contributions.intake import check_curation_paths

        return _curation_report(check_curation_paths([path], _rows(findings), vocab, folder)[0])
    problem = Problem("looks-like-curation", "its columns are a curation file's (finding_id, no molecule), "
                      "and curation files are checked against the package's findings", file=checked.path,
                      suggestion="add `--curation --package data/findings.csv` (or run it in the repository)")
    return _finish(CheckedFile(checked.path, checked.sheet, [], [], checked.row_count), [problem], None, None)


def _rows(findings: PackageIndex | list[dict] | None) -> list[dict]:
    """Curation files check finding ids against every finding: the rows of an index, read on demand."""
    return findings.rows() if isinstance(findings, PackageIndex) else list(findings or [])


def _curation_report(checked) -> CheckedFile:
    return CheckedFile(checked.path, checked.sheet, [], checked.problems, checked.row_count,
                       counts=dict(sorted(Counter(p.code for p in checked.problems).items())))


