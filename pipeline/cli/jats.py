"""`ketamap fetch-source` and `ketamap reconcile`: the JATS route (the library is pipeline.sources)."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.cli.problems import report as report_problems
from pipeline.core.problems import Problem, ProblemsFound
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
        return report_problems(found.problems)
    target = to or root / source.get("jats", "data/raw/PMC9082546.xml")
    pmcid = pmcid or pmcid_from_export(root / source.get("export", ""))
    if not pmcid:
        return report_problems([Problem("usage", "no PMCID: the export's identifiers line has none",
                               suggestion="pass --pmcid PMC…")])
    try:
        print(fetch(Path(target), pmcid, server, europepmc_url, pmc_url, timeout,
                    source.get("jats_table", "Table 1"), force))
    except ProblemsFound as found:
        return report_problems(found.problems)
    return 0


def reconcile_command(export: Path | None, jats: Path | None, table_label: str | None, output: str, root: Path = Path(".")) -> int:
    """The `ketamap reconcile` command: 0 the sources agree, 1 they disagree or one is invalid, 2 a file is missing
    or params.yaml cannot be read."""

    try:
        source = load_source(root)
    except ProblemsFound as found:
        return report_problems(found.problems, output)
    if export is None and not source.get("export"):
        return report_problems([Problem("missing-param", "source.export is not set", file="params.yaml",
                               suggestion="pass --export")], output)
    export = export or root / source["export"]
    jats = jats or root / source.get("jats", "data/raw/PMC9082546.xml")
    for path, what in ((export, "text export"), (jats, "JATS file")):
        if not path.is_file():
            hint = "fetch it with `ketamap fetch-source`" if what == "JATS file" else None
            return report_problems([Problem("missing-source", f"the {what} is not there", file=str(path),
                                   suggestion=hint)], output)
    vocab = Vocabulary(root / "schemas")
    try:
        table, _, _ = read_jats(jats, root, vocab, table_label or source.get("jats_table", "Table 1"))
        report = reconcile(read_export(export, str(export), vocab, source.get("finding_columns", 14)), table, vocab)
    except ProblemsFound as found:
        return report_problems(found.problems, output)
    if output == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(render_report(report), end="")
    return 1 if report["disagreements"] else 0
