"""What people add, folded into the build: accepted contributions and the curation overlay.

`data/contrib/` holds accepted contribution files, `data/curation/` curation files (each folder
also holds a README.md, which is not data). The extract stage reads them in name order, checks
every file as `ketamap validate` does, and stops with all problems when one is invalid, so the
last good package stays as it was. A contributed finding's id is a hash of its content: the
same finding gets the same id whatever the file's name or row order.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pipeline.contributions.curation import (
    CheckedCuration,
    apply_curation,
    check_curation,
)
from pipeline.contributions.batch import check_sheets
from pipeline.contributions.credit import CREDITS_FILE, contributors_of, with_credits
from pipeline.core.files import atomic_write_bytes, csv_bytes, input_refusal, not_regular, read_input, sha256_file
from pipeline.core.people import Contributor
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.contributions.package_index import PackageIndex
from pipeline.core.vocab import Vocabulary
from pipeline.findings.ids import content_key, finding_id
from pipeline.findings.record import finding_record

ID_PREFIX = finding_id("")[:4]  # "fnd-": content_ids hashes as finding_id does

NOT_DATA = {"README.md", CREDITS_FILE}
# By sending a file, a contributor or curator agrees to publish it under the package's licence.
CONTRIBUTION_LICENSE = "CC-BY-4.0"


def input_files(folder: Path) -> list[Path]:
    """The data files of a folder, sorted by name (hidden files and README.md are not data; a link
    out of the folder is never read: `nested_folders` reports it)."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.name not in NOT_DATA and not _links_out(p, folder)), key=lambda p: p.name)


def _links_out(path: Path, folder: Path) -> bool:
    """A symbolic link whose target lies outside `folder` (a link to a file beside it is kept)."""
    if not path.is_symlink():
        return False
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):  # outside, unreadable, or a loop of links
        return True
    return False


def nested_folders(folder: Path, root: Path) -> list[Problem]:
    """A folder inside data/contrib/ or data/curation/ would be skipped silently: say so instead."""
    if not folder.is_dir():
        return []
    entries = [p for p in sorted(folder.iterdir()) if not p.name.startswith(".")]
    links_out = [p for p in entries if _links_out(p, folder) and not _special(p)]  # a link to a device: not-a-file
    return [Problem("nested-folder", "files in sub-folders are not read", file=_display(p, root),
                    suggestion=f"move its files into {_display(folder, root)}/ itself")
            for p in entries if p.is_dir() and p not in links_out] + [
        Problem("link-outside-folder", "this file is a link to a file outside its folder; it is not read",
                file=f"{_display(folder, root)}/{p.name}",
                suggestion="copy the file into the folder (`ketamap add FILE`) instead of linking to it")
        for p in links_out] + [input_refusal(p, _display(p, root)) for p in entries
                               if not p.is_dir() and p not in links_out and _special(p)]


def _special(path: Path) -> bool:
    """A FIFO, a device, a socket or a dangling link among the data files: refused, not skipped."""
    try:
        return not_regular(path.stat().st_mode) is not None
    except OSError:
        return True


def source_id_for(prefix: str, path: Path) -> str:
    """`data/contrib/Smith 2024.xlsx` → `contrib-smith-2024`."""
    return f"{prefix}-" + (re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "file")


def file_source(source_id: str, kind: str, display: str, path: Path, authors: str = "",
                contributors: list[Contributor] = ()) -> dict:
    return {"source_id": source_id, "kind": kind, "title": path.name, "authors": authors,
            "contributors": ";".join(c.record for c in contributors),
            "license": CONTRIBUTION_LICENSE, "path": display, "sha256": sha256_file(path)}


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _distinct_source_ids(paths: list[Path], prefix: str, root: Path) -> list[Problem]:
    seen: dict[str, Path] = {}
    problems = []
    for path in paths:
        source_id = source_id_for(prefix, path)
        if source_id in seen:
            problems.append(Problem("source-id-clash", f"the file's source id {source_id!r} is also that of "
                                    f"{seen[source_id].name}", file=_display(path, root), value=path.name,
                                    suggestion="rename one of the two files"))
        seen.setdefault(source_id, path)
    return problems


