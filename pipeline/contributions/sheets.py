"""sheets: the files contributors really send → a header and rows, each with its line number.

CSV, TSV and Excel's text exports (UTF-8 with or without BOM, UTF-16 "Unicode text", cp1252),
with `,` `;` or tab sniffed from the header, and workbooks: XLSX (`pipeline.contributions.xlsx`) and
ODS (`pipeline.contributions.ods`). Cells and header names are trimmed, rows
that are blank (or only delimiters, as Excel writes them) and lines starting with `#` are
skipped, and each row keeps its 1-based line in the file (for XLSX, its row number) so a
problem can say where it is. Nothing here knows what a finding is: that is `pipeline.contributions.rules`.

A big delimited file is read by polars in one pass; the line of each row then follows from its
position, which holds when no record spans two lines. When that cannot be shown (quoted line
breaks, ragged rows, anything polars refuses), the file is read again by Python's csv module,
which gives the same rows and reports each ragged one.

Every row is read or the file is refused: the file is opened only when `os.stat` says it is a
regular file (`pipeline.core.files.read_input`: a FIFO, a device or a folder is refused at once),
an unclosed quote is an error at the line where it opens (it would swallow every later line into
one cell), a NUL byte anywhere is an error at its line, and every limit of `SheetLimits`
(bytes, lines, columns, cell and header length) has its own problem code.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.contributions.ods import read_ods
from pipeline.contributions.table import (  # noqa: F401 (Sheet, SPACES, cell_text: this module's API too)
    LIMITS,
    SPACES,
    Refused,
    Sheet,
    SheetLimits,
    cell_text,
    check_header,
    column_name,
    long_cells,
    make_frame,
    refused,
    too_many_columns,
    too_many_rows,
)
from pipeline.contributions.workbook import read_zipped
from pipeline.contributions.xlsx import read_xlsx
from pipeline.core.files import input_refusal, read_input
from pipeline.core.problems import Problem, ProblemsFound

DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
SPREADSHEETS = {".xlsx": read_xlsx, ".xlsm": read_xlsx, ".ods": read_ods}
_SAVE_AS = "save it from your spreadsheet as 'CSV UTF-8 (comma delimited)' or as .xlsx"
_COMMENT_LINE = re.compile(rb"(?m)^#[^\r\n]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAGIC = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?); name it .xlsx",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook; save it as .xlsx or CSV",
    b"%PDF": "a PDF",
}


def read_sheet(path: Path, display: str | None = None, limits: SheetLimits = LIMITS) -> Sheet:
    """Read a CSV/TSV/TXT/XLSX/ODS file; every problem becomes a `Problem`, never an exception."""
    path = Path(path)
    shown = display or str(path)
    refusal = input_refusal(path, shown)  # stat only: a FIFO or a device is never opened
    if refusal is not None:
        return refused(shown, refusal)
    suffix = path.suffix.lower()
    if suffix not in DELIMITED and suffix not in SPREADSHEETS:
        return refused(shown, code="unsupported-format", message=f"'{path.suffix or path.name}' files are not read",
                       suggestion="send a .csv, .tsv, .xlsx or .ods file", value=path.suffix or None)
    try:
        raw = read_input(path, limits.max_bytes, shown)
    except ProblemsFound as found:
        return Sheet(shown, problems=found.problems)
    if suffix in SPREADSHEETS:
        return read_zipped(raw, shown, suffix, SPREADSHEETS[suffix], limits)
    return read_delimited(raw, shown, DELIMITED[suffix], limits)


def read_workbook(raw: bytes, shown: str, kind: str = ".xlsx", limits: SheetLimits = LIMITS) -> Sheet:
    """An .xlsx/.xlsm/.ods workbook's bytes → Sheet (`read_sheet` without a path)."""
    return read_zipped(raw, shown, kind, SPREADSHEETS.get(kind, read_xlsx), limits)


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
    """Dense control characters: binary data (a lone NUL is told apart, with its line: `_check_text`)."""
    return len(_CONTROL.findall(head)) > max(8, len(head) // 100)


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


def read_delimited(raw: bytes, shown: str, default_delimiter: str = ",", limits: SheetLimits = LIMITS) -> Sheet:
    if not raw.strip():
        return Sheet(shown, problems=[Problem("empty-file", "the file is empty", file=shown,
                                              suggestion="start from `ketamap template`")])
    try:
        return _read_delimited(raw, shown, default_delimiter, limits)
    except Refused as refusal:
        return refused(shown, replace(refusal.problem, file=shown))


def _read_delimited(raw: bytes, shown: str, default_delimiter: str, limits: SheetLimits) -> Sheet:
    encoding, body = _encoding_of(raw)
    if encoding.startswith("utf-8") and not _refuse_by_magic(raw, shown) and not _lone_cr(body) \
            and not _binary(body[:65536].decode("utf-8", errors="ignore")):
        _check_text(body, shown, limits)
        sheet = _read_body(body, shown, default_delimiter, False, limits)  # UTF-8 as is: no decoding pass
        if sheet is not None:
            sheet.encoding = encoding
            return sheet
    text, encoding, problems = decode(raw, shown)
    if text is None:
        return Sheet(shown, problems=problems)
    _check_text(text, shown, limits)
    if "\r" in text and re.search(r"\r(?!\n)", text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # old Mac line ends
    sheet = _read_body(text.encode("utf-8"), shown, default_delimiter, True, limits)
    sheet.encoding = encoding
    sheet.problems = problems + sheet.problems
    return sheet


def _check_text(body: bytes | str, shown: str, limits: SheetLimits) -> None:
    """Refuse a NUL anywhere (with its line) and a file of more lines than `max_rows`."""
    nul, newline = (b"\x00", b"\n") if isinstance(body, bytes) else ("\x00", "\n")
    position = body.find(nul)
    if position >= 0:
        line = body.count(newline, 0, position) + 1
        raise Refused(Problem("nul-byte", f"the file holds a NUL byte (\\x00) on line {line}; a text table never "
                              "does (the file is damaged, or not text)", file=shown, line=line,
                              suggestion="delete the character, or save the table again from your spreadsheet"))
    lines = body.count(newline)
    if lines > limits.max_rows:
        raise Refused(too_many_rows(shown, limits.max_rows + 1, limits))


def _lone_cr(body: bytes) -> bool:
    return b"\r" in body and re.search(rb"\r(?!\n)", body) is not None


def _read_body(body: bytes, shown: str, default_delimiter: str, slow: bool,
               limits: SheetLimits = LIMITS) -> Sheet | None:
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
    if first.count(delimiter) >= limits.max_columns:  # before any parser allocates a column each
        raise Refused(too_many_columns(shown, header_line, first.count(delimiter) + 1, limits))
    sheet = _read_fast(rest, delimiter, header_line, limits)
    if sheet is None:
        if not slow:
            return None
        sheet = _read_slow(rest.decode("utf-8"), delimiter, header_line, shown, limits)
    sheet.path, sheet.delimiter = shown, delimiter
    if sheet.frame is not None:
        sheet.problems += long_cells(sheet.frame, sheet.header, shown, limits)
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


def _blank_comments(body: bytes, at_start: bool = False) -> bytes:
    """Empty every line that starts with '#', keeping the line count (and so the line numbers);
    `at_start`: the first line may be one (a chunk's; a file's first line is its header)."""
    if b"#" not in body or (b"\n#" not in body and not (at_start and body.startswith(b"#"))):  # memchr first
        return body
    return _COMMENT_LINE.sub(b"", body)


def _first_line(body: bytes) -> str:
    end = body.find(b"\n")
    return body[:end if end >= 0 else len(body)].decode("utf-8")


def _read_fast(body: bytes, delimiter: str, header_line: int, limits: SheetLimits = LIMITS) -> Sheet | None:
    """polars, when each physical line is one record; None when that cannot be shown."""
    first = _first_line(body)
    if '"' in first or body.count(b'"') % 2:  # an odd number of quotes: one is unclosed, let csv say where
        return None
    header = [cell.strip(SPACES) for cell in first.split(delimiter)]
    check_header("", header, header_line, limits)
    frame = _parse_lines(body, delimiter, len(header), header_line, skip_first=True)
    return None if frame is None else Sheet("", header=header, header_line=header_line, frame=frame)


def _parse_lines(body: bytes, delimiter: str, width: int, offset: int, skip_first: bool = False, trim: bool = True,
                 newlines: int | None = None):
    """Lines that are each one record → frame of `line` (the first line is `offset`) and the trimmed
    cells of the non-blank rows; None when a record spans lines, the result is empty or polars refuses.
    With `trim=False` the cells are left as written (the caller trims what it reads; blank rows,
    cells of white space only, are dropped all the same).

    polars parses; the line numbers are added after, and the blank rows filtered only when there are
    some (most files have none). `newlines`: the line ends of `body`, when the caller has counted them."""
    import polars as pl

    names = [column_name(i) for i in range(width)]
    try:
        frame = pl.read_csv(body, has_header=False, separator=delimiter, quote_char='"', empty_string_is_null=False,
                            schema={name: pl.String for name in names}, infer_schema=False, raise_if_empty=False)
    except Exception:  # polars' parse errors have no common base; the slow reader explains them
        return None
    physical = (body.count(b"\n") if newlines is None else newlines) + (0 if body.endswith(b"\n") else 1)
    if frame.height != physical:
        return None
    frame = frame.with_row_index("line", offset=offset).with_columns(pl.col("line").cast(pl.Int64))
    frame = frame.slice(1) if skip_first else frame
    frame = frame.with_columns((pl.col(n).fill_null("") if frame[n].null_count() else pl.col(n)) for n in names)
    if trim:
        frame = frame.with_columns(pl.col(n).str.strip_chars() for n in names)
        blank = frame.select(pl.all_horizontal(pl.col(n) == "" for n in names).alias("blank"))["blank"]
    else:  # a blank row has a blank first cell (of few distinct values, usually): only those rows are read further
        values = frame[names[0]].unique()
        blanks = values.filter(values.str.strip_chars() == "")
        maybe = frame.filter(pl.col(names[0]).is_in(blanks.implode())) if blanks.len() else frame.clear()
        lines = maybe.filter(pl.all_horizontal(pl.col(n).str.strip_chars() == "" for n in names))["line"]
        blank = frame["line"].is_in(lines.implode()) if lines.len() else pl.Series([False])
    frame = frame.filter(~blank) if blank.any() else frame
    return frame if frame.height else None  # (an empty result is cheap to read again slowly)


def _read_slow(text: str, delimiter: str, header_line: int, shown: str, limits: SheetLimits = LIMITS) -> Sheet:
    """Python's csv module (strict: a quote is closed, and nothing follows a closing quote but the
    delimiter): record by record, quoted line breaks and ragged rows included."""
    csv.field_size_limit(1 << 30)  # the file is bounded (max_bytes); long cells are reported by long_cells
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[Problem] = []
    records: list[tuple[int, list[str]]] = []
    header: list[str] = []
    previous = 0
    try:
        for cells in reader:
            line = header_line + previous
            if reader.line_num - previous > 1 and _swallows_rows(cells, delimiter, len(header)):
                return Sheet("", header=header, header_line=header_line, problems=[_quote_problem(
                    csv.Error("swallowed"), shown, line, header_line + reader.line_num - 1)])
            previous = reader.line_num
            cells = [cell.strip(SPACES) for cell in cells]
            if not header and line == header_line:
                check_header(shown, cells, line, limits)
                header = cells
                continue
            if not any(cells):
                continue
            if len(cells) > len(header):
                if len(cells) > limits.max_columns:
                    raise Refused(too_many_columns(shown, line, len(cells), limits))
                extra = [c for c in cells[len(header):] if c]
                if extra:
                    problems.append(Problem("ragged-row", f"the row has {len(cells)} cells but the header has "
                                            f"{len(header)}", file=shown, line=line, value=extra[0][:80],
                                            suggestion="remove the extra cells or give them a header; a "
                                            "cell holding the delimiter must be quoted"))
                cells = cells[:len(header)]
            records.append((line, cells + [""] * (len(header) - len(cells))))
    except csv.Error as error:
        problem = _quote_problem(error, shown, header_line + previous, header_line + reader.line_num - 1)
        return Sheet("", header=header, header_line=header_line, problems=[problem])
    return Sheet("", header=header, header_line=header_line, frame=make_frame(header, records), problems=problems)


def _swallows_rows(cells: list[str], delimiter: str, width: int) -> bool:
    """A quoted cell whose later lines hold a row's worth of delimiters: a quote left open that
    closes, by chance, lines later (a cell's real line breaks do not look like rows)."""
    if width < 2:
        return False
    return any(part.count(delimiter) >= width - 1 for cell in cells if "\n" in cell for part in cell.split("\n")[1:])


def _quote_problem(error: csv.Error, shown: str, start: int, line: int) -> Problem:
    """What the csv module's complaint means for the person who wrote the file."""
    if str(error) == "swallowed":
        return Problem("unclosed-quote", f"a quote (\") opened in the row of line {start} closes only on line {line}: "
                       "the lines between, which look like rows, would be read as one cell", file=shown, line=start,
                       suggestion='close the quote where the cell ends; a cell holding a quote is written '
                       '"like ""this"""')
    if "end of data" in str(error):  # the file ends inside a quoted cell
        return Problem("unclosed-quote", f"a quote (\") opened in the row of line {start} is never closed, so "
                       f"every line after it (to line {line}) would be read as one cell", file=shown, line=start,
                       suggestion='close the quote, or delete it; a cell holding a quote is written "like ""this"""')
    if "expected after" in str(error):
        opened = f"that opens on line {start} and " if start != line else ""
        return Problem("misplaced-quote", f"the quoted cell {opened}closes on line {line} is followed by text before "
                       "the next delimiter (a quote left open swallows the lines between)", file=shown, line=start,
                       suggestion='quote the whole cell and double the quotes inside it: "5"" long"')
    return Problem("unreadable-file", f"the table cannot be parsed after line {start}: {error}", file=shown, line=start,
                   suggestion="check for an unclosed quote (\") near that line")


# ---------------------------------------------------------------------------------------------
# Many files at once (the build): polars' fixed cost paid once per batch, not once per file


@dataclass
class _Prepared:
    """A delimited UTF-8 file the fast reader can take, up to the parse: its header and its bytes from there."""

    shown: str
    encoding: str
    header: list[str]
    header_line: int
    delimiter: str
    body: bytes


def read_sheets(paths: list[Path], limits: SheetLimits = LIMITS) -> list[Sheet]:
    """`read_sheet(path)` for each path, in order; the delimited UTF-8 files whose every line is one
    record are parsed together, one polars pass per delimiter and width. Any file the batch cannot
    vouch for (and every other kind of file) is read on its own, exactly as `read_sheet` reads it."""
    sheets: list[Sheet | None] = [None] * len(paths)
    batches: dict[tuple[str, int], list[tuple[int, _Prepared]]] = {}
    for number, path in enumerate(paths):
        prepared = _prepare(Path(path), limits)
        if prepared is None:
            sheets[number] = read_sheet(Path(path), limits=limits)
        else:
            batches.setdefault((prepared.delimiter, len(prepared.header)), []).append((number, prepared))
    for members in batches.values():
        frames, longest = _parse_together([p for _, p in members])
        for (number, prepared), frame in zip(members, frames):
            if frame is None:
                sheets[number] = read_sheet(Path(paths[number]), limits=limits)
                continue
            problems = long_cells(frame, prepared.header, prepared.shown, limits) \
                if longest > limits.max_cell_chars else []
            sheets[number] = Sheet(prepared.shown, header=prepared.header, header_line=prepared.header_line,
                                   frame=frame, encoding=prepared.encoding, delimiter=prepared.delimiter,
                                   problems=problems)
    return sheets


def _prepare(path: Path, limits: SheetLimits) -> _Prepared | None:
    """What read_sheet → _read_fast would have checked before parsing; None when it would not take the fast path."""
    shown, suffix = str(path), path.suffix.lower()
    if suffix not in DELIMITED or input_refusal(path, shown) is not None:
        return None
    try:
        raw = read_input(path, limits.max_bytes, shown)
        encoding, body = _encoding_of(raw)
        if not raw.strip() or not encoding.startswith("utf-8") or _refuse_by_magic(raw, shown) or _lone_cr(body) \
                or _binary(body[:65536].decode("utf-8", errors="ignore")):
            return None
        _check_text(body, shown, limits)
        header_line, start = _find_header(body)
        if header_line is None:
            return None
        rest = _blank_comments(body[start:])
        first = _first_line(rest)
        delimiter = sniff_delimiter(first, DELIMITED[suffix])
        if first.count(delimiter) >= limits.max_columns or '"' in first or rest.count(b'"') % 2:
            return None
        header = [cell.strip(SPACES) for cell in first.split(delimiter)]
        check_header("", header, header_line, limits)
    except (ProblemsFound, Refused, UnicodeDecodeError):
        return None
    return _Prepared(shown, encoding, header, header_line, delimiter, rest if rest.endswith(b"\n") else rest + b"\n")


def _parse_together(members: list[_Prepared]) -> tuple[list, int]:
    """Each member's frame as _read_fast makes it (None for a file left with no rows), from one parse of
    their bytes end to end (`_parse_lines`), and the most bytes a cell holds; all None when a record may
    span lines (polars then counts fewer records than lines)."""
    import polars as pl

    names = [column_name(i) for i in range(len(members[0].header))]
    starts = [0]
    for m in members[:-1]:
        starts.append(starts[-1] + m.body.count(b"\n"))
    frame = _parse_lines(b"".join(m.body for m in members), members[0].delimiter, len(names), 0)
    if frame is None:  # as _read_fast: the files are then read one by one
        return [None] * len(members), 0
    start = pl.Series(starts, dtype=pl.Int64)
    member = (start.search_sorted(frame["line"], side="right") - 1).cast(pl.Int64)
    offset = frame["line"] - start.gather(member)
    line = offset + pl.Series([m.header_line for m in members], dtype=pl.Int64).gather(member)
    frame = frame.with_columns(_member=member, line=line, _offset=offset).filter(pl.col("_offset") > 0)
    longest = frame.select(pl.max_horizontal(pl.col(n).str.len_bytes().max() for n in names)).item() or 0
    parts = frame.select("_member", "line", *names).partition_by("_member", as_dict=True, include_key=False)
    return [parts.get((n,)) for n in range(len(members))], longest
