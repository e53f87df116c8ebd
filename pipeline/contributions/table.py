"""What a read file becomes (a `Sheet`), and the limits every reader keeps (`SheetLimits`).

Shared by `pipeline.contributions.sheets` (text files) and `pipeline.contributions.workbook`
(.xlsx, .ods). Each limit has its own problem code, and the message says the limit and what to
do; a file past a limit is refused (exit 2) before it can cost much, except a cell that is too
long, which is an error at its line and column.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

from pipeline.core.problems import Problem

MiB = 1 << 20


@dataclass(frozen=True)
class SheetLimits:
    """Every bound on a file people send, in one place (the defaults are what `ketamap` uses)."""

    max_bytes: int = 256 * MiB              # the file as stored (a million-row CSV is ~50 MB)
    max_rows: int = 2_000_000               # lines of a text file, rows of a sheet
    max_columns: int = 1_000                # a contribution has a dozen
    max_cell_chars: int = 32_767            # what one Excel or LibreOffice cell holds
    max_header_chars: int = 1_000           # a column name
    max_inflated_bytes: int = 512 * MiB     # a workbook's parts, unzipped (declared and actually inflated)
    max_shared_strings_bytes: int = 128 * MiB  # an .xlsx's table of shared strings, unzipped
    max_members: int = 10_000               # files inside a workbook's zip

    def for_rows(self, rows: int) -> "SheetLimits":
        """These limits for files of up to `rows` rows, the byte limit raised in proportion (`ketamap
        validate --max-rows`: a big text file is checked chunk by chunk, in bounded memory)."""
        return replace(self, max_rows=rows, max_bytes=max(self.max_bytes, rows * (self.max_bytes // self.max_rows)))


LIMITS = SheetLimits()

# Trimmed from both ends of every cell: Unicode White_Space, which is what polars' strip_chars()
# removes (Python's str.strip() would also take \x1c-\x1f); the slow reader uses the same set.
SPACES = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
          "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
SPLIT = "split the file into smaller ones"


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

    def frames(self, lines=None, trim: bool = True):
        """(frame, problems) per chunk of rows, in line order: here one chunk, the whole frame (its
        problems are in `problems`); with `lines`, only those rows. A streamed sheet has many, and
        with `trim=False` leaves their cells untrimmed (blank rows are dropped all the same)."""
        import polars as pl

        if self.frame is not None:
            yield (self.frame if lines is None else self.frame.filter(pl.col("line").is_in(list(lines)))), []

    def parts(self, lines=None, trim: bool = True):
        """`frames()` as work to do: per chunk, a function that gives its (frame, problems). Reading
        the file happens as the parts are taken, in order; parsing when a part is called, so parts
        may be parsed side by side (`pipeline.core.ordered.ordered_map`)."""
        for chunk in self.frames(lines, trim):
            yield lambda chunk=chunk: chunk

    def close(self) -> None:
        """Nothing to release (a streamed sheet closes its file)."""


class Refused(Exception):
    """A reader met a reason to refuse the whole file; carries the one problem that says why."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def refused(shown: str, problem: Problem | None = None, **kwargs) -> Sheet:
    return Sheet(shown, problems=[problem or Problem(file=shown, **kwargs)])


def column_name(position: int) -> str:
    return f"c{position}"


def column_letter(position: int) -> str:
    """0 → 'A', 27 → 'AB': how a spreadsheet names a column."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def too_many_rows(shown: str, line: int, limits: SheetLimits) -> Problem:
    return Problem("too-many-rows", f"the file goes past line {limits.max_rows:,}; at most {limits.max_rows:,} "
                   "lines (rows) are read", file=shown, line=line, suggestion=SPLIT)


def too_many_columns(shown: str, line: int | None, count: int, limits: SheetLimits) -> Problem:
    return Problem("too-many-columns", f"a row has {count:,} columns or more; at most {limits.max_columns:,} are read "
                   "(a contribution has a dozen)", file=shown, line=line,
                   suggestion="delete the columns that are not in `ketamap template`")


def header_too_long(shown: str, line: int | None, position: int, length: int, limits: SheetLimits) -> Problem:
    return Problem("header-too-long", f"the column name has {length:,} characters; a column "
                   f"name has at most {limits.max_header_chars:,}", file=shown, line=line,
                   column=f"column {position + 1}", suggestion="use the column names of `ketamap template`")


def cell_too_long(shown: str, line: int, column: str, length: int, limits: SheetLimits) -> Problem:
    return Problem("cell-too-long", f"the cell has {length:,} characters; a cell holds at most "
                   f"{limits.max_cell_chars:,}", file=shown, line=line, column=column,
                   suggestion="shorten it: a finding's cells are short, put long text in the study")


def check_header(shown: str, header: list[str], line: int | None, limits: SheetLimits) -> None:
    """Raise Refused for a header with too many columns or a column name that is too long."""
    if len(header) > limits.max_columns:
        raise Refused(too_many_columns(shown, line, len(header), limits))
    for position, name in enumerate(header):
        if len(name) > limits.max_header_chars:
            raise Refused(header_too_long(shown, line, position, len(name), limits))


def long_cells(frame, header: list[str], shown: str, limits: SheetLimits) -> list[Problem]:
    """cell-too-long for every cell over the limit (one vectorised pass per column, then the few hits)."""
    import polars as pl

    names = [column_name(i) for i in range(len(header))]
    if not names or frame.height == 0:
        return []
    # a cell has at most as many characters as bytes: its byte length (read from the offsets, no
    # decoding) rules most columns out; characters are counted only in the columns left
    widest = frame.select(pl.col(n).str.len_bytes().max() for n in names).row(0)
    problems = []
    for position, (name, most) in enumerate(zip(names, widest)):
        if most is not None and most > limits.max_cell_chars:
            length = pl.col(name).str.strip_chars().str.len_chars()  # (a frame read untrimmed: `Sheet.frames`)
            hits = frame.filter(length > limits.max_cell_chars)
            for line, length in hits.select("line", length).iter_rows():
                problems.append(cell_too_long(shown, line, header[position] or f"column {position + 1}", length,
                                              limits))
    return sorted(problems, key=lambda p: p.line or 0)


def make_frame(header: list[str], records: list[tuple[int, list[str]]]):
    import polars as pl

    names = [column_name(i) for i in range(len(header))]
    columns = {"line": pl.Series("line", [line for line, _ in records], dtype=pl.Int64)}
    for i, name in enumerate(names):
        columns[name] = pl.Series(name, [cells[i] for _, cells in records], dtype=pl.String)
    return pl.DataFrame(columns)


def cell_text(value: object) -> str:
    """A cell as the contributor sees it: 12345678.0 → '12345678', a date → '2024-01-02'."""
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
