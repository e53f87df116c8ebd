"""xlsx: an Excel workbook's sheet streamed row by row (pipeline.contributions.workbook does the zip and XML).

The sheet named 'findings' (else the first) is found through workbook.xml and its relationships;
shared strings are read first (bounded: `max_shared_strings_bytes`, each string at most a cell),
then the sheet's `<row>`s as they come, never trusting `<dimension>`. A cell's number format
says whether its number is a date (openpyxl's rules, `is_date_format` and `from_excel`).
"""

from __future__ import annotations

import re
import zipfile

from pipeline.contributions.table import Refused, cell_text, too_many_columns
from pipeline.contributions.workbook import Budget, CellText, RowSink, attr, parse_part, preferred, shared_too_big
from pipeline.core.problems import Problem

_CELL_REF = re.compile(r"([A-Za-z]{1,4})(\d+)$")


def read_xlsx(archive: zipfile.ZipFile, sink: RowSink, budget: Budget) -> None:
    names = set(archive.namelist())
    sheets, date1904 = _xlsx_sheets(archive, budget)
    if not sheets:
        raise Refused(Problem("unreadable-file", "the workbook has no sheets", file=sink.shown))
    chosen = next((s for s in sheets if preferred(s[0])), sheets[0])
    sink.chosen = chosen[0]
    sink.others = [name for name, _ in sheets if name != chosen[0]]
    strings = _shared_strings(archive, budget, sink) if "xl/sharedStrings.xml" in names else []
    dates = _date_styles(archive, budget) if "xl/styles.xml" in names else set()
    _XlsxSheet(sink, strings, dates, date1904).parse(archive, chosen[1], budget)


def _xlsx_sheets(archive: zipfile.ZipFile, budget: Budget) -> tuple[list[tuple[str, str]], bool]:
    """(name, part) of each sheet in workbook order, and whether dates count from 1904."""
    found, flags, targets = [], {"date1904": False}, {}

    def workbook(tag, attrs):
        if tag == "sheet":
            found.append((attr(attrs, "name", ""), attr(attrs, "id", "")))
        elif tag == "workbookPr":
            flags["date1904"] = attr(attrs, "date1904", "false").lower() in ("1", "true")

    def rels(tag, attrs):
        if tag == "Relationship":
            targets[attrs.get("Id", "")] = attrs.get("Target", "")

    parse_part(archive, "xl/workbook.xml", budget, workbook)
    parse_part(archive, "xl/_rels/workbook.xml.rels", budget, rels)
    sheets = []
    for name, rid in found:
        target = targets.get(rid, "")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        if part in archive.namelist():
            sheets.append((name, part))
    return sheets, flags["date1904"]


def _shared_strings(archive: zipfile.ZipFile, budget: Budget, sink: RowSink) -> list[str]:
    strings: list[str] = []
    state = {"cell": None, "depth": 0, "phonetic": 0}
    cap = sink.limits.max_cell_chars

    def start(tag, attrs):
        if tag == "si":
            state["cell"] = CellText(cap)
        elif tag == "rPh":
            state["phonetic"] += 1
        elif tag == "t" and state["cell"] is not None and not state["phonetic"]:
            state["depth"] += 1

    def end(tag):
        if tag == "si" and state["cell"] is not None:
            cell = state["cell"]
            if cell.length > cap:
                raise Refused(shared_too_big(sink.shown, f"one string has {cell.length:,} characters or more; "
                                              f"a cell holds at most {cap:,}", sink.limits))
            strings.append(cell.text())
            state["cell"] = None
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "t" and state["depth"]:
            state["depth"] -= 1

    def text(data):
        if state["depth"]:
            state["cell"].add(data)

    parse_part(archive, "xl/sharedStrings.xml", budget, start, end, text, sink.limits.max_shared_strings_bytes)
    return strings


_BUILTIN_DATES = {14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47}


