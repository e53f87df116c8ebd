"""extract: the literature database's text export of the review → tidy tables.

The export flattens Table 1 into `|`-separated lines. In the copy we have, every row is
left-packed (the exporter dropped empty cells), so a cell's position does not say which
region column it came from, and the superscript reference numbers are gone (`↑ (`). This
module reads what the export does say, refuses what it does not expect, and marks what was
lost instead of guessing it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.vocab import Vocabulary
from pipeline.findings.cells import Cell, cell_suggestion, default_measure, parse_cell  # noqa: F401 (Cell: the parser's type)
from pipeline.findings.ids import finding_id
from pipeline.findings.record import finding_record



@dataclass
class BodyRow:
    line: int
    label: str
    cells: list[str]  # the cells after the label, stripped, in export order


@dataclass
class ExportTable:
    file: str
    metadata: dict[str, str]
    header_rows: list[list[str]]
    rows: list[BodyRow]
    legend: dict[str, str]
    positional: bool = False
    problems: list[Problem] = field(default_factory=list)


def split_row(line: str) -> list[str] | None:
    text = line.rstrip("\r\n")
    if not (text.startswith("|") and text.endswith("|")) or len(text) < 2:
        return None
    return [cell.strip() for cell in text[1:-1].split("|")]


def parse_metadata(lines: list[str], file: str, problems: list[Problem]) -> dict[str, str]:
    """Article identifiers as the export prints them; nothing here is typed by hand."""
    meta: dict[str, str] = {}
    patterns = {
        "banner": (r"^\| Literature DB >> (?P<pmid>\d+) \|$", "'| Literature DB >> <PMID> |' on line 1"),
        "ids": (
            r"^Year: (?P<year>\d{4}) PMID: (?P<pmid>\d+) PMCID: (?P<pmcid>PMC\d+) DOI: (?P<doi>10\.\S+)$",
            "'Year: … PMID: … PMCID: … DOI: …'",
        ),
        "journal": (
            r"^Source DB: .*?Journal: (?P<journal>.+?) ISSN: (?P<issn>\d{4}-\d{3}[\dX])\b",
            "'Source DB: … Journal: … ISSN: …'",
        ),
        "keywords": (r"^Keywords: (?P<keywords>.+)$", "'Keywords: …'"),
    }
    found: dict[str, re.Match] = {}
    for number, line in enumerate(lines, 1):
        for name, (pattern, _) in patterns.items():
            if name in found:
                continue
            match = re.match(pattern, line)
            if match and (name != "banner" or number == 1):
                found[name] = match
    for name, (_, expected) in patterns.items():
        if name not in found:
            problems.append(
                Problem("missing-metadata", f"the export has no {expected} line", file=file, line=None,
                        suggestion="restore the export as the literature database wrote it")
            )
    if "ids" in found:
        meta.update({k: found["ids"][k] for k in ("year", "pmid", "pmcid", "doi")})
    if "journal" in found:
        meta.update({k: found["journal"][k] for k in ("journal", "issn")})
    if "keywords" in found:
        meta["keywords"] = ";".join(k.strip() for k in found["keywords"]["keywords"].split(";") if k.strip())
    if "banner" in found and "ids" in found and found["banner"]["pmid"] != meta.get("pmid"):
        problems.append(Problem("metadata-mismatch", "the banner's PMID differs from the identifiers line",
                                file=file, line=1, value=found["banner"]["pmid"]))
    if len(lines) > 1 and lines[1].strip():
        # Authors carry affiliation numbers (`Kang1`, `Hawken2,3`) and a closing full stop.
        raw = lines[1].strip().rstrip(".")
        names = re.split(r"(?<=\d),\s+(?=[^\d])", raw)
        meta["authors"] = ";".join(re.sub(r"[\d,]+$", "", name).strip() for name in names)
    return meta


def parse_legend(line: str) -> dict[str, str]:
    """`↑ Indicates increase, ↓ indicates decrease, − indicates no change, p means …` → symbol: direction."""
    legend = {}
    for symbol, meaning in re.findall(r"(\S)\s+[Ii]ndicates\s+([a-z][a-z ]*?)\s*(?=,|\.|$)", line):
        legend[symbol] = meaning.replace(" ", "_")
    if re.search(r"\bp means phosphorylation\b", line):
        legend["p"] = "phosphorylation"
    return legend


def parse_export(text: str, file: str, vocab: Vocabulary, finding_columns: int = 14) -> ExportTable:
    """Parse the whole export; raise ProblemsFound listing every structural problem at once."""
    lines = text.split("\n")
    problems: list[Problem] = []
    metadata = parse_metadata(lines, file, problems)
    table_lines = _table_lines(lines, file, problems)
    header_rows = _header_rows(lines, table_lines, file, vocab, problems)
    rows = _body_rows(lines, table_lines[len(header_rows):], file, finding_columns, problems)
    legend = _legend(lines, table_lines, file, vocab, problems)
    positional = any(_has_blank_in_place(row.cells) for row in rows)
    if positional:
        for row in rows:
            beyond = [c for c in row.cells[finding_columns:] if c]
            if beyond:
                problems.append(Problem("too-many-cells", f"a cell sits beyond the table's {finding_columns} "
                                        "finding columns", file=file, line=row.line, value=beyond[0]))
    problems += _cell_problems(rows, file, vocab)
    if problems:
        raise ProblemsFound(problems)
    return ExportTable(file, metadata, header_rows, rows, legend, positional)


def _table_lines(lines: list[str], file: str, problems: list[Problem]) -> list[int]:
    """The indexes of the first run of '|' lines (the table); a second run is a problem."""
    blocks: list[list[int]] = []
    for index, line in enumerate(lines):
        if index == 0 or not line.startswith("|"):
            continue
        if blocks and blocks[-1][-1] == index - 1:
            blocks[-1].append(index)
        else:
            blocks.append([index])
    if not blocks:
        raise ProblemsFound([Problem("no-table", "the export holds no '|'-separated table", file=file,
                                     suggestion="check that this is the literature database's text export")] + problems)
    for extra in blocks[1:]:
        problems.append(Problem("second-table", "a second table starts here; the export should hold one (Table 1)",
                                file=file, line=extra[0] + 1, value=lines[extra[0]][:60],
                                suggestion="extract one table per source file"))
    table_lines = blocks[0]
    if lines[table_lines[0]].strip() == "|":
        table_lines = table_lines[1:]  # the exporter opens a table with a lone '|'
    return table_lines


def _header_rows(lines: list[str], table_lines: list[int], file: str, vocab: Vocabulary,
                 problems: list[Problem]) -> list[list[str]]:
    header_rows: list[list[str]] = []
    names = ["population header (Animals | Humans)", "group header (Brain region | Blood | …)",
             "region header (PFC | HPC | …)"]
    for position, (name, expected) in enumerate(zip(names, _expected_headers(vocab))):
        if position >= len(table_lines):
            problems.append(Problem("missing-header", f"the table ends before its {name}", file=file,
                                    line=(table_lines[-1] + 2) if table_lines else None))
            continue
        index = table_lines[position]
        cells = split_row(lines[index]) or []
        found = [c.rstrip(",").strip() for c in cells if c.strip()]
        if found != expected:
            problems.append(Problem(
                "missing-header" if _looks_like_body(found, vocab) else "unexpected-header",
                f"expected the {name}: {' | '.join(expected)}", file=file, line=index + 1,
                value=" | ".join(found), suggestion="restore the table's three header rows, or update "
                "schemas/review-layout.csv if the table's columns really changed"))
        header_rows.append(found)
    return header_rows


def _body_rows(lines: list[str], body_indexes: list[int], file: str, finding_columns: int,
               problems: list[Problem]) -> list[BodyRow]:
    rows: list[BodyRow] = []
    for index in body_indexes:
        cells = split_row(lines[index])
        if cells is None:
            problems.append(Problem("malformed-row", "a table row must start and end with '|'", file=file,
                                    line=index + 1, value=lines[index][:80]))
            continue
        label, rest = cells[0], cells[1:]
        if not label:
            problems.append(Problem("missing-label", "the row has no molecule label in its first cell",
                                    file=file, line=index + 1, value=lines[index][:80]))
            continue
        filled = [c for c in rest if c]
        if len(filled) > finding_columns:
            problems.append(Problem("too-many-cells",
                                    f"the row has {len(filled)} non-empty cells but the table has "
                                    f"{finding_columns} finding columns", file=file, line=index + 1,
                                    value=label))
        rows.append(BodyRow(line=index + 1, label=label, cells=rest))
    seen: dict[str, int] = {}
    for row in rows:
        if row.label in seen:
            problems.append(Problem("duplicate-row", f"the molecule label repeats the row on line {seen[row.label]}",
                                    file=file, line=row.line, value=row.label))
        seen.setdefault(row.label, row.line)
    return rows


def _legend(lines: list[str], table_lines: list[int], file: str, vocab: Vocabulary,
            problems: list[Problem]) -> dict[str, str]:
    legend_line = next((i for i in range(table_lines[-1] + 1 if table_lines else 0, len(lines))
                        if "ndicates" in lines[i]), None)
    if legend_line is None:
        problems.append(Problem("missing-legend", "no legend ('↑ Indicates increase, …') follows the table",
                                file=file, suggestion="restore the legend line after the table"))
        return {}
    legend = parse_legend(lines[legend_line])
    problems.extend(check_legend(legend, vocab, file, legend_line + 1))
    return legend


def _cell_problems(rows: list[BodyRow], file: str, vocab: Vocabulary) -> list[Problem]:
    problems = []
    for row in rows:
        for ordinal, text in enumerate((c for c in row.cells if c), 1):
            try:
                parse_cell(text, vocab)
            except ValueError as error:
                problems.append(Problem("unknown-symbol" if "symbol" in str(error) else "malformed-cell",
                                        str(error), file=file, line=row.line, column=f"cell {ordinal}",
                                        value=text, suggestion=cell_suggestion(text, vocab)))
        if row.label not in vocab.molecule_by_label:
            near = difflib.get_close_matches(row.label, list(vocab.molecule_by_label), n=1)
            problems.append(Problem("unknown-molecule", "the molecule label is not in schemas/molecules.csv",
                                    file=file, line=row.line, value=row.label,
                                    suggestion=(f"did you mean {near[0]!r}? " if near else "")
                                    + "a new molecule enters by adding a row to schemas/molecules.csv"))
    return problems


def _expected_headers(vocab: Vocabulary) -> list[list[str]]:
    """The review's three header rows as schemas/review-layout.csv lays them out (a run of equal cells spans)."""
    layout = vocab.layout
    return [
        _runs([r["population_header"] for r in layout]),
        [g for _, g in _runs([(r["population_header"], r["group_header"]) for r in layout])],
        [r["region_header"] for r in layout],
    ]


