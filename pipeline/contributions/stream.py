"""A big delimited file read chunk by chunk: the same rows as `read_sheet`, never the whole file in memory.

`stream_sheet` is `read_sheet` for the contributor's check: a UTF-8 CSV/TSV larger than one chunk
(`CHUNK_BYTES`) becomes a `StreamedSheet` whose `frames()` reads it again block by block, each
block cut at a line end and parsed by polars with its lines numbered from where it starts in the
file. Only the regular case streams: every chunk must pass what the whole-file reader checks
(no NUL, no lone CR, an even number of quotes, one record per physical line, within `max_rows`).
When a chunk does not, `frames()` raises `Irregular` and the caller reads the file whole with
`read_sheet`, which then says exactly what `read_sheet` always says (the refusal, the line of the
unclosed quote, the ragged rows).
"""

from __future__ import annotations

import bisect
import os
from pathlib import Path

from pipeline.contributions.sheets import (
    DELIMITED,
    _binary,
    _blank_comments,
    _encoding_of,
    _find_header,
    _first_line,
    _lone_cr,
    _parse_lines,
    _refuse_by_magic,
    read_sheet,
    sniff_delimiter,
)
from pipeline.contributions.table import LIMITS, MiB, SPACES, Refused, Sheet, SheetLimits, check_header, long_cells
from pipeline.core.files import input_refusal, open_input
from pipeline.core.problems import ProblemsFound

CHUNK_BYTES = 16 * MiB  # about 300,000 rows of a contribution: polars' fixed cost per chunk is then noise


TAIL_BYTES = 64 * 1024  # where a chunk's last line end is looked for first


