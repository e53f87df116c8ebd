"""The hostile corpus for reading files: each case a file an attacker or a clumsy user sends.

`python tests/hostile/build.py OUT [--slow] [--only=A,B]` writes the cases into OUT (nothing is committed: the
cases are rebuilt in a temporary folder by tests/test_hostile_files.py, and the big ones by
benchmarks/hostile_slow.py). Each `Case` says its class, the file name, how to build it, and
what `ketamap validate` must answer: the exit code, the problem code in the message, and, for
files that are read, how many rows.

Classes: quotes (an unclosed quote swallows later lines), dimension (an .xlsx `<dimension>` or
.ods repeat that lies about the size), nul (a NUL byte anywhere), formula (formula cells in
workbooks), size (huge headers, cells, columns, rows), inflation (zip bombs), shared-strings
(the .xlsx shared-string table as a bomb), special (FIFOs, devices, folders, symlinks).
Workbooks are written by openpyxl, or are real openpyxl/LibreOffice files edited at the XML
level (what a hand-crafted attack does); bombs are deflate streams built from repeated
fully-flushed blocks, so a 1 GiB member costs a second to write.
"""

from __future__ import annotations

import io
import os
import re
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "contrib"
HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes"
COLUMNS = HEADER.split(",")


def row(n: int, notes: str = "") -> str:
    return f"BDNF,,increase,animal,HPC,rat,PMID:{n},,{notes}"


def good_rows(count: int, start: int = 1) -> list[str]:
    return [row(n) for n in range(start, start + count)]


@dataclass(frozen=True)
class Case:
    name: str                      # the file name written into the corpus folder
    klass: str
    build: Callable[[Path], None]  # writes the file (or FIFO, link, folder) at the given path
    exit: int                      # what `ketamap validate --no-package` must exit with
    code: str | None               # a problem code the output must name (None: none expected)
    rows: int | None = None        # for a file that is read: the rows it must report
    slow: bool = False             # too big for the test suite: benchmarks/hostile_slow.py


def text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content.encode(encoding))


def raw(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


# --- zips written by hand: members given as bytes, or as deflate streams built in blocks -----


@dataclass(frozen=True)
class Deflated:
    """A member's deflate stream, its CRC and its size, built without holding the inflated bytes."""

    data: bytes
    crc: int
    size: int

    @classmethod
    def repeated(cls, prefix: bytes, block: bytes, count: int, suffix: bytes) -> "Deflated":
        """prefix + block × count + suffix; after a full flush the compressor starts afresh, so the
        block's compressed form is computed once and repeated."""
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
        first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        assert first == again
        tail = compressor.compress(suffix) + compressor.flush()
        crc = zlib.crc32(prefix)
        for _ in range(count):
            crc = zlib.crc32(block, crc)
        crc = zlib.crc32(suffix, crc)
        return cls(head + first * count + tail, crc, len(prefix) + len(block) * count + len(suffix))

    @classmethod
    def of(cls, data: bytes) -> "Deflated":
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return cls(compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data))


