"""workbook: what .xlsx (Excel) and .ods (LibreOffice) share: one streaming pass, bounded, formulas refused.

Both formats are a zip of XML parts. Before anything is inflated, the zip's declared sizes are
checked against `SheetLimits` (members, total inflated size, the shared-string table); while a
part is read, the bytes actually inflated are counted against the same limits (a zip may lie
about its sizes). The XML is parsed by the standard library's expat in chunks, with document
type declarations refused (so no entity can expand: what defusedxml does), and cell text is
capped as it arrives, so memory stays bounded whatever the file holds.

Rows are read as they come: the `<dimension>` an .xlsx declares is never consulted, so a sheet
that understates its size is still read in full (and stops at `max_rows`). A formula cell (an
.xlsx `<f>`, an .ods `table:formula`) is an error at its line and column: what it shows is not
what the file holds. Why not openpyxl or odfpy: openpyxl trusts `<dimension>` in read-only mode
and inflates the whole shared-string table into memory before the first row; odfpy builds the
whole document as a DOM. Dates follow the cell's number format (openpyxl's own rules for that).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from xml.parsers import expat

from pipeline.contributions.table import (
    LIMITS,
    Refused,
    Sheet,
    SheetLimits,
    cell_too_long,
    check_header,
    column_letter,
    make_frame,
    refused,
    too_many_columns,
    too_many_rows,
)
from pipeline.core.problems import Problem

PREFERRED_SHEET = "findings"
CHUNK = 1 << 20
RESAVE = {".xlsx": "open it in your spreadsheet and save it again as .xlsx (Excel Workbook)",
          ".ods": "open it in LibreOffice and save it again as .ods (or as .xlsx)"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, ValueError,
            KeyError, IndexError, expat.ExpatError)


def read_zipped(raw: bytes, shown: str, kind: str, reader, limits: SheetLimits = LIMITS) -> Sheet:
    """The sheet named 'findings' (else the first) of an .xlsx or .ods, `reader(archive, sink, budget)`
    being `pipeline.contributions.xlsx.read_xlsx` or `pipeline.contributions.ods.read_ods`."""
    resave = RESAVE[".ods" if kind == ".ods" else ".xlsx"]
    if not raw:
        return refused(shown, code="empty-file", message="the file is empty",
                       suggestion="start from `ketamap template --format xlsx`")
    if raw.startswith(_OLE):
        return refused(shown, code="unreadable-file", message="this is a password-protected workbook or an old "
                       "Excel .xls file, not an .xlsx", suggestion="remove the password, or save it as .xlsx")
    try:
        archive = _open_zip(raw, shown, limits)
        sink = RowSink(shown, limits)
        reader(archive, sink, Budget(shown, limits))
        return sink.sheet()
    except Refused as refusal:
        return refused(shown, refusal.problem)
    except _DAMAGED as error:
        where = f" at XML line {error.lineno}" if isinstance(error, expat.ExpatError) else ""
        return refused(shown, code="unreadable-file", message=f"this is not a readable {kind} workbook "
                       f"({type(error).__name__}{where})", suggestion=resave)


def _open_zip(raw: bytes, shown: str, limits: SheetLimits) -> zipfile.ZipFile:
    if raw.count(b"PK\x01\x02") > limits.max_members:  # before zipfile builds one object per member
        raise Refused(_too_big(shown, f"the workbook holds more than {limits.max_members:,} parts", limits))
    archive = zipfile.ZipFile(io.BytesIO(raw))
    declared = sum(info.file_size for info in archive.infolist())
    if declared > limits.max_inflated_bytes:
        raise Refused(_too_big(shown, f"the workbook unzips to {declared:,} bytes", limits))
    return archive


def _too_big(shown: str, what: str, limits: SheetLimits) -> Problem:
    return Problem("workbook-too-large", f"{what}; at most {limits.max_inflated_bytes:,} bytes are read "
                   "(a zip that unzips to far more than it stores is refused)", file=shown,
                   suggestion="save the findings alone in a new workbook, or as CSV")


class Budget:
    """Inflated bytes actually read, across the parts of one workbook."""

    def __init__(self, shown: str, limits: SheetLimits):
        self.shown, self.limits, self.used = shown, limits, 0

    def take(self, size: int, part: str, part_limit: int | None = None, part_used: int = 0) -> None:
        self.used += size
        if self.used > self.limits.max_inflated_bytes:
            raise Refused(_too_big(self.shown, f"its parts unzip to more than {self.limits.max_inflated_bytes:,} "
                                   "bytes", self.limits))
        if part_limit is not None and part_used > part_limit:
            raise Refused(shared_too_big(self.shown, f"{part} unzips to more than {part_limit:,} bytes", self.limits))


def shared_too_big(shown: str, what: str, limits: SheetLimits) -> Problem:
    return Problem("shared-strings-too-large", f"the workbook's table of shared strings is too large: {what}",
                   file=shown, suggestion="save the findings alone in a new workbook, or as CSV")


def parse_part(archive: zipfile.ZipFile, name: str, budget: Budget, start, end=None, text=None,
           part_limit: int | None = None) -> None:
    """Stream one XML part through expat: handlers get local names; DTDs are refused."""
    info = archive.getinfo(name)
    if part_limit is not None and info.file_size > part_limit:
        raise Refused(shared_too_big(budget.shown, f"{name} declares {info.file_size:,} bytes, at most "
                                      f"{part_limit:,} are read", budget.limits))
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = 1 << 16

    def no_dtd(*_):
        raise Refused(Problem("unreadable-file", f"the workbook's {name} declares a document type or entities, "
                              "which a spreadsheet never writes", file=budget.shown,
                              suggestion="open it in your spreadsheet and save it again"))

    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = no_dtd
    parser.ExternalEntityRefHandler = no_dtd
    parser.StartElementHandler = lambda tag, attrs: start(tag.rsplit("}", 1)[-1], attrs)
    if end is not None:
        parser.EndElementHandler = lambda tag: end(tag.rsplit("}", 1)[-1])
    if text is not None:
        parser.CharacterDataHandler = text
    used = 0
    with archive.open(info) as stream:
        while chunk := stream.read(CHUNK):
            used += len(chunk)
            budget.take(len(chunk), name, part_limit, used)
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


def attr(attrs: dict, name: str, default: str | None = None) -> str | None:
    """An attribute by local name, whatever its namespace prefix."""
    for key, value in attrs.items():
        if key == name or key.endswith("}" + name):
            return value
    return default


class RowSink:
    """Rows as a workbook yields them → header, records, and problems (ragged rows, formulas, long cells)."""

    def __init__(self, shown: str, limits: SheetLimits):
        self.shown, self.limits = shown, limits
        self.header: list[str] = []
        self.header_line: int | None = None
        self.records: list[tuple[int, list[str]]] = []
        self.problems: list[Problem] = []
        self.chosen: str | None = None
        self.others: list[str] = []

    def reset(self, name: str) -> None:
        if self.chosen is not None:
            self.others.append(self.chosen)
        self.chosen, self.header, self.header_line, self.records, self.problems = name, [], None, [], []

    def add(self, number: int, cells: list[str], formulas: list[tuple[int, str]], long: list[tuple[int, int]]) -> None:
        """One row: its number, its cells (trimmed), (position, formula) of formula cells, (position,
        length) of cells too long."""
        if number > self.limits.max_rows:
            raise Refused(too_many_rows(self.shown, number, self.limits))
        if len(cells) > self.limits.max_columns:
            raise Refused(too_many_columns(self.shown, number, len(cells), self.limits))
        if not formulas and (not any(cells) or cells[0].startswith("#")):
            return
        if self.header_line is None:
            while cells and not cells[-1]:
                cells.pop()
            check_header(self.shown, cells, number, self.limits)
            self.header, self.header_line = cells, number
        else:
            width = len(self.header)
            extra = [c for c in cells[width:] if c]
            if extra:
                self.problems.append(Problem("ragged-row", f"the row has a cell beyond the header's {width} columns",
                                             file=self.shown, line=number, value=extra[0][:80],
                                             suggestion="remove the extra cells or give them a header"))
            self.records.append((number, cells[:width] + [""] * (width - len(cells))))
        for position, length in long:
            self.problems.append(cell_too_long(self.shown, number, self._column(position), length, self.limits))
        for position, formula in formulas:
            self.problems.append(Problem("formula-cell", "the cell holds a formula; what it shows is computed, "
                                         "not written", file=self.shown, line=number, column=self._column(position),
                                         value=formula[:80],
                                         suggestion="replace the formula by its value (copy, then paste as "
                                         "values only) or by the text it should say"))

    def _column(self, position: int) -> str:
        name = self.header[position] if self.header_line is not None and position < len(self.header) else ""
        return name or f"column {column_letter(position)}"

    def sheet(self) -> Sheet:
        problems = []
        if self.others:
            others = ", ".join(repr(n) for n in self.others)
            why = "it is named 'findings'" if preferred(self.chosen) else "it is the first"
            problems.append(Problem("sheet-chosen", f"read the sheet {self.chosen!r} ({why}); ignored {others}",
                                    file=self.shown, value=self.chosen, suggestion="put the findings on a sheet "
                                    "named 'findings' if this is the wrong one", severity="warning"))
        if self.chosen is None:
            return refused(self.shown, code="unreadable-file", message="the workbook has no sheets", suggestion=None)
        if self.header_line is None:
            return Sheet(self.shown, sheet=self.chosen, problems=problems + [Problem(
                "empty-file", f"the sheet {self.chosen!r} is empty", file=self.shown,
                suggestion="start from `ketamap template --format xlsx`")])
        problems += sorted(self.problems, key=lambda p: p.line or 0)
        return Sheet(self.shown, header=self.header, header_line=self.header_line,
                     frame=make_frame(self.header, self.records), sheet=self.chosen, problems=problems)


def preferred(name: str | None) -> bool:
    return (name or "").strip().casefold() == PREFERRED_SHEET


class CellText:
    """Text of one cell, capped at the cell limit as it arrives (the length beyond is only counted)."""

    def __init__(self, cap: int):
        self.cap, self.parts, self.kept, self.length = cap, [], 0, 0

    def add(self, text: str) -> None:
        self.length += len(text)
        if self.kept <= self.cap:
            piece = text[:self.cap + 1 - self.kept]
            self.parts.append(piece)
            self.kept += len(piece)

    def text(self) -> str:
        return "".join(self.parts)