def occurrences(data: bytes, byte: bytes = b"\n") -> int:
    """How many times `byte` occurs in `data` (numpy compares with the GIL released; bytes.count holds it)."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == ord(byte)))


class Irregular(Exception):
    """A chunk the streamed reader cannot vouch for: read the whole file with `read_sheet` instead."""


class StreamedSheet(Sheet):
    """A Sheet whose rows are not held: `frames()` yields them chunk by chunk (`frame` stays None)."""

    def __init__(self, shown: str, fd: int, size: int, limits: SheetLimits, chunk_bytes: int):
        super().__init__(shown)
        self._fd, self._size, self._limits, self._chunk_bytes = fd, size, limits, chunk_bytes
        self._spans: list[tuple[int, int, int, int]] = []  # offset, length, first line, last line
        self._bom = 0

    @property
    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def rows(self) -> list[tuple[int, list[str]]]:
        return [(row[0], list(row[1:])) for frame, _ in self.frames() for row in frame.iter_rows()]

    def start(self) -> bool:
        """Read the header from the first chunk; False when the file is not the regular case."""
        first = self._block(0)
        encoding, body = _encoding_of(first)
        if encoding not in ("utf-8", "utf-8-sig") or _refuse_by_magic(first, self.path) or _lone_cr(body) \
                or b"\x00" in body or _binary(body[:65536].decode("utf-8", errors="ignore")):
            return False
        self._bom = len(first) - len(body)
        header_line, start = _find_header(body)
        if header_line is None:
            return False
        try:
            line = _first_line(body[start:])
        except UnicodeDecodeError:
            return False
        delimiter = sniff_delimiter(line, DELIMITED.get(Path(self.path).suffix.lower(), ","))
        if '"' in line or line.count(delimiter) >= self._limits.max_columns:
            return False
        header = [cell.strip(SPACES) for cell in line.split(delimiter)]
        try:
            check_header("", header, header_line, self._limits)
        except Refused:
            return False
        self.header, self.header_line, self.delimiter, self.encoding = header, header_line, delimiter, encoding
        self._start = start
        return True

    def frames(self, lines=None, trim: bool = True):
        """(frame, problems of its cells) per chunk, in line order (frames as `Sheet.frame`; with
        `trim=False` their cells as written). With `lines` (line numbers, after a first pass), only the
        chunks holding one, each filtered to them."""
        for part in self.parts(lines, trim):
            yield part()

    def parts(self, lines=None, trim: bool = True):
        """`frames()` as work: the chunks are read (and their lines counted) as the parts are taken,
        in order, and each part parses its chunk when called, so two can be parsed side by side."""
        import polars as pl

        if lines is not None:
            wanted = sorted(lines)
            for offset, length, first, last in self._spans:
                position = bisect.bisect_left(wanted, first)
                if position < len(wanted) and wanted[position] <= last:
                    mine = wanted[position:bisect.bisect_right(wanted, last)]
                    data = os.pread(self._fd, length, offset)

                    def part(data=data, offset=offset, first=first, mine=mine):
                        frame, problems = self._chunk(data, offset, first, trim)
                        return frame.filter(pl.col("line").is_in(mine)), problems
                    yield part
            return
        self._spans, offset, line, newlines = [], 0, 1, 0
        while offset < self._size:
            data = self._block(offset)
            if not data:
                break
            count = occurrences(data)
            newlines += count
            if newlines > self._limits.max_rows:
                raise Irregular("too many rows")  # the whole-file reader words the refusal
            last = line + count - (1 if data.endswith(b"\n") else 0)
            self._spans.append((offset, len(data), line, last))
            yield lambda data=data, offset=offset, line=line, count=count: self._chunk(data, offset, line, trim, count)
            offset, line = offset + len(data), line + count

    def _block(self, offset: int) -> bytes:
        """The bytes from `offset` to the last line end within a chunk (to the end of the file at its end).

        The last line end is looked for in the chunk's tail first, and the chunk then read at its
        length: a read lets other threads run, a cut copy of 16 MB would not."""
        if offset + self._chunk_bytes >= self._size:
            return os.pread(self._fd, self._chunk_bytes, offset)
        tail = min(TAIL_BYTES, self._chunk_bytes)
        cut = os.pread(self._fd, tail, offset + self._chunk_bytes - tail).rfind(b"\n")
        if cut >= 0:
            return os.pread(self._fd, self._chunk_bytes - tail + cut + 1, offset)
        data = os.pread(self._fd, self._chunk_bytes, offset)  # a line longer than the tail
        cut = data.rfind(b"\n")
        if cut < 0:
            raise Irregular("a line longer than a chunk")
        return data[:cut + 1]

    def _chunk(self, data: bytes, offset: int, line: int, trim: bool = True, newlines: int | None = None):
        """A chunk's (frame, problems); `newlines`, when known, is how many line ends `data` has."""
        if b"\x00" in data or _lone_cr(data):
            raise Irregular("a NUL or a lone CR")
        if offset == 0:  # from the header line on (blank and comment lines before it are no rows)
            body, skip_first, line, newlines = _blank_comments(data[self._bom + self._start:]), True, \
                self.header_line, None
        else:  # (emptying comment lines keeps every line end)
            body, skip_first = _blank_comments(data, at_start=True), False
        odd = b'"' in body and occurrences(body, b'"') % 2  # memchr first: most chunks hold no quote
        frame = None if odd else _parse_lines(body, self.delimiter, len(self.header), line, skip_first=skip_first,
                                              trim=trim, newlines=newlines)
        if frame is None:
            raise Irregular("a quote or record across lines, or polars refused the chunk")
        return frame, long_cells(frame, self.header, self.path, self._limits)


def stream_sheet(path: Path, display: str | None = None, limits: SheetLimits = LIMITS,
                 chunk_bytes: int = CHUNK_BYTES) -> Sheet:
    """`read_sheet`, except that a regular UTF-8 delimited file larger than `chunk_bytes` comes as a
    `StreamedSheet` (close it when done). Whatever cannot stream is read by `read_sheet`."""
    path = Path(path)
    shown = display or str(path)
    if path.suffix.lower() not in DELIMITED or input_refusal(path, shown) is not None:
        return read_sheet(path, shown, limits)
    try:
        fd = open_input(path, limits.max_bytes, shown)
    except ProblemsFound:
        return read_sheet(path, shown, limits)  # it says why
    size = os.fstat(fd).st_size
    sheet = StreamedSheet(shown, fd, size, limits, chunk_bytes)
    if size <= chunk_bytes or not sheet.start():
        sheet.close()
        return read_sheet(path, shown, limits)
    return sheet