def fold_in(tables: dict[str, list[dict]], root: Path, params: dict, vocab: Vocabulary) -> dict[str, list[dict]]:
    """The extracted tables plus accepted contributions, then the curation overlay; raise every problem.
    The findings come back as a `Findings` table: the extracted ones as dicts, then the accepted
    files' as one polars frame, in file order (a million contributed findings never become a million dicts)."""
    findings = Findings(list(tables["findings"]))
    sources = list(tables["sources"])
    problems: list[Problem] = []

    problems += nested_folders(root / params["contrib"]["dir"], root)
    problems += nested_folders(root / params["curation"]["dir"], root)
    contrib_files = input_files(root / params["contrib"]["dir"])
    checked_files, columns, accepted = [], vocab.field_names("findings"), []
    if contrib_files:
        from pipeline.contributions.sheets import read_sheets

        problems += _distinct_source_ids(contrib_files, "contrib", root)
        # every file in one frame, checked against the package's index built once (batch.check_sheets)
        checked_files = check_sheets(read_sheets(contrib_files), vocab, PackageIndex.of(findings.rows), frames=True)
    for path, checked in zip(contrib_files, checked_files):
        display = _display(path, root)
        errors = [p for p in checked.problems if p.severity == "error"]
        if errors:
            problems += [_with_file(p, display) for p in errors]
            continue
        source_id = source_id_for("contrib", path)
        credit, bad_credit = contributors_of(path, display, root / params["contrib"]["dir"])
        problems += bad_credit
        sources.append(file_source(source_id, "contribution", display, path, ";".join(c.name for c in credit), credit))
        accepted.append((checked.rows, source_id))
    if accepted:  # every accepted file's findings made in one pass, in file order (not a pass per file)
        import polars as pl

        rows = pl.concat([frame for frame, _ in accepted], how="vertical")
        source_ids = pl.Series([source_id for frame, source_id in accepted for _ in range(frame.height)],
                               dtype=pl.String)
        findings.frames.append(contributed_frame(rows, source_ids, vocab, columns))

    curation_files = input_files(root / params["curation"]["dir"])
    problems += _distinct_source_ids(curation_files, "curation", root)
    curations = check_curation([(p, _display(p, root)) for p in curation_files], vocab, FindingsById(findings))
    problems += [p for checked in curations for p in checked.problems if p.severity == "error"]
    if problems:
        raise ProblemsFound(problems)
    assignments = [a for checked in curations for a in checked.assignments]
    for path, checked in zip(curation_files, curations):
        curators = list(dict.fromkeys(a.curator for a in checked.assignments))
        sources.append(file_source(source_id_for("curation", path), "curation", checked.path, path, ";".join(curators)))
    return {**tables, "findings": findings.curated(assignments), "sources": sources}


class Findings:
    """The findings table as the build holds it: rows as dicts (the review's), then polars frames of
    contributed findings (columns and values as `contributed_findings` gives them), in that order.
    Iterating gives every finding as a dict, one at a time."""

    def __init__(self, rows: list[dict], frames: list | None = None):
        self.rows = rows
        self.frames = frames or []

    def __iter__(self):
        yield from self.rows
        for frame in self.frames:
            yield from frame.iter_rows(named=True)

    def __len__(self) -> int:
        return len(self.rows) + sum(frame.height for frame in self.frames)

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def csv_bytes(self, fieldnames: list[str]) -> bytes:
        """The table as core.files.csv_bytes writes its dicts; the frames' cells made text by polars."""
        import polars as pl

        def text(name: str, dtype):
            if dtype == pl.Boolean:
                return pl.when(pl.col(name)).then(pl.lit("true")).otherwise(pl.lit("false")).alias(name)
            return pl.col(name).cast(pl.String)

        cells = (row for frame in self.frames
                 for row in frame.select(text(n, frame.schema[n]) for n in fieldnames).iter_rows())
        return csv_bytes(fieldnames, self.rows, cells)

    def curated(self, assignments: list) -> "Findings":
        """apply_curation on the table (a contributed finding is never curated: it is located and
        cited, so curation refuses it; should one be, its frames become dicts and get the same treatment)."""
        ids = {a.finding_id for a in assignments}
        if ids and any(frame["finding_id"].is_in(list(ids)).any() for frame in self.frames):
            return Findings(apply_curation(list(self), assignments))
        return Findings(apply_curation(self.rows, assignments), self.frames)


class FindingsById(Mapping):
    """finding_id → finding (a dict) over a Findings table; the frames are indexed on first lookup."""

    def __init__(self, findings: Findings):
        self._findings = findings
        self._rows = {f["finding_id"]: f for f in findings.rows}
        self._positions: dict[str, tuple[int, int]] | None = None

    def _index(self) -> dict[str, tuple[int, int]]:
        if self._positions is None:
            self._positions = {fid: (number, position) for number, frame in enumerate(self._findings.frames)
                               for position, fid in enumerate(frame["finding_id"].to_list())}
        return self._positions

    def __getitem__(self, finding_id: str) -> dict:
        if self._findings.frames and finding_id in self._index():
            number, position = self._index()[finding_id]
            return self._findings.frames[number].row(position, named=True)
        return self._rows[finding_id]

    def __iter__(self):
        yield from self._rows
        yield from (fid for fid in self._index() if fid not in self._rows)

    def __len__(self) -> int:
        return len(self._rows) + sum(1 for fid in self._index() if fid not in self._rows)