def _runs(values: list) -> list:
    out: list = []
    for value in values:
        if not out or out[-1] != value:
            out.append(value)
    return out


def _looks_like_body(cells: list[str], vocab: Vocabulary) -> bool:
    return bool(cells) and cells[0] in vocab.molecule_by_label


def _has_blank_in_place(cells: list[str]) -> bool:
    """True when a blank sits before a filled cell: the exporter kept the column positions."""
    seen_blank = False
    for cell in cells:
        if not cell:
            seen_blank = True
        elif seen_blank:
            return True
    return False


def check_legend(legend: dict[str, str], vocab: Vocabulary, file: str, line: int) -> list[Problem]:
    problems = []
    expected = vocab.direction_by_symbol
    for symbol, direction in expected.items():
        if legend.get(symbol) != direction:
            problems.append(Problem("legend-mismatch",
                                    f"the legend does not say that {symbol} means {direction}",
                                    file=file, line=line, value=legend.get(symbol),
                                    suggestion="fix schemas/directions.csv if the legend is right"))
    for symbol, meaning in legend.items():
        if symbol != "p" and symbol not in expected:
            problems.append(Problem("legend-mismatch", f"the legend defines {symbol} ({meaning}), which "
                                    "schemas/directions.csv does not know", file=file, line=line, value=symbol,
                                    suggestion="add the symbol to schemas/directions.csv"))
    if legend.get("p") != "phosphorylation":
        problems.append(Problem("legend-mismatch", "the legend does not say that p means phosphorylation",
                                file=file, line=line))
    return problems


