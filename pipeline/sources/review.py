"""The review's four tables from the source params.yaml names: the text export or the article's JATS XML."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.core.files import check_recorded_sha256, sha256_bytes
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.vocab import Vocabulary
from pipeline.sources.export import (
    decode_export,
    molecule_rows,
    parse_export,
    region_rows,
    review_findings,
    review_source,
)
from pipeline.sources.jats import jats_findings, read_jats
from pipeline.sources.reconcile import REPORT_NAME, aligned_ids, read_export, reconcile  # noqa: F401 (REPORT_NAME for the stage)


def extract_review(export_path: Path, source: dict, vocab: Vocabulary, root: Path,
                   finding_columns: int = 14) -> dict[str, list[dict]]:
    """Read the export from disk and return the four tables (a pure function of its inputs)."""
    relative = export_path.resolve().relative_to(root.resolve()).as_posix() if export_path.resolve().is_relative_to(
        root.resolve()) else str(export_path)
    try:
        raw = export_path.read_bytes()
    except OSError as error:
        raise ProblemsFound([Problem("missing-source", f"cannot read the text export: {error.strerror}",
                                     file=relative, suggestion="restore it from git, or set source.export in "
                                     "params.yaml")]) from None
    problems = []
    try:
        check_recorded_sha256(export_path, raw, relative, "data/raw/ is never edited: restore the file from git "
                              "(`git checkout -- data/raw/`); a new source gets a new file and a new .sha256 record")
    except ProblemsFound as found:
        problems = found.problems  # reported with whatever the parser finds, all at once
    try:
        table = parse_export(decode_export(raw, relative), relative, vocab, finding_columns)
    except ProblemsFound as found:
        raise ProblemsFound(problems + found.problems) from None
    if problems:
        raise ProblemsFound(problems)
    return {
        "findings": review_findings(table, vocab, source["id"]),
        "molecules": molecule_rows(vocab),
        "regions": region_rows(vocab),
        "sources": [review_source(table, source, relative, hashlib.sha256(raw).hexdigest())],
    }



def source_kind(source: dict) -> str:
    """params.yaml's source.kind: `export` (the text export, the default) or `jats` (the article's XML)."""
    kind = source.get("kind", "export")
    if kind not in ("export", "jats"):
        raise ProblemsFound([Problem("bad-param", "source.kind must be 'export' or 'jats'", file="params.yaml",
                                     value=str(kind))])
    return kind


def extract_from_jats(root: Path, source: dict, vocab: Vocabulary) -> tuple[dict[str, list[dict]], dict]:
    """The four tables from the JATS file, and the reconciliation report against the export (when present)."""
    table, raw, relative = read_jats(root / source["jats"], root, vocab, source.get("jats_table", "Table 1"))
    export_path = root / source["export"] if source.get("export") else None
    export = None
    if export_path is not None and export_path.exists():
        export = read_export(export_path, source["export"], vocab, source.get("finding_columns", 14))
    report = reconcile(export, table, vocab)
    ids = aligned_ids(export, table, vocab, source["id"]) if export is not None else None
    tables = {
        "findings": jats_findings(table, vocab, source["id"], ids),
        "molecules": molecule_rows(vocab),
        "regions": region_rows(vocab),
        "sources": [review_source(table, source, relative, sha256_bytes(raw))],
    }
    return tables, report


def review_tables(root: Path, source: dict, vocab: Vocabulary) -> tuple[dict[str, list[dict]], dict | None]:
    """The four tables from the source params.yaml names, and the reconciliation report of a JATS build."""
    if source_kind(source) == "jats":
        return extract_from_jats(root, source, vocab)
    return extract_review(root / source["export"], source, vocab, root, source["finding_columns"]), None