def contributed_frame(rows, source_id, vocab: Vocabulary, columns: list[str]):
    """`contributed_findings` for a frame of valid rows (columns ROW_KEYS): the same findings, as a
    frame of `columns` (the findings table's, vocab.field_names("findings")). `source_id`: the file's,
    or a Series giving each row's (rows of several files)."""
    import polars as pl

    truncated = {m["molecule_id"]: m["label_truncated"] == "true" for m in vocab.molecules}
    frame = rows.with_columns(
        finding_id=content_ids(rows), source_id=pl.lit(source_id) if isinstance(source_id, str) else source_id,
        location_status=pl.lit("reported"),
        citation_status=pl.lit("cited"), source_cell=pl.lit(""),
        label_truncated=pl.col("molecule_id").replace_strict(truncated, return_dtype=pl.Boolean),
        source_row=pl.col("line"),
        species_id=pl.col("species").replace_strict({s["name"]: s["taxon_id"] for s in vocab.species}, default="",
                                                    return_dtype=pl.String))
    return frame.select(columns)


def _with_file(problem: Problem, display: str) -> Problem:
    from dataclasses import replace

    return replace(problem, file=display)


def contributed_findings(rows: list[dict[str, str]], source_id: str, vocab: Vocabulary) -> list[dict]:
    """The valid rows of one contribution file as findings: located and cited by the contributor."""
    findings = []
    for row in rows:
        molecule = vocab.molecule_by_id[row["molecule_id"]]
        findings.append(finding_record(
            finding_id=finding_id("contribution", *content_key(row)),
            source_id=source_id,
            molecule_label=row["molecule_label"],
            molecule=molecule,
            measure=row["measure"],
            direction=row["direction"],
            population=row["population"],
            region_id=row["region_id"],
            location_status="reported",
            species=row["species"],
            species_id=vocab.species_id(row["species"]),
            qualifier=row["qualifier"],
            references=row["references"],
            citation_status="cited",
            label_truncated=molecule["label_truncated"] == "true",
            source_row=row["line"],
            source_cell="",
            source_text=row["source_text"],
            notes=row["notes"],
        ))
    return findings


def content_ids(rows):
    """finding_id("contribution", *content_key(row)) of every row of a frame: the key built by polars
    (case folded by Python once per distinct value, references deduplicated and sorted as lists),
    then hashed as finding_id hashes it."""
    import hashlib

    import polars as pl

    def folded(name: str):
        distinct = rows[name].unique().to_list()
        return pl.col(name).replace_strict({v: v.casefold() for v in distinct}, return_dtype=pl.String)

    references = (pl.col("references").str.split(";").list.eval(pl.element().filter(pl.element() != ""))
                  .list.unique().list.sort().list.join(";"))
    keys = rows.select(pl.concat_str([pl.lit("contribution"), "molecule_id", "measure", "direction", "population",
                                      "region_id", folded("species"), folded("qualifier"), references],
                                     separator="\x1f")).to_series().to_list()
    return pl.Series([ID_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12] for key in keys],
                     dtype=pl.String)


def published_findings(root: Path, params: dict, shown: str) -> PackageIndex:
    """The published findings as an index (its key columns, cached: `PackageIndex.read`); rows on demand."""
    published = root / params["paths"]["published"] / "findings.csv"
    if not published.is_file():
        raise Refused([Problem("no-package", f"{_display(published, root)} is missing", file=shown,
                               suggestion="run `dvc repro` first")])
    try:
        return PackageIndex.read(published)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise Refused([Problem("unreadable-file", f"cannot read the package's findings: {error}",
                               file=_display(published, root))]) from None


def check_curation_paths(paths: list[Path], findings: list[dict], vocab: Vocabulary,
                         folder: Path, shown: list[str] | None = None) -> list[CheckedCuration]:
    """Curation files checked against `findings` and, for double assignments, after the other
    files already in the curation folder (as the build will read them); `shown`: their names in messages."""
    chosen = {Path(p).resolve() for p in paths}
    existing = [(p, p.as_posix()) for p in input_files(folder) if p.resolve() not in chosen]
    shown = shown or [str(p) for p in paths]
    return check_curation(existing + [(Path(p), s) for p, s in zip(paths, shown)], vocab, findings)[len(existing):]


class Refused(ProblemsFound):
    """The file cannot be added as asked (unreadable, or its name is taken): a usage error, not bad data."""


