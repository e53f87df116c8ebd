"""`ketamap fetch-source` and `ketamap reconcile`: the JATS route (the library is pipeline.sources)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipeline.core.problems import ProblemsFound, render_text
from pipeline.core.settings import load_source
from pipeline.core.vocab import Vocabulary
from pipeline.sources.fetch import fetch, pmcid_from_export
from pipeline.sources.jats import read_jats
from pipeline.sources.reconcile import read_export, reconcile
from pipeline.sources.reconcile import render_text as render_report


def fetch_command(to: Path | None, pmcid: str | None, server: str, europepmc_url: str | None, pmc_url: str | None,
        timeout: float, force: bool, root: Path = Path(".")) -> int:
    """The `ketamap fetch-source` command: exit 0 fetched (or up to date), 2 nothing could be fetched."""

    try:
        source = load_source(root)
    except ProblemsFound as found:
        print(render_text(found.problems), file=sys.stderr)
        return 2
    target = to or root / source.get("jats", "data/raw/PMC9082546.xml")
    pmcid = pmcid or pmcid_from_export(root / source.get("export", ""))
    if not pmcid:
        print("error: no PMCID: the export's identifiers line has none; pass --pmcid PMC…", file=sys.stderr)
        return 2
    try:
        print(fetch(Path(target), pmcid, server, europepmc_url, pmc_url, timeout,
                    source.get("jats_table", "Table 1"), force))
    except ProblemsFound as found:
        print(render_text(found.problems), file=sys.stderr)
        return 2
    return 0


def reconcile_command(export: Path | None, jats: Path | None, table_label: str | None, output: str, root: Path = Path(".")) -> int:
    """The `ketamap reconcile` command: 0 the sources agree, 1 they disagree or one is invalid, 2 a file is missing
    or params.yaml cannot be read."""

    try:
        source = load_source(root)
    except ProblemsFound as found:
        print(render_text(found.problems), file=sys.stderr)
        return 2
    if export is None and not source.get("export"):
        print("params.yaml: error [missing-param] source.export is not set; pass --export", file=sys.stderr)
        return 2
    export = export or root / source["export"]
    jats = jats or root / source.get("jats", "data/raw/PMC9082546.xml")
    for path, what in ((export, "text export"), (jats, "JATS file")):
        if not path.is_file():
            hint = " (fetch it with `ketamap fetch-source`)" if what == "JATS file" else ""
            print(f"{path}: error [missing-source] the {what} is not there{hint}", file=sys.stderr)
            return 2
    vocab = Vocabulary(root / "schemas")
    try:
        table, _, _ = read_jats(jats, root, vocab, table_label or source.get("jats_table", "Table 1"))
        report = reconcile(read_export(export, str(export), vocab, source.get("finding_columns", 14)), table, vocab)
    except ProblemsFound as found:
        print(render_text(found.problems), file=sys.stderr)
        return 1
    if output == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(render_report(report), end="")
    return 1 if report["disagreements"] else 0
