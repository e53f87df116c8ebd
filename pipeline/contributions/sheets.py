"""sheets: the files contributors really send → a header and rows, each with its line number.

CSV, TSV and Excel's text exports (UTF-8 with or without BOM, UTF-16 "Unicode text", cp1252),
with `,` `;` or tab sniffed from the header, and XLSX. Cells and header names are trimmed, rows
that are blank (or only delimiters, as Excel writes them) and lines starting with `#` are
skipped, and each row keeps its 1-based line in the file (for XLSX, its row number) so a
problem can say where it is. Nothing here knows what a finding is: that is `pipeline.contributions.rules`.

A big delimited file is read by polars in one pass; the line of each row then follows from its
position, which holds when no record spans two lines. When that cannot be shown (quoted line
breaks, ragged rows, anything polars refuses), the file is read again by Python's csv module,
which gives the same rows and reports each ragged one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.problems import Problem

DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
SPREADSHEETS = {".xlsx", ".xlsm"}
PREFERRED_SHEET = "findings"
# Trimmed from both ends of every cell: Unicode White_Space, which is what polars' strip_chars()
# removes (Python's str.strip() would also take \x1c-\x1f); the slow reader uses the same set.
SPACES = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
          "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SAVE_AS = "save it from your spreadsheet as 'CSV UTF-8 (comma delimited)' or as .xlsx"
_COMMENT_LINE = re.compile(rb"(?m)^#[^\r\n]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAGIC = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?); name it .xlsx",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook; save it as .xlsx or CSV",
    b"%PDF": "a PDF",
}


@dataclass
class Sheet:
    """What a file holds: header cells (trimmed) and a polars frame of its non-blank rows.

    `frame` has a `line` column (1-based; the header's line is `header_line`) and one string
    column per header position, named `c0`, `c1`, …; missing cells are empty strings. It is None
    when the file could not be read; `problems` then says why.
    """

    path: str
    header: list[str] = field(default_factory=list)
    header_line: int | None = None
    frame: object | None = None
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.frame is not None

    def rows(self) -> list[tuple[int, list[str]]]:
        """(line, cells) for every row: convenient for small files and tests."""
        if self.frame is None:
            return []
        return [(row[0], list(row[1:])) for row in self.frame.iter_rows()]


def column_name(position: int) -> str:
    return f"c{position}"


def read_sheet(path: Path, display: str | None = None) -> Sheet:
    """Read a CSV/TSV/TXT/XLSX file; every problem becomes a `Problem`, never an exception."""
    path = Path(path)
    shown = display or str(path)
    suffix = path.suffix.lower()
    if suffix not in DELIMITED and suffix not in SPREADSHEETS:
        return _unreadable(shown, "unsupported-format", f"'{path.suffix or path.name}' files are not read",
                           "send a .csv, .tsv or .xlsx file", code_value=path.suffix or None)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _unreadable(shown, "not-found", "no such file", "check the path")
    except IsADirectoryError:
        return _unreadable(shown, "unsupported-format", "this is a folder, not a file", "give a file")
    except OSError as error:
        return _unreadable(shown, "unreadable-file", f"the file cannot be read: {error.strerror or error}", None)
    if suffix in SPREADSHEETS:
        return read_workbook(raw, shown)
    return read_delimited(raw, shown, DELIMITED[suffix])


def _unreadable(shown: str, code: str, message: str, suggestion: str | None, code_value: str | None = None) -> Sheet:
    return Sheet(shown, problems=[Problem(code, message, file=shown, value=code_value, suggestion=suggestion)])


# ---------------------------------------------------------------------------------------------
# Delimited text


def decode(raw: bytes, shown: str) -> tuple[str | None, str | None, list[Problem]]:
    """Text, the encoding it was read with, and problems (an unreadable file gives text None)."""
    refused = _refuse_by_magic(raw, shown)
    if refused:
        return None, None, refused
    problems: list[Problem] = []
    encoding, body = _encoding_of(raw)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        if encoding != "utf-8":
            return None, None, [Problem("unreadable-file", f"the file says it is {encoding} but byte "
                                        f"{error.start} is not", file=shown, suggestion=_SAVE_AS)]
        try:
            text = body.decode("cp1252")
        except UnicodeDecodeError:
            return None, None, [Problem("unreadable-file", "the file is neither UTF-8 nor Windows-1252 text "
                                        f"(byte {error.start} is {body[error.start:error.start + 1]!r})",
                                        file=shown, suggestion=_SAVE_AS)]
        encoding = "cp1252"
        problems.append(Problem("encoding", "the file is not UTF-8; it was read as Windows-1252 (cp1252)",
                                file=shown, suggestion="check that accented letters came through; "
                                "'CSV UTF-8' avoids the guess", severity="warning"))
    if _binary(text[:65536]):
        return None, None, [Problem("unreadable-file", "this is not a text table: it holds binary data",
                                    file=shown, suggestion=_SAVE_AS)]
    return text, encoding, problems


def _refuse_by_magic(raw: bytes, shown: str) -> list[Problem]:
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            return [Problem("unreadable-file", f"this is not a text file: it looks like {what}", file=shown,
                            suggestion=_SAVE_AS)]
    return []


def _encoding_of(raw: bytes) -> tuple[str, bytes]:
    """The encoding a byte order mark (or UTF-16's zero bytes) announces, and the bytes after a UTF-8 BOM."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", raw[3:]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", raw
    if _looks_like_utf16le(raw):
        return "utf-16-le", raw
    return "utf-8", raw


def _binary(head: str) -> bool:
    return "\x00" in head or len(_CONTROL.findall(head)) > max(8, len(head) // 100)


def _looks_like_utf16le(raw: bytes) -> bool:
    """UTF-16 without a BOM: ASCII text with a zero after every byte."""
    sample = raw[:4096]
    return len(sample) >= 4 and sample[1::2].count(0) >= 0.9 * (len(sample) // 2) and sample[0::2].count(0) == 0


def sniff_delimiter(header_line: str, default: str) -> str:
    """The delimiter the header uses most (outside quotes); the extension's when it shows none."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: outside.count(d) for d in (",", ";", "\t")}
    best = max(counts.values())
    if best == 0:
        return default
    winners = [d for d, n in counts.items() if n == best]
    return default if default in winners else winners[0]


def read_delimited(raw: bytes, shown: str, default_delimiter: str = ",") -> Sheet:
    if not raw.strip():
        return Sheet(shown, problems=[Problem("empty-file", "the file is empty", file=shown,
                                              suggestion="start from `ketamap template`")])
    encoding, body = _encoding_of(raw)
    if encoding.startswith("utf-8") and not _refuse_by_magic(raw, shown) and not _lone_cr(body) \
            and not _binary(body[:65536].decode("utf-8", errors="ignore")):
        sheet = _read_body(body, shown, default_delimiter, slow=False)  # UTF-8 as is: no decoding pass
        if sheet is not None:
            sheet.encoding = encoding
            return sheet
    text, encoding, problems = decode(raw, shown)
    if text is None:
        return Sheet(shown, problems=problems)
    if "\r" in text and re.search(r"\r(?!\n)", text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # old Mac line ends
    sheet = _read_body(text.encode("utf-8"), shown, default_delimiter, slow=True)
    sheet.encoding = encoding
    sheet.problems = problems + sheet.problems
    return sheet


def _lone_cr(body: bytes) -> bool:
    return b"\r" in body and re.search(rb"\r(?!\n)", body) is not None


def _read_body(body: bytes, shown: str, default_delimiter: str, slow: bool) -> Sheet | None:
    """UTF-8 bytes → Sheet; with slow=False, None whenever the fast reader cannot vouch for the result."""
    header_line, start = _find_header(body)
    if header_line is None:
        if not slow:
            return None
        return Sheet(shown, problems=[Problem("empty-file", "the file has no header row (only blank or '#' lines)",
                                              file=shown, suggestion="start from `ketamap template`")])
    rest = _blank_comments(body[start:])  # the header line itself is no comment: it stays as it is
    try:
        first = _first_line(rest)
    except UnicodeDecodeError:
        return None
    delimiter = sniff_delimiter(first, default_delimiter)
    sheet = _read_fast(rest, delimiter, header_line)
    if sheet is None:
        if not slow:
            return None
        sheet = _read_slow(rest.decode("utf-8"), delimiter, header_line, shown)
    sheet.path, sheet.delimiter = shown, delimiter
    return sheet


def _find_header(body: bytes) -> tuple[int | None, int]:
    """The 1-based line of the first line that is neither blank nor a comment, and its byte offset."""
    offset, line = 0, 1
    while offset < len(body):
        end = body.find(b"\n", offset)
        end = len(body) if end < 0 else end
        content = body[offset:end].decode("utf-8", errors="replace")
        if content.strip(SPACES + ",;") and not content.startswith("#"):
            return line, offset
        offset, line = end + 1, line + 1
    return None, 0


def _blank_comments(body: bytes) -> bytes:
    """Empty every line that starts with '#', keeping the line count (and so the line numbers)."""
    if b"#" not in body or b"\n#" not in body:  # the first test is a fast memchr
        return body
    return _COMMENT_LINE.sub(b"", body)


def _first_line(body: bytes) -> str:
    end = body.find(b"\n")
    return body[:end if end >= 0 else len(body)].decode("utf-8")


def _read_fast(body: bytes, delimiter: str, header_line: int) -> Sheet | None:
    """polars, when each physical line is one record; None when that cannot be shown."""
    import polars as pl

    first = _first_line(body)
    header = [cell.strip(SPACES) for cell in next(csv.reader([first], delimiter=delimiter), [])]
    if not header or '"' in first:
        return None
    names = [column_name(i) for i in range(len(header))]
    blank = pl.all_horizontal(pl.col(n) == "" for n in names)
    try:  # one lazy query: polars trims cells and drops blank rows while it parses
        frame = (pl.scan_csv(io.BytesIO(body), has_header=False, separator=delimiter, quote_char='"',
                             schema={name: pl.String for name in names}, infer_schema=False, raise_if_empty=False)
                 .with_row_index("line", offset=header_line)
                 .with_columns(pl.col("line").cast(pl.Int64), *[pl.col(n).fill_null("").str.strip_chars()
                                                                for n in names])
                 .with_columns(_records=pl.len())
                 .filter((pl.col("line") > header_line) & ~blank)
                 .collect())
    except Exception:  # polars' parse errors have no common base; the slow reader explains them
        return None
    physical = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    if frame.height == 0 or frame["_records"][0] != physical:
        return None  # (an empty result is cheap to read again slowly)
    frame = frame.drop("_records")
    return Sheet("", header=header, header_line=header_line, frame=frame)


def _read_slow(text: str, delimiter: str, header_line: int, shown: str) -> Sheet:
    """Python's csv module: record by record, quoted line breaks and ragged rows included."""
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[Problem] = []
    records: list[tuple[int, list[str]]] = []
    header: list[str] = []
    previous = 0
    try:
        for cells in reader:
            line = header_line + previous
            previous = reader.line_num
            cells = [cell.strip(SPACES) for cell in cells]
            if not header and line == header_line:
                header = cells
                continue
            if not any(cells):
                continue
            if len(cells) > len(header):
                extra = [c for c in cells[len(header):] if c]
                if extra:
                    problems.append(Problem("ragged-row", f"the row has {len(cells)} cells but the header has "
                                            f"{len(header)}", file=shown, line=line, value=extra[0],
                                            suggestion="remove the extra cells or give them a header; a "
                                            "cell holding the delimiter must be quoted"))
                cells = cells[:len(header)]
            records.append((line, cells + [""] * (len(header) - len(cells))))
    except csv.Error as error:
        problems.append(Problem("unreadable-file", f"the table cannot be parsed after line "
                                f"{header_line + previous}: {error}", file=shown, line=header_line + previous,
                                suggestion="check for an unclosed quote (\") near that line"))
    return Sheet("", header=header, header_line=header_line, frame=_frame(header, records), problems=problems)


def _frame(header: list[str], records: list[tuple[int, list[str]]]):
    import polars as pl

    names = [column_name(i) for i in range(len(header))]
    columns = {"line": pl.Series("line", [line for line, _ in records], dtype=pl.Int64)}
    for i, name in enumerate(names):
        columns[name] = pl.Series(name, [cells[i] for _, cells in records], dtype=pl.String)
    return pl.DataFrame(columns)


# ---------------------------------------------------------------------------------------------
# XLSX


def read_workbook(raw: bytes, shown: str) -> Sheet:
    """The sheet named 'findings' (else the first), read-only; rows keep their Excel row numbers."""
    import zipfile

    from openpyxl import load_workbook

    if not raw:
        return Sheet(shown, problems=[Problem("empty-file", "the file is empty", file=shown,
                                              suggestion="start from `ketamap template --format xlsx`")])
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, EOFError) as error:
        return _unreadable(shown, "unreadable-file", f"this is not a readable .xlsx workbook ({type(error).__name__})",
                           "open it in your spreadsheet and save it again as .xlsx (Excel Workbook)")
    except Exception as error:  # openpyxl raises many kinds of errors for damaged workbooks
        return _unreadable(shown, "unreadable-file", f"the workbook is damaged ({type(error).__name__})",
                           "open it in your spreadsheet and save it again as .xlsx (Excel Workbook)")
    try:
        return _read_worksheet(workbook, shown)
    except Exception as error:  # damaged sheet XML surfaces only while iterating
        return _unreadable(shown, "unreadable-file", f"the workbook is damaged ({type(error).__name__})",
                           "open it in your spreadsheet and save it again as .xlsx (Excel Workbook)")
    finally:
        workbook.close()


def _read_worksheet(workbook, shown: str) -> Sheet:
    names = list(workbook.sheetnames)
    if not names:
        return _unreadable(shown, "unreadable-file", "the workbook has no sheets", None)
    chosen = next((n for n in names if n.strip().casefold() == PREFERRED_SHEET), names[0])
    problems = []
    if len(names) > 1:
        others = ", ".join(repr(n) for n in names if n != chosen)
        why = "it is named 'findings'" if chosen.strip().casefold() == PREFERRED_SHEET else "it is the first"
        problems.append(Problem("sheet-chosen", f"read the sheet {chosen!r} ({why}); ignored {others}",
                                file=shown, value=chosen, suggestion="put the findings on a sheet named "
                                "'findings' if this is the wrong one", severity="warning"))
    header: list[str] = []
    header_line: int | None = None
    records: list[tuple[int, list[str]]] = []
    for number, values in enumerate(workbook[chosen].iter_rows(values_only=True), 1):
        cells = [cell_text(v) for v in values]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header_line is None:
            while cells and not cells[-1]:
                cells.pop()
            header, header_line = cells, number
            continue
        extra = [c for c in cells[len(header):] if c]
        if extra:
            problems.append(Problem("ragged-row", f"the row has a cell beyond the header's {len(header)} columns",
                                    file=shown, line=number, value=extra[0],
                                    suggestion="remove the extra cells or give them a header"))
        cells = cells[:len(header)]
        records.append((number, cells + [""] * (len(header) - len(cells))))
    if header_line is None:
        return Sheet(shown, sheet=chosen, problems=problems + [Problem(
            "empty-file", f"the sheet {chosen!r} is empty", file=shown,
            suggestion="start from `ketamap template --format xlsx`")])
    return Sheet(shown, header=header, header_line=header_line, frame=_frame(header, records), sheet=chosen,
                 problems=problems)


def cell_text(value: object) -> str:
    """A cell as the contributor sees it: 12345678.0 → '12345678', a date → '2024-01-02'."""
    import datetime

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value).strip(SPACES)