def add_file(path: Path, root: Path, params: dict, vocab: Vocabulary, curation: bool = False,
             contributors: list[Contributor] = ()) -> tuple[Path, bool]:
    """Validate `path` as the build will, then place exactly the bytes validated in the contrib (or
    curation) folder.

    The file is read once; those bytes are written to a private temporary file in the folder,
    checked there, and linked to their name only if no file has it (so of two adds of one name at
    once, one wins and the other is refused). `contributors` (given at `ketamap add --contributor`)
    are recorded in CONTRIBUTORS.csv beside it. Returns the destination and whether it was placed
    (False: the same file is already there). Raises ProblemsFound when the file is invalid and
    Refused when it cannot be placed; either way nothing changes.
    """
    path, shown = Path(path), str(path)
    data = read_regular_file(path, shown)
    folder = _folder_inside(root, params["curation" if curation else "contrib"]["dir"], shown)
    destination = folder / path.name
    if path.name in NOT_DATA or path.name.startswith("."):
        raise Refused([Problem("reserved-name", f"{path.name!r} is not taken as data in {_display(folder, root)}/",
                               file=shown, suggestion="rename the file")])
    if contributors and curation:
        raise Refused([Problem("usage", "--contributor is for contributions; a curation file names its curator "
                               "in its `curator` column", file=shown)])
    if os.path.lexists(destination):
        return _credit(_already_there(destination, data, folder, root, shown), folder, path.name, contributors)
    prefix = "curation" if curation else "contrib"
    others = [p for p in input_files(folder) if source_id_for(prefix, p) == source_id_for(prefix, path)]
    if others:
        raise Refused([Problem("source-id-clash", f"its source id {source_id_for(prefix, path)!r} is that of "
                               f"{_display(others[0], root)}", file=shown, suggestion="rename your file")])
    findings = published_findings(root, params, shown)
    handle, staged = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=folder)  # O_EXCL
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        problems = validate_staged(Path(staged), shown, findings, vocab, folder, curation)
        if not curation:
            problems += contributors_of(Path(staged), shown, folder)[1]
        if any(p.severity == "error" and p.exit_class == "input" for p in problems):  # refused unread: exit 2
            raise Refused(problems)
        if any(p.severity == "error" for p in problems):
            raise ProblemsFound(problems)
        try:
            os.link(staged, destination)  # fails if the name exists: never overwrites
        except FileExistsError:
            return _already_there(destination, data, folder, root, shown)
    finally:
        os.unlink(staged)
    return _credit((destination, True), folder, path.name, contributors)


def _credit(placed: tuple[Path, bool], folder: Path, name: str, contributors) -> tuple[Path, bool]:
    """Record the contributors given at `ketamap add` for the placed (or already present) file."""
    if contributors:
        atomic_write_bytes(folder / CREDITS_FILE, with_credits(folder, name, list(contributors)))
    return placed


def validate_staged(staged: Path, shown: str, findings: PackageIndex, vocab: Vocabulary, folder: Path,
                    curation: bool) -> list[Problem]:
    """Every problem of the staged copy, worded with the name the user gave."""
    if curation:
        return check_curation_paths([staged], findings.rows(), vocab, folder, [shown])[0].problems
    from pipeline.contributions.rules import check_sheet
    from pipeline.contributions.sheets import read_sheet

    return check_sheet(read_sheet(staged, shown), vocab, findings).problems


def read_regular_file(path: Path, shown: str) -> bytes:
    """The bytes of a regular file, read once (pipeline.core.files.read_input: a folder, FIFO or device
    is refused at once, never opened; no more than a contribution's byte limit is read)."""
    from pipeline.contributions.sheets import LIMITS

    try:
        return read_input(path, LIMITS.max_bytes, shown)
    except ProblemsFound as found:
        raise Refused(found.problems) from None


def _folder_inside(root: Path, name: str, shown: str) -> Path:
    """The data folder, which must resolve inside the repository (a symlink out is refused)."""
    folder = root / name
    try:
        folder.resolve().relative_to(root.resolve())
    except ValueError:
        raise Refused([Problem("outside-repository", f"{name}/ resolves to {folder.resolve()}, outside the repository",
                               file=shown, suggestion=f"make {name}/ a folder of the repository")]) from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise Refused([Problem("unwritable-file", f"cannot use {name}/: {error.strerror}", file=shown)]) from None
    return folder


def _already_there(destination: Path, data: bytes, folder: Path, root: Path, shown: str) -> tuple[Path, bool]:
    if destination.is_file() and not destination.is_symlink() and destination.read_bytes() == data:
        return destination, False
    raise Refused([Problem("name-taken", f"a different file named {destination.name!r} is already in "
                           f"{_display(folder, root)}/", file=shown, suggestion="rename your file")])
