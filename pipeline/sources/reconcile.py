"""reconcile: the text export and the JATS table, compared row by row.

Rows are matched by molecule; per row the multisets of (direction, qualifier) are compared, a
cell spanning two columns counting once (the export prints it once). The report lists every
disagreement and nothing else, so it is empty when the two sources say the same thing.

It also decides the finding ids of a JATS build. A finding's id is
`finding_id(source_id, label, ordinal)`, the ordinal being the cell's place among its row's
non-empty cells: equal in both sources when they agree. When they disagree, the JATS cells are
aligned to the export's (difflib on the (direction, qualifier) sequence): an aligned cell keeps
the export's ordinal, so a finding keeps its published id even when a cell is added before it
or its direction differs; a cell the export does not have gets a new id from its column.
"""

from __future__ import annotations

import difflib
from collections import Counter
from pathlib import Path

from pipeline.core.vocab import Vocabulary
from pipeline.findings.cells import parse_cell
from pipeline.findings.ids import finding_id
from pipeline.sources.export import BodyRow, ExportTable, decode_export, parse_export
from pipeline.sources.jats import JatsTable, molecule_for

REPORT_NAME = "reconciliation.json"


def export_cells(export: ExportTable, vocab: Vocabulary) -> dict[str, list[tuple[str, str]]]:
    """Export label → its cells' (direction, qualifier), in order."""
    cells = {}
    for row in export.rows:
        parsed = (parse_cell(text, vocab) for text in row.cells if text)
        cells[row.label] = [(cell.direction, cell.qualifier) for cell in parsed]
    return cells


def _export_rows_by_molecule(export: ExportTable, vocab: Vocabulary) -> dict[str, BodyRow]:
    return {vocab.molecule_by_label[row.label]["molecule_id"]: row for row in export.rows}


def _listed(counter: Counter) -> list[dict]:
    return [{"direction": d, "qualifier": q, "count": n} for (d, q), n in sorted(counter.items())]


def reconcile(export: ExportTable | None, jats: JatsTable, vocab: Vocabulary) -> dict:
    """The comparison as a JSON-ready dict; `disagreements` is empty when the sources agree."""

    jats_summary = {"file": jats.file, "rows": len(jats.rows), "cells": sum(len(r.cells) for r in jats.rows)}
    if export is None:
        return {"compared": False, "export": None, "jats": jats_summary, "disagreements": []}
    cells = export_cells(export, vocab)
    export_rows = _export_rows_by_molecule(export, vocab)
    jats_rows = {molecule_for(row.label, vocab)["molecule_id"]: row for row in jats.rows}
    disagreements = []
    for molecule_id, row in export_rows.items():
        jats_row = jats_rows.get(molecule_id)
        if jats_row is None:
            disagreements.append({"kind": "missing-row", "molecule_label": row.label, "export_line": row.line,
                                  "jats_line": None, "only_in_export": _listed(Counter(cells[row.label])),
                                  "only_in_jats": []})
            continue
        if jats_row.label != row.label:
            disagreements.append({"kind": "different-label", "molecule_label": row.label,
                                  "jats_label": jats_row.label, "export_line": row.line, "jats_line": jats_row.line})
        mine = Counter(cells[row.label])
        theirs = Counter([(c.direction, c.qualifier) for c in jats_row.cells])
        if mine != theirs:
            disagreements.append({"kind": "different-cells", "molecule_label": row.label, "export_line": row.line,
                                  "jats_line": jats_row.line, "only_in_export": _listed(mine - theirs),
                                  "only_in_jats": _listed(theirs - mine)})
    for molecule_id, jats_row in jats_rows.items():
        if molecule_id not in export_rows:
            disagreements.append({"kind": "extra-row", "molecule_label": jats_row.label, "export_line": None,
                                  "jats_line": jats_row.line, "only_in_export": [],
                                  "only_in_jats": _listed(Counter([(c.direction, c.qualifier)
                                                                     for c in jats_row.cells]))})
    return {
        "compared": True,
        "export": {"file": export.file, "rows": len(export.rows), "cells": sum(map(len, cells.values()))},
        "jats": jats_summary,
        "disagreements": disagreements,
    }


def aligned_ids(export: ExportTable, jats: JatsTable, vocab: Vocabulary, source_id: str) -> dict[tuple[str, int], str]:
    """(JATS label, JATS ordinal) → finding id, keeping the export's id for every cell aligned with one."""

    cells = export_cells(export, vocab)
    export_rows = _export_rows_by_molecule(export, vocab)
    ids: dict[tuple[str, int], str] = {}
    for jats_row in jats.rows:
        export_row = export_rows.get(molecule_for(jats_row.label, vocab)["molecule_id"])
        if export_row is None:
            continue  # no export row to keep ids from: plain ordinals cannot collide with anything
        mine = cells[export_row.label]
        theirs = [(c.direction, c.qualifier) for c in jats_row.cells]
        if len(mine) == len(theirs):  # same number of cells: the n-th cell is the n-th cell, whatever it says
            opcodes = [("replace", 0, len(mine), 0, len(theirs))]
        else:
            opcodes = difflib.SequenceMatcher(None, mine, theirs, autojunk=False).get_opcodes()
        new_in_column: Counter = Counter()
        for tag, i1, i2, j1, j2 in opcodes:
            paired = (j2 - j1) if tag == "equal" else min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for offset in range(j2 - j1):
                cell = jats_row.cells[j1 + offset]
                if offset < paired:
                    ids[(jats_row.label, cell.ordinal)] = finding_id(source_id, export_row.label, i1 + offset + 1)
                else:
                    region = cell.regions[0]["region_id"]
                    new_in_column[region] += 1
                    ids[(jats_row.label, cell.ordinal)] = finding_id(source_id, export_row.label, "jats", region,
                                                                     new_in_column[region])
    return ids


def render_text(report: dict) -> str:
    """For people: one line per disagreement, or a line saying the sources agree."""
    if not report["compared"]:
        return f"{report['jats']['file']}: no text export to compare with.\n"
    head = (f"{report['export']['file']} ({report['export']['rows']} rows, {report['export']['cells']} cells) vs "
            f"{report['jats']['file']} ({report['jats']['rows']} rows, {report['jats']['cells']} cells): ")
    if not report["disagreements"]:
        return head + "the sources agree.\n"
    lines = [head + f"{len(report['disagreements'])} disagreement(s)."]

    def cells(listed: list[dict]) -> str:
        return ", ".join(f"{c['count']}× {c['direction']}" + (f" ({c['qualifier']})" if c["qualifier"] else "")
                         for c in listed) or "nothing"

    for item in report["disagreements"]:
        where = f"export line {item['export_line'] or '-'}, JATS line {item['jats_line'] or '-'}"
        if item["kind"] == "different-label":
            lines.append(f"- {item['molecule_label']!r} ({where}): the JATS labels it {item['jats_label']!r}")
        else:
            lines.append(f"- {item['kind']} {item['molecule_label']!r} ({where}): only in the export: "
                         f"{cells(item['only_in_export'])}; only in the JATS: {cells(item['only_in_jats'])}")
    return "\n".join(lines) + "\n"


def read_export(path: Path, display: str, vocab: Vocabulary, finding_columns: int = 14) -> ExportTable:
    return parse_export(decode_export(path.read_bytes(), display), display, vocab, finding_columns)
