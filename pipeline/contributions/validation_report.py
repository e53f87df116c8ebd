"""`ketamap validate --format html|markdown`: the same report as `--format json`, for people.

HTML: one self-contained page (no script, no network): per file its verdict, the counts per
problem code, the contributor's rows as a table with each bad cell highlighted and carrying its
message and suggestion, and the problems that belong to no cell. The JSON report is embedded
verbatim (`<script type="application/json" id="ketamap-report">`), so the page holds the same
content as `--format json`. Markdown: the same per file, for a CI job summary. Every value from
the files is escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from pipeline.contributions.rules import CheckedFile, report_json
from pipeline.contributions.sheets import DELIMITED, SPREADSHEETS, read_sheet
from pipeline.core.problems import Problem

# A file with more rows than this shows only its rows that have a problem (a contribution is small;
# a bulk file of a million rows would make a page no browser opens).
ALL_ROWS_UP_TO = 1000

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
.verdict{font-weight:600;padding:.1rem .45rem;border-radius:.25rem}
.valid{background:#e3f1e8;color:#0b5a2a}.invalid{background:#fbe4e0;color:#8a1c0a}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #b9b9b9;padding:.25rem .45rem;vertical-align:top;text-align:left}
th{background:#f0f0f0}
.rows-wrap{overflow-x:auto}
td.bad{background:#fde2dc;outline:2px solid #b3261e;outline-offset:-2px}
td.warn{background:#fff3cd;outline:2px solid #8a6100;outline-offset:-2px}
.value{font-family:ui-monospace,monospace;white-space:pre-wrap}
.problem{margin-top:.3rem;font-size:.88rem;max-width:28rem}
.problem .code{font-family:ui-monospace,monospace;color:#444}
.fix{color:#0b4f8a}
"""


def _problem_html(problem: Problem, in_cell: bool = False) -> str:
    """A problem's severity, message, code and fix; out of a cell also the value it is about."""
    fix = f'<div class="fix">→ {html.escape(problem.suggestion)}</div>' if problem.suggestion else ""
    value = (f' (value <span class="value">{html.escape(repr(problem.value))}</span>)'
             if problem.value is not None and not in_cell else "")
    return (f'<div class="problem" data-code="{html.escape(problem.code)}"><strong>{html.escape(problem.severity)}'
            f'</strong> {html.escape(problem.message)}{value} <span class="code">[{html.escape(problem.code)}]</span>'
            f"{fix}</div>")


def _rows_of(checked: CheckedFile) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """The file's header and rows as the contributor wrote them, or None (a package, an unreadable file)."""
    path = Path(checked.path)
    if path.suffix.lower() not in DELIMITED and path.suffix.lower() not in SPREADSHEETS or not path.is_file():
        return None
    sheet = read_sheet(path, checked.path)
    return (sheet.header, sheet.rows()) if sheet.readable else None


def _column_index(header: list[str]) -> dict[str, int]:
    return {name.strip().casefold(): i for i, name in enumerate(header)}


def _place(checked: CheckedFile, header: list[str],
           lines: set[int]) -> tuple[dict[tuple[int, int], list[Problem]], list[Problem]]:
    """Problems by (line, column position) of a row, and the rest (the file's, the header's, a row's
    as a whole, a column not in the header)."""
    columns = _column_index(header)
    cells: dict[tuple[int, int], list[Problem]] = {}
    rest: list[Problem] = []
    for problem in checked.problems:
        position = columns.get((problem.column or "").strip().casefold())
        if problem.line in lines and position is not None:
            cells.setdefault((problem.line, position), []).append(problem)
        else:
            rest.append(problem)
    return cells, rest