def _date_styles(archive: zipfile.ZipFile, budget: Budget) -> set[int]:
    """Indexes of the cell styles whose number format is a date or time (openpyxl's rule)."""
    from openpyxl.styles.numbers import is_date_format

    formats: dict[int, str] = {}
    styles: list[int] = []
    depth = {"cellXfs": 0}

    def start(tag, attrs):
        if tag == "numFmt":
            formats[int(attr(attrs, "numFmtId", "0"))] = attr(attrs, "formatCode", "")
        elif tag == "cellXfs":
            depth["cellXfs"] += 1
        elif tag == "xf" and depth["cellXfs"]:
            styles.append(int(attr(attrs, "numFmtId", "0")))

    def end(tag):
        if tag == "cellXfs":
            depth["cellXfs"] -= 1

    parse_part(archive, "xl/styles.xml", budget, start, end)
    return {index for index, fmt in enumerate(styles)
            if fmt in _BUILTIN_DATES or (fmt in formats and is_date_format(formats[fmt]))}


class _XlsxSheet:
    """One worksheet's `<row>`s and `<c>`ells, streamed into the sink."""

    def __init__(self, sink: RowSink, strings: list[str], dates: set[int], date1904: bool):
        self.sink, self.strings, self.dates, self.date1904 = sink, strings, dates, date1904
        self.cap = sink.limits.max_cell_chars
        self.number = 0
        self.cell: CellText | None = None
        self.capture: CellText | None = None  # where character data goes: the value or the formula
        self.row: dict[int, str] = {}

    def parse(self, archive: zipfile.ZipFile, part: str, budget: Budget) -> None:
        parse_part(archive, part, budget, self.start, self.end, self.text)

    def start(self, tag: str, attrs: dict) -> None:
        if tag == "row":
            self.number = int(attrs.get("r") or self.number + 1)
            self.row, self.formulas, self.long, self.column = {}, [], [], -1
        elif tag == "c":
            match = _CELL_REF.match(attrs.get("r", ""))
            self.column = _column_index(match[1]) if match else self.column + 1
            self.kind, self.style = attrs.get("t", "n"), int(attrs.get("s") or 0)
            self.cell, self.formula = CellText(self.cap), None
        elif tag == "f" and self.cell is not None:
            self.formula = CellText(80)
            self.capture = self.formula
        elif tag in ("v", "t") and self.cell is not None:
            self.capture = self.cell

    def text(self, data: str) -> None:
        if self.capture is not None:
            self.capture.add(data)

    def end(self, tag: str) -> None:
        if tag in ("v", "t", "f"):
            self.capture = None
        elif tag == "c" and self.cell is not None:
            self._finish_cell()
        elif tag == "row":
            width = max(self.row, default=-1) + 1
            cells = [self.row.get(i, "") for i in range(width)]
            self.sink.add(self.number, cells, self.formulas, self.long)

    def _finish_cell(self) -> None:
        cell, self.cell = self.cell, None
        value = self._value(cell.text())
        if not value and self.formula is None:
            return
        if self.column >= self.sink.limits.max_columns:
            raise Refused(too_many_columns(self.sink.shown, self.number, self.column + 1, self.sink.limits))
        if cell.length > self.cap:
            self.long.append((self.column, cell.length))
        if self.formula is not None:
            self.formulas.append((self.column, "=" + self.formula.text()))
        self.row[self.column] = value

    def _value(self, raw: str) -> str:
        kind = self.kind
        if kind == "s":
            return cell_text(self.strings[int(raw)]) if raw.strip() else ""
        if kind == "b":
            return cell_text(raw.strip() in ("1", "true"))
        if kind in ("str", "inlineStr", "e") or not raw.strip():
            return cell_text(raw)
        try:
            if kind == "d":
                import datetime

                return cell_text(datetime.datetime.fromisoformat(raw.strip()))
            number = int(raw) if re.fullmatch(r"\s*-?\d{1,20}\s*", raw) else float(raw)
            if self.style in self.dates:
                from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

                return cell_text(from_excel(number, CALENDAR_MAC_1904 if self.date1904 else CALENDAR_WINDOWS_1900))
        except (ValueError, OverflowError, TypeError):
            return cell_text(raw)  # not the number or date it claims to be: the text as stored
        return cell_text(number)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index - 1
