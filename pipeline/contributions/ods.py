"""ods: a LibreOffice (OpenDocument) spreadsheet streamed row by row (pipeline.contributions.workbook does
the zip and XML).

content.xml holds every sheet; the one named 'findings' (else the first) is kept. LibreOffice
writes a run of equal cells or rows as one element with `number-columns-repeated` /
`number-rows-repeated` (a sheet's trailing blank area is one cell repeated 16,384 times): blank
runs cost nothing, and a run with content is expanded only within `max_columns` and `max_rows`.
A cell's typed value (office:value, date-value, …) is read as the .xlsx reader reads numbers.
"""

from __future__ import annotations

import re
import zipfile

from pipeline.contributions.table import Refused, cell_text, too_many_columns, too_many_rows
from pipeline.contributions.workbook import RESAVE, Budget, CellText, RowSink, attr, parse_part, preferred
from pipeline.core.problems import Problem

_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def read_ods(archive: zipfile.ZipFile, sink: RowSink, budget: Budget) -> None:
    names = archive.namelist()
    if "mimetype" in names and archive.read("mimetype").strip() != _ODS_MIME:
        raise Refused(Problem("unreadable-file", "this is an OpenDocument file but not a spreadsheet",
                              file=sink.shown, suggestion="save the table from LibreOffice Calc as .ods"))
    if "content.xml" not in names:
        raise Refused(Problem("unreadable-file", "this is not an .ods spreadsheet (it has no content.xml)",
                              file=sink.shown, suggestion=RESAVE[".ods"]))
    reader = _OdsContent(sink)
    parse_part(archive, "content.xml", budget, reader.start, reader.end, reader.text)
    if sink.chosen is None and reader.names:
        sink.chosen = reader.names[0]


class _OdsContent:
    """table:table → table:table-row → table:table-cell, with their `number-…-repeated` counts
    (LibreOffice writes a sheet's trailing empty cells and rows as one repeated element)."""

    def __init__(self, sink: RowSink):
        self.sink, self.limits = sink, sink.limits
        self.names: list[str] = []
        self.active = False
        self.table_depth = 0
        self.skip = 0                  # inside an annotation (a comment): not the cell's text
        self.cell: CellText | None = None

    def start(self, tag: str, attrs: dict) -> None:
        if tag == "table":
            self.table_depth += 1
            if self.table_depth == 1:
                self._table(attr(attrs, "name", f"Sheet{len(self.names) + 1}"))
        elif not self.active or self.table_depth != 1:
            return
        elif tag == "table-row":
            self.repeat_rows = _count(attr(attrs, "number-rows-repeated"))
            self.cells, self.empty, self.formulas, self.long = [], 0, [], []
        elif tag in ("table-cell", "covered-table-cell"):
            self.repeat = _count(attr(attrs, "number-columns-repeated"))
            self.value = _ods_value(attrs)
            self.formula = attr(attrs, "formula")
            self.cell, self.paragraphs = CellText(self.limits.max_cell_chars), 0
        elif self.cell is None:
            return
        elif tag == "annotation":
            self.skip += 1
        elif self.skip:
            return
        elif tag in ("p", "h"):
            if self.paragraphs:
                self.cell.add("\n")
            self.paragraphs += 1
        elif tag == "s":
            self.cell.add(" " * min(_count(attr(attrs, "c")), self.limits.max_cell_chars + 1))
        elif tag == "tab":
            self.cell.add("\t")
        elif tag == "line-break":
            self.cell.add("\n")

    def _table(self, name: str) -> None:
        self.names.append(name)
        first = len(self.names) == 1
        if first or (preferred(name) and not preferred(self.sink.chosen)):
            self.sink.reset(name)
            self.active, self.line = True, 0
        else:
            self.sink.others.append(name)
            self.active = False

    def text(self, data: str) -> None:
        if self.cell is not None and not self.skip:
            self.cell.add(data)

    def end(self, tag: str) -> None:
        if tag == "table":
            self.table_depth -= 1
            if self.table_depth == 0:
                self.active = False
        elif not self.active or self.table_depth != 1:
            return
        elif tag == "annotation":
            self.skip -= 1
        elif tag in ("table-cell", "covered-table-cell") and self.cell is not None:
            self._finish_cell()
        elif tag == "table-row":
            self._finish_row()

    def _finish_cell(self) -> None:
        cell, self.cell = self.cell, None
        text = cell_text(self.value if self.value is not None else cell.text())
        if not text and self.formula is None:
            self.empty += self.repeat  # trailing empties are never materialised
            return
        position = len(self.cells) + self.empty
        if position + self.repeat > self.limits.max_columns:
            raise Refused(too_many_columns(self.sink.shown, self.line + 1, position + self.repeat, self.limits))
        self.cells += [""] * self.empty
        self.empty = 0
        for offset in range(self.repeat):
            if cell.length > self.limits.max_cell_chars:
                self.long.append((position + offset, cell.length))
            if self.formula is not None:
                self.formulas.append((position + offset, re.sub(r"^of:", "", self.formula)))
            self.cells.append(text)

    def _finish_row(self) -> None:
        if not self.cells:
            self.line += self.repeat_rows  # blank rows, however many, cost nothing
            return
        if self.line + self.repeat_rows > self.limits.max_rows:
            raise Refused(too_many_rows(self.sink.shown, self.limits.max_rows + 1, self.limits))
        for _ in range(self.repeat_rows):
            self.line += 1
            self.sink.add(self.line, list(self.cells), list(self.formulas), list(self.long))


def _count(value: str | None) -> int:
    try:
        return max(1, int(value)) if value else 1
    except ValueError:
        return 1


def _ods_value(attrs: dict) -> object:
    """The typed value of an .ods cell (its office:value-type), None when its text is the value."""
    kind = attr(attrs, "value-type")
    if kind in ("float", "percentage", "currency"):
        raw = attr(attrs, "value", "")
        try:
            return int(raw) if re.fullmatch(r"-?\d{1,20}", raw) else float(raw)
        except ValueError:
            return None
    if kind == "date":
        value = attr(attrs, "date-value", "")
        return value[:10] if value[10:].strip("T0:.") == "" else value
    if kind == "time":
        match = re.fullmatch(r"-?PT(\d+)H(\d+)M(\d+(?:\.\d+)?)S", attr(attrs, "time-value", ""))
        return f"{int(match[1]):02d}:{int(match[2]):02d}:{match[3]}" if match else None
    if kind == "boolean":
        return attr(attrs, "boolean-value", "").lower() == "true"
    return None