def write_zip(path: Path, members: dict[str, bytes | Deflated], declared: dict[str, int] | None = None) -> None:
    """A zip of deflated members; `declared` overrides the uncompressed size a member claims (a lie)."""
    out, central = io.BytesIO(), []
    for name, member in members.items():
        member = member if isinstance(member, Deflated) else Deflated.of(member)
        size = (declared or {}).get(name, member.size)
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, member.crc, len(member.data), size,
                              len(encoded), 0) + encoded + member.data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, member.crc,
                                   len(member.data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    path.write_bytes(out.getvalue())


def xlsx_parts(rows: list[list[str]] | None = None) -> dict[str, bytes]:
    """The parts of a real openpyxl workbook holding `rows` on a sheet 'findings'."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "findings"
    for cells in rows if rows is not None else [COLUMNS, *(r.split(",") for r in good_rows(3))]:
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def libreoffice_parts() -> dict[str, bytes]:
    """The parts of a workbook LibreOffice wrote (it keeps text in xl/sharedStrings.xml, as Excel does)."""
    with zipfile.ZipFile(FIXTURES / "libreoffice.xlsx") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def xlsx_edited(edit: Callable[[dict[str, bytes]], None], rows=None) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        parts = xlsx_parts(rows)
        edit(parts)
        write_zip(path, parts)
    return build


def ods_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(FIXTURES / "libreoffice.ods") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def ods_edited(edit: Callable[[str], str]) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        parts = ods_parts()
        parts["content.xml"] = edit(parts["content.xml"].decode()).encode()
        write_zip(path, parts)
    return build


SHEET = "xl/worksheets/sheet1.xml"


def set_dimension(ref: str) -> Callable[[dict[str, bytes]], None]:
    def edit(parts):
        parts[SHEET] = re.sub(rb"<dimension ref=\"[^\"]*\"\s*/>", f'<dimension ref="{ref}"/>'.encode(), parts[SHEET])
    return edit


def strip_refs(parts):
    """Rows and cells without `r` (allowed: they count on from the previous one)."""
    parts[SHEET] = re.sub(rb' r="[A-Z]*\d+"', b"", parts[SHEET])


def replace_in_sheet(old: bytes, new: bytes) -> Callable[[dict[str, bytes]], None]:
    """Edit the sheet's XML (openpyxl writes every text cell as an inline string)."""
    def edit(parts):
        assert old in parts[SHEET], old
        parts[SHEET] = parts[SHEET].replace(old, new, 1)
    return edit


def sheet_rows(rows: int, width: int = 9) -> Callable[[dict[str, bytes]], None]:
    """Replace the sheet's data by `rows` valid rows of inline strings (no shared strings needed)."""
    def edit(parts):
        body = [b'<row r="1">' + b"".join(_inline(f"{chr(65 + i)}1", c) for i, c in enumerate(COLUMNS[:width]))
                + b"</row>"]
        for n in range(2, rows + 2):
            cells = row(n).split(",")[:width]
            body.append(f'<row r="{n}">'.encode() + b"".join(_inline(f"{chr(65 + i)}{n}", c)
                                                              for i, c in enumerate(cells) if c) + b"</row>")
        parts[SHEET] = re.sub(rb"<sheetData>.*</sheetData>|<sheetData\s*/>", lambda _: b"<sheetData>"
                              + b"".join(body) + b"</sheetData>", parts[SHEET], flags=re.S)
    return edit


def _inline(ref: str, value: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'.encode()


def shared_string_bomb(size: int) -> Callable[[Path], None]:
    """A workbook whose shared-string table holds one string of `size` characters (declared honestly)."""
    def build(path: Path) -> None:
        parts: dict = dict(libreoffice_parts())
        strings = parts["xl/sharedStrings.xml"]
        cut = strings.index(b"<si>")  # the bomb becomes string 0, which the header's first cell shows
        parts["xl/sharedStrings.xml"] = Deflated.repeated(strings[:cut] + b"<si><t>", b"a" * (1 << 20), size >> 20,
                                                          b"</t></si>" + strings[cut:])
        write_zip(path, parts)
    return build


def inflation_bomb(size: int, part: str = "xl/media/padding.bin", base=xlsx_parts) -> Callable[[Path], None]:
    """A valid workbook plus one member of `size` zero bytes (a 1 GiB member stores as ~1 MB)."""
    def build(path: Path) -> None:
        parts: dict = dict(base())
        parts[part] = Deflated.repeated(b"", b"\0" * (1 << 20), size >> 20, b"")
        write_zip(path, parts)
    return build


def lying_sheet(path: Path) -> None:
    """A sheet that says it unzips to 1,000 bytes and inflates to 64 MiB."""
    parts: dict = dict(xlsx_parts())
    sheet = parts[SHEET]
    cut = sheet.index(b"</sheetData>")
    parts[SHEET] = Deflated.repeated(sheet[:cut], b"<row/>" * (1 << 16), 170, sheet[cut:])
    write_zip(path, parts, declared={SHEET: 1000})


def many_members(path: Path) -> None:
    parts: dict = dict(xlsx_parts())
    for n in range(12_000):
        parts[f"xl/media/m{n}.bin"] = b""
    write_zip(path, parts)


def entity_bomb(path: Path) -> None:
    """The billion laughs inside sharedStrings.xml."""
    parts = xlsx_parts()
    lol = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10 if i else "lol"}">' for i in range(10))
    parts["xl/sharedStrings.xml"] = (f'<?xml version="1.0"?><!DOCTYPE sst [{lol}]>'
                                     '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                     '<si><t>&l9;</t></si></sst>').encode()
    write_zip(path, parts)


# --- special files ------------------------------------------------------------------------------


def fifo(path: Path) -> None:
    os.mkfifo(path)


def link_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def folder(path: Path) -> None:
    path.mkdir()


def link_to_fifo(path: Path) -> None:
    os.mkfifo(path.with_name(path.name + ".real"))
    path.symlink_to(path.name + ".real")


H = HEADER + "\n"
WIDE = 200_000


def cases() -> list[Case]:
    long_cell = "x" * 40_000
    return [
        # quotes: the file (4 rows, 2 bad) and its kin, in each text encoding
        Case("quote-issue.csv", "quotes", text(H + "\n".join([row(1), row(2, '"Müller'), row(3), row(4, 'x"')]) + "\n"),
             2, "unclosed-quote"),
        Case("quote-misplaced.csv", "quotes", text(H + row(1, '"a"b') + "\n"), 2, "misplaced-quote"),
        Case("quote-eof.csv", "quotes", text(H + "\n".join([row(1), row(2), row(3, '"unclosed'), row(4)]) + "\n"),
             2, "unclosed-quote"),
        Case("quote-last-line.csv", "quotes", text(H + row(1) + "\n" + row(2, '"open')), 2, "unclosed-quote"),
        Case("quote-header.csv", "quotes", text('"molecule,measure\n' + "\n".join(good_rows(3)) + "\n"),
             2, "unclosed-quote"),
        Case("quote-semicolon.csv", "quotes", text((H + "\n".join(good_rows(2)) + '\n"x;\n').replace(",", ";"),
                                                   "cp1252"), 2, "unclosed-quote"),
        Case("quote-utf16.txt", "quotes", raw(b"\xff\xfe" + (H + row(1) + "\n" + row(2, '"x') + "\n" + row(3) + "\n")
                                               .replace(",", "\t").encode("utf-16-le")), 2, "unclosed-quote"),
        Case("quote-closed-ok.csv", "quotes", text(H + row(1, '"two\nlines"') + "\n" + row(2) + "\n"), 0, None, 2),
        # dimension: the sheet says it is smaller (or larger) than it is
        Case("dimension-understated.xlsx", "dimension",
             xlsx_edited(set_dimension("A1:I2"), [COLUMNS, *(r.split(",") for r in good_rows(40))]), 0, None, 40),
        Case("dimension-one-cell.xlsx", "dimension",
             xlsx_edited(set_dimension("A1"), [COLUMNS, *(r.split(",") for r in good_rows(5))]), 0, None, 5),
        Case("dimension-overstated.xlsx", "dimension", xlsx_edited(set_dimension("A1:XFD1048576")), 0, None, 3),
        Case("dimension-no-refs.xlsx", "dimension", xlsx_edited(strip_refs), 0, None, 3),
        Case("dimension-ods-repeated-blank.ods", "dimension", ods_edited(lambda x: x.replace(
            "</table:table>", '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
            'table:number-columns-repeated="16384"/></table:table-row></table:table>', 1)), 0, None, 3),
        Case("dimension-ods-repeated-rows.ods", "dimension", ods_edited(lambda x: re.sub(
            r"(<table:table-row[^>]*)>((?:(?!<table:table-row).)*?PMID:35546951)",
            r'\1 table:number-rows-repeated="3000000">\2', x, count=1, flags=re.S)), 2, "too-many-rows"),
        # nul: anywhere, not only in the first 64 KiB
        Case("nul-late.csv", "nul", raw((H + "\n".join(good_rows(3000)) + "\n").encode() + b"BDNF\x00,,\n"),
             2, "nul-byte"),
        Case("nul-last-byte.csv", "nul", raw((H + "\n".join(good_rows(3))).encode() + b"\x00"), 2, "nul-byte"),
        Case("nul-header.csv", "nul", raw(b"molecule\x00," + (H[9:] + row(1) + "\n").encode()), 2, "nul-byte"),
        Case("nul-utf16.txt", "nul", raw(b"\xff\xfe" + (H + row(1) + "\n" + "BDNF\x00\n").replace(",", "\t")
                                         .encode("utf-16-le")), 2, "nul-byte"),
        Case("nul-cp1252.csv", "nul", raw((H + row(1, "Müller") + "\n").encode("cp1252") + b"a\x00b\n"), 2, "nul-byte"),
        # formula: a cell whose stored type is a formula
        Case("formula-openpyxl.xlsx", "formula", lambda p: p.write_bytes((FIXTURES / "formula.xlsx").read_bytes()),
             1, "formula-cell"),
        Case("formula-libreoffice.ods", "formula", lambda p: p.write_bytes((FIXTURES / "formula.ods").read_bytes()),
             1, "formula-cell"),
        Case("formula-cached-value.xlsx", "formula", xlsx_edited(replace_in_sheet(
            b'<c r="F2" t="inlineStr"><is><t>rat</t></is></c>',
            b'<c r="F2" t="str"><f>HYPERLINK("https://example.org","rat")</f><v>rat</v></c>')),
             1, "formula-cell"),
        Case("formula-shared.xlsx", "formula", xlsx_edited(lambda parts: _formula_everywhere(parts)), 1, "formula-cell"),
        # size: huge header, cells, columns, rows
        Case("header-131073.csv", "size", text("molecule," + "h" * 131_073 + "\n" + row(1) + "\n"), 2, "header-too-long"),
        Case("header-131073.xlsx", "size", xlsx_edited(lambda _: None, [["molecule", "h" * 131_073], ["BDNF", "x"]]),
             2, "header-too-long"),
        Case("header-5000.xlsx", "size", xlsx_edited(lambda _: None, [["molecule", "h" * 5000], ["BDNF", "x"]]),
             2, "header-too-long"),
        Case("header-5000.ods", "size", ods_edited(lambda x: x.replace(">molecule<", ">" + "h" * 5000 + "<", 1)),
             2, "header-too-long"),
        Case("header-quoted-huge.csv", "size", text('"' + "h" * 200_000 + '",molecule\n' + row(1) + "\n"),
             2, "header-too-long"),
        Case("cell-40000.csv", "size", text(H + row(1, long_cell) + "\n" + row(2) + "\n"), 1, "cell-too-long"),
        Case("cell-40000-quoted.csv", "size", text(H + row(1, '"' + long_cell + '"') + "\n"), 1, "cell-too-long"),
        Case("cell-40000-inline.xlsx", "size", xlsx_edited(replace_in_sheet(
            b"<t>PMID:2</t></is></c>", b"<t>PMID:2</t></is></c>" + _inline("I2", long_cell))),
             1, "cell-too-long"),
        Case("cell-40000.ods", "size", ods_edited(lambda x: x.replace("Female only", long_cell, 1)),
             1, "cell-too-long"),
        Case("columns-200000.csv", "size", text(",".join(f"c{i}" for i in range(WIDE)) + "\n" + "x," * WIDE + "\n"),
             2, "too-many-columns"),
        Case("columns-200000-rows.csv", "size", text(H + row(1) + "," * WIDE + "x\n"), 2, "too-many-columns"),
        Case("columns-xlsx-far-cell.xlsx", "size", xlsx_edited(replace_in_sheet(b"</row>", b'<c r="XFD1" '
             b't="inlineStr"><is><t>far</t></is></c></row>')), 2, "too-many-columns"),
        Case("columns-ods-repeated.ods", "size", ods_edited(lambda x: x.replace(
            "<table:table-cell", '<table:table-cell table:number-columns-repeated="20000"', 1)), 2, "too-many-columns"),
        Case("rows-xlsx-far-row.xlsx", "size", xlsx_edited(replace_in_sheet(b"</sheetData>", b'<row r="99999999">'
             b'<c r="A99999999" t="inlineStr"><is><t>BDNF</t></is></c></row></sheetData>')), 2, "too-many-rows"),
        Case("rows-csv-3m.csv", "size", text(H + "\n" * 3_000_000), 2, "too-many-rows"),
        # inflation: zips that unzip to far more than they store
        Case("inflate-1gib.xlsx", "inflation", inflation_bomb(1 << 30), 2, "workbook-too-large"),
        Case("inflate-1gib.ods", "inflation", inflation_bomb(1 << 30, "Pictures/padding.bin", ods_parts),
             2, "workbook-too-large"),
        Case("inflate-lying-size.xlsx", "inflation", lying_sheet, 2, "unreadable-file"),
        Case("inflate-members.xlsx", "inflation", many_members, 2, "workbook-too-large"),
        Case("inflate-entities.xlsx", "inflation", entity_bomb, 2, "unreadable-file"),
        # shared-strings: one huge string
        Case("shared-400mb.xlsx", "shared-strings", shared_string_bomb(400 << 20), 2, "shared-strings-too-large"),
        Case("shared-1m-chars.xlsx", "shared-strings", shared_string_bomb(1 << 20), 2, "shared-strings-too-large"),
        # special: never opened, refused at once
        Case("fifo.csv", "special", fifo, 2, "not-a-file"),
        Case("fifo.xlsx", "special", fifo, 2, "not-a-file"),
        Case("zero.csv", "special", link_to("/dev/zero"), 2, "not-a-file"),
        Case("urandom.ods", "special", link_to("/dev/urandom"), 2, "not-a-file"),
        Case("null.tsv", "special", link_to("/dev/null"), 2, "not-a-file"),
        Case("folder.csv", "special", folder, 2, "not-a-file"),
        Case("link-to-fifo.csv", "special", link_to_fifo, 2, "not-a-file"),
        Case("dangling.csv", "special", link_to("/nonexistent/x.csv"), 2, "not-found"),
        # slow: the sizes (benchmarks/hostile_slow.py)
        Case("slow-dimension-1m.xlsx", "dimension", xlsx_edited(lambda parts: (sheet_rows(1_000_000)(parts),
                                                                               set_dimension("A1:I2")(parts))),
             0, None, 1_000_000, slow=True),
        Case("slow-columns-200000.csv", "size", text(",".join(f"c{i}" for i in range(WIDE)) + "\n"
                                                     + ",".join(["x"] * WIDE) + "\n"), 2, "too-many-columns", slow=True),
        Case("slow-nul-at-80mb.csv", "nul", lambda p: _big_csv(p, 80 << 20, row(9, "a\x00b")), 2, "nul-byte",
             slow=True),
        Case("slow-quote-at-80mb.csv", "quotes", lambda p: _big_csv(p, 80 << 20, row(9, '"open')), 2,
             "unclosed-quote", slow=True),
        Case("slow-valid-80mb.csv", "size", lambda p: _big_csv(p, 80 << 20, row(99_999_999)), 0, None, slow=True),
        Case("slow-file-300mb.csv", "size", lambda p: _big_csv(p, 300 << 20, row(9)), 2, "file-too-large", slow=True),
    ]


def _formula_everywhere(parts: dict[str, bytes]) -> None:
    """Every species cell a shared formula (the master and its dependants, as Excel writes a fill-down)."""
    sheet = parts[SHEET]
    sheet = sheet.replace(b'<c r="F2" t="inlineStr"><is><t>rat</t></is></c>',
                          b'<c r="F2" t="str"><f t="shared" ref="F2:F4" si="0">LOWER("RAT")</f><v>rat</v></c>', 1)
    for n in (3, 4):
        sheet = sheet.replace(f'<c r="F{n}" t="inlineStr"><is><t>rat</t></is></c>'.encode(),
                              f'<c r="F{n}" t="str"><f t="shared" si="0"/><v>rat</v></c>'.encode(), 1)
    parts[SHEET] = sheet


def _big_csv(path: Path, size: int, last: str) -> None:
    """`size` bytes of valid rows (each a distinct finding), then the row `last`."""
    with open(path, "wb") as fh:
        fh.write(H.encode())
        written, start = 0, 1
        while written < size:
            block = ("\n".join(good_rows(10_000, start)) + "\n").encode()
            fh.write(block)
            written, start = written + len(block), start + 10_000
        fh.write(last.encode() + b"\n")


def build(folder: Path, slow: bool = False, only: set[str] | None = None) -> list[Case]:
    """Write the fast cases (with `slow`, the slow ones; with `only`, those named) into `folder`;
    a case already there is kept."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = [case for case in cases() if (case.name in only if only else case.slow == slow)]
    for case in chosen:
        if not os.path.lexists(folder / case.name):
            case.build(folder / case.name)
    return chosen


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    named = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")), "")
    out = Path(args[0]) if args else Path("hostile-corpus")
    for case in build(out, "--slow" in sys.argv, set(filter(None, named.split(",")))):
        print(f"{case.klass:15} {case.name:35} exit {case.exit} {case.code or ''}")