def review_findings(table: ExportTable, vocab: Vocabulary, source_id: str) -> list[dict]:
    """One finding per non-empty cell; region and population only when the layout is positional."""
    findings = []
    for row in table.rows:
        molecule = vocab.molecule_by_label[row.label]
        ordinal = 0
        for position, text in enumerate(row.cells, 1):
            if not text:
                continue
            ordinal += 1
            cell = parse_cell(text, vocab)
            region = vocab.region_by_column.get(position) if table.positional else None
            measure = default_measure(molecule, cell.qualifier)
            findings.append(finding_record(
                finding_id=finding_id(source_id, row.label, ordinal),
                source_id=source_id,
                molecule_label=row.label,
                molecule=molecule,
                measure=measure,
                direction=cell.direction,
                population=region["population"] if region else "",
                region_id=region["region_id"] if region else "",
                location_status="reported" if region else "lost_in_source",
                species="",
                qualifier=cell.qualifier,
                references="",
                citation_status="reference_lost_in_source" if cell.cited else "no_citation_in_source",
                label_truncated=molecule["label_truncated"] == "true",
                source_row=row.line,
                source_cell=ordinal,
                source_text=text,
            ))
    return findings


def review_source(table: ExportTable, source: dict, path: str, sha256: str) -> dict:
    meta = table.metadata
    return {
        "source_id": source["id"],
        "kind": "review",
        "title": source["title"],
        "authors": meta.get("authors", ""),
        "journal": meta.get("journal", ""),
        "year": meta.get("year", ""),
        "pmid": meta.get("pmid", ""),
        "pmcid": meta.get("pmcid", ""),
        "doi": meta.get("doi", ""),
        "issn": meta.get("issn", ""),
        "keywords": meta.get("keywords", ""),
        "license": source["license"],
        "path": path,
        "sha256": sha256,
    }


def molecule_rows(vocab: Vocabulary) -> list[dict]:
    return [dict(row) for row in vocab.molecules]


def region_rows(vocab: Vocabulary) -> list[dict]:
    return vocab.published_regions


def decode_export(raw: bytes, file: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProblemsFound([Problem("unreadable-file", f"the export is not UTF-8 ({error.reason} at byte "
                                     f"{error.start})", file=file)]) from None