def _rows_table(header: list[str], rows: list[tuple[int, list[str]]],
                cells: dict[tuple[int, int], list[Problem]]) -> list[str]:
    bad_lines = {line for line, _ in cells}
    shown = rows if len(rows) <= ALL_ROWS_UP_TO else [(line, r) for line, r in rows if line in bad_lines]
    out = ['<div class="rows-wrap"><table class="rows"><thead><tr><th scope="col">line</th>']
    out += [f'<th scope="col">{html.escape(name)}</th>' for name in header]
    out.append("</tr></thead><tbody>")
    for line, values in shown:
        out.append(f'<tr data-line="{line}"><th scope="row">{line}</th>')
        for position in range(len(header)):
            problems = cells.get((line, position), [])
            value = values[position] if position < len(values) else ""
            # A formula cell reads as its (empty) cached value; show what the contributor wrote.
            value = value or next((p.value for p in problems if p.value), "")
            kind = "" if not problems else ' class="bad"' if any(p.severity == "error" for p in problems) \
                else ' class="warn"'
            column = html.escape(header[position])
            out.append(f'<td data-column="{column}"{kind}><span class="value">{html.escape(value)}</span>'
                       + "".join(_problem_html(p, in_cell=True) for p in problems) + "</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if len(shown) < len(rows):
        out.append(f"<p>{len(rows) - len(shown)} rows without a problem are not shown "
                   f"(the file has {len(rows)} rows).</p>")
    return out


def _counts_table(counts: dict[str, int]) -> list[str]:
    if not counts:
        return []
    out = ['<table class="counts"><thead><tr><th scope="col">problem</th><th scope="col">count</th></tr></thead><tbody>']
    out += [f'<tr><td class="code">{html.escape(code)}</td><td>{count}</td></tr>' for code, count in counts.items()]
    return out + ["</tbody></table>"]


def _file_html(checked: CheckedFile, max_errors: int | None) -> list[str]:
    verdict = "valid" if checked.valid else "invalid"
    sheet = f" (sheet {html.escape(repr(checked.sheet))})" if checked.sheet else ""
    rows_word = "row" if checked.row_count == 1 else "rows"
    out = [f'<section class="file" data-path="{html.escape(checked.path)}">',
           f"<h2>{html.escape(checked.path)}{sheet}: {checked.row_count} {rows_word}, "
           f'<span class="verdict {verdict}">{verdict}</span></h2>']
    out += _counts_table(checked.counts)
    table = _rows_of(checked)
    cells, rest = _place(checked, table[0], {line for line, _ in table[1]}) if table else ({}, list(checked.problems))
    if rest:
        out.append('<h3>Problems not in a cell</h3><ul class="other">')
        out += [f"<li>{'line ' + str(p.line) + ': ' if p.line is not None else ''}{_problem_html(p)}</li>" for p in rest]
        out.append("</ul>")
    if checked.omitted:
        out.append(f"<p>… {checked.omitted} more problems not listed (--max-errors {max_errors}; 0 lists all); "
                   "the counts above are complete.</p>")
    if table and table[1]:
        out.append("<h3>Rows</h3>")
        out += _rows_table(table[0], table[1], cells)
    return out + ["</section>"]


def report_html(files: list[CheckedFile], max_errors: int | None = None) -> str:
    """One self-contained page for `ketamap validate --format html`."""
    valid = sum(1 for f in files if f.valid)
    embedded = json.dumps(report_json(files), ensure_ascii=False, indent=1).replace("<", "\\u003c")
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>ketamap validate: report</title>", f"<style>{CSS}</style>", "</head>", "<body>",
           "<h1>ketamap validate</h1>",
           f'<p class="summary">{len(files)} file(s): {valid} valid, {len(files) - valid} invalid. '
           "Each highlighted cell carries its problem and, where one is near, a fix.</p>"]
    for checked in files:
        out += _file_html(checked, max_errors)
    out += [f'<script type="application/json" id="ketamap-report">{embedded}</script>', "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _md(text: object) -> str:
    """A Markdown table cell: HTML-escaped, pipes and backticks neutralised, on one line."""
    escaped = html.escape(str(text), quote=False).replace("|", "\\|").replace("`", "&#96;")
    return " ".join(escaped.split())


def report_markdown(files: list[CheckedFile], max_errors: int | None = None) -> str:
    """`ketamap validate --format markdown`: the report for a CI job summary ($GITHUB_STEP_SUMMARY)."""
    valid = sum(1 for f in files if f.valid)
    lines = ["## ketamap validate", "", f"{len(files)} file(s): {valid} valid, {len(files) - valid} invalid."]
    for checked in files:
        verdict = "✅ valid" if checked.valid else "❌ invalid"
        rows_word = "row" if checked.row_count == 1 else "rows"
        lines += ["", f"### {_md(checked.path)}: {checked.row_count} {rows_word}, {verdict}"]
        if checked.counts:
            lines += ["", "| problem | count |", "| --- | --- |"]
            lines += [f"| {_md(code)} | {count} |" for code, count in checked.counts.items()]
        if checked.problems:
            lines += ["", "| line | column | value | severity | problem | fix |", "| --- | --- | --- | --- | --- | --- |"]
            for p in checked.problems:
                lines.append(f"| {'' if p.line is None else p.line} | {_md(p.column or '')} | "
                             f"{'' if p.value is None else _md(repr(p.value))} | {p.severity} | "
                             f"{_md(p.message)} [{_md(p.code)}] | {_md(p.suggestion or '')} |")
        if checked.omitted:
            lines += ["", f"… {checked.omitted} more problems not listed (--max-errors {max_errors}); "
                      "the counts are complete."]
    return "\n".join(lines) + "\n"
