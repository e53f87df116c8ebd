"""pipeline.contributions.sheets: the files contributors really send become a header and rows with their lines."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from conftest import FIXTURES
from pipeline.contributions.sheets import _read_fast, _read_slow, read_delimited, read_sheet

HERE = FIXTURES / "contrib"
HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes"
EXPECTED = [
    ["BDNF", "", "increase", "animal", "HPC", "rat", "PMID:12345678", "", "Müller's lab, re-analysed"],
    ["p-mTOR", "", "decrease", "animal", "PFC", "mouse", "10.1000/xyz123", "Female only", ""],
    ["GSK-3", "", "no_change", "human", "Serum", "human", "PMID:35546951;PMID:12345679", "", ""],
]


def sheet_of(tmp_path, content: bytes | str, name: str = "f.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return read_sheet(path)


def codes(sheet) -> list[str]:
    return [p.code for p in sheet.problems]


@pytest.mark.parametrize("name, encoding, delimiter", [
    ("excel-unicode-text.txt", "utf-16", "\t"),
    ("excel-cp1252-semicolon.csv", "cp1252", ";"),
    ("excel-utf8-bom.csv", "utf-8-sig", ","),
])
def test_excel_text_exports_are_read_with_their_encoding_and_delimiter(name, encoding, delimiter):
    sheet = read_sheet(HERE / name)
    assert (sheet.encoding, sheet.delimiter) == (encoding, delimiter)
    assert sheet.header == HEADER.split(",")
    assert sheet.rows() == [(line, cells) for line, cells in zip((2, 3, 4), EXPECTED)]


def test_cp1252_is_read_with_a_warning_that_says_so():
    sheet = read_sheet(HERE / "excel-cp1252-semicolon.csv")
    assert [(p.code, p.severity) for p in sheet.problems] == [("encoding", "warning")]
    assert "cp1252" in sheet.problems[0].message


def test_xlsx_reads_the_findings_sheet_and_says_which():
    sheet = read_sheet(HERE / "several-sheets.xlsx")
    assert sheet.sheet == "findings"
    assert [(p.code, p.severity, p.value) for p in sheet.problems] == [("sheet-chosen", "warning", "findings")]
    assert "'read me'" in sheet.problems[0].message
    rows = sheet.rows()
    assert rows[0] == (2, ["BDNF", "", "increase", "animal", "HPC", "rat", "12345678", "",
                           "Müller's lab, re-analysed"])  # a number cell as typed, not 12345678.0
    assert rows[1:] == [(3, EXPECTED[1]), (4, EXPECTED[2])]


def test_xlsx_written_by_libreoffice_is_read():
    sheet = read_sheet(HERE / "libreoffice.xlsx")
    assert sheet.problems == []
    assert sheet.rows() == [(line, cells) for line, cells in zip((2, 3, 4), EXPECTED)]


def test_xlsx_without_a_findings_sheet_reads_the_first_and_says_so(tmp_path):
    workbook = Workbook()
    workbook.active.title = "mine"
    workbook.active.append(["molecule", "direction"])
    workbook.active.append(["BDNF", "increase"])
    workbook.create_sheet("other").append(["x"])
    workbook.save(tmp_path / "w.xlsx")
    sheet = read_sheet(tmp_path / "w.xlsx")
    assert sheet.sheet == "mine" and codes(sheet) == ["sheet-chosen"]
    assert "first" in sheet.problems[0].message
    assert sheet.rows() == [(2, ["BDNF", "increase"])]


def test_xlsx_ragged_cell_and_comment_rows(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    for row in (["molecule", "direction"], ["# an example row"], ["BDNF", "increase", "stray"], [], ["GSK-3", "−"]):
        sheet.append(row)
    workbook.save(tmp_path / "w.xlsx")
    read = read_sheet(tmp_path / "w.xlsx")
    assert [(p.code, p.line, p.value) for p in read.problems] == [("ragged-row", 3, "stray")]
    assert read.rows() == [(3, ["BDNF", "increase"]), (5, ["GSK-3", "−"])]


def test_damaged_xlsx_is_unreadable_not_a_traceback(tmp_path):
    data = (HERE / "several-sheets.xlsx").read_bytes()
    sheet = sheet_of(tmp_path, data[: len(data) // 2], "cut.xlsx")
    assert codes(sheet) == ["unreadable-file"] and sheet.frame is None


def test_stray_spaces_blank_lines_and_excel_blank_rows_are_ignored(tmp_path):
    text = " molecule , direction \n  BDNF ,  increase  \n\n,\n   \n GSK-3 , −\n\n\n"
    sheet = sheet_of(tmp_path, text)
    assert sheet.header == ["molecule", "direction"]
    assert sheet.rows() == [(2, ["BDNF", "increase"]), (6, ["GSK-3", "−"])]
    assert sheet.problems == []


def test_comment_lines_are_skipped_and_line_numbers_kept(tmp_path):
    text = "# made by hand\nmolecule,direction\n# BDNF,increase\nBDNF,increase\n#\nGSK-3,decrease\n"
    sheet = sheet_of(tmp_path, text)
    assert sheet.header_line == 2
    assert sheet.rows() == [(4, ["BDNF", "increase"]), (6, ["GSK-3", "decrease"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed_from_the_header(tmp_path, delimiter):
    text = delimiter.join(["molecule", "direction", "notes"]) + "\nBDNF" + delimiter + "increase" + delimiter + "a, b; c\n"
    sheet = sheet_of(tmp_path, text)
    assert sheet.delimiter == delimiter
    assert sheet.rows()[0][1][:2] == ["BDNF", "increase"]


def test_quoted_line_break_keeps_the_line_of_the_next_row(tmp_path):
    text = 'molecule,notes\nBDNF,"two\nlines"\nGSK-3,x\n'
    sheet = sheet_of(tmp_path, text)
    assert sheet.rows() == [(2, ["BDNF", "two\nlines"]), (4, ["GSK-3", "x"])]


def test_ragged_row_is_a_problem_with_its_line(tmp_path):
    sheet = sheet_of(tmp_path, "molecule,direction\nBDNF,increase\nGSK-3,decrease,extra\nAkt,increase,\n")
    assert [(p.code, p.line, p.value) for p in sheet.problems] == [("ragged-row", 3, "extra")]
    assert [line for line, _ in sheet.rows()] == [2, 3, 4]  # a trailing empty cell is not ragged


def test_short_rows_are_padded(tmp_path):
    assert sheet_of(tmp_path, "a,b,c\n1\n1,2\n").rows() == [(2, ["1", "", ""]), (3, ["1", "2", ""])]


def test_old_mac_line_ends(tmp_path):
    assert sheet_of(tmp_path, "a,b\r1,2\r3,4\r").rows() == [(2, ["1", "2"]), (3, ["3", "4"])]


def test_utf16_without_bom(tmp_path):
    sheet = sheet_of(tmp_path, "a\tb\r\n1\t↑\r\n".encode("utf-16-le"), "f.txt")
    assert sheet.rows() == [(2, ["1", "↑"])]


@pytest.mark.parametrize("content, code", [
    (b"", "empty-file"),
    (b"\n\n  \n", "empty-file"),
    (b"# only a comment\n", "empty-file"),
    (b"\x00\x01\x02\x03binary\xff\xfe\x00junk" * 50, "unreadable-file"),
    (b"PK\x03\x04rest of a zip", "unreadable-file"),
    (b"\xd0\xcf\x11\xe0old excel", "unreadable-file"),
    (b"\xff\xfe\x00\xd8", "unreadable-file"),  # a BOM, then a lone surrogate
])
def test_unusable_files_give_one_clear_problem(tmp_path, content, code):
    sheet = sheet_of(tmp_path, content)
    assert codes(sheet) == [code] and sheet.frame is None
    assert sheet.problems[0].suggestion


def test_header_only_file_has_a_header_and_no_rows(tmp_path):
    sheet = sheet_of(tmp_path, HEADER + "\n")
    assert sheet.header == HEADER.split(",") and sheet.rows() == [] and sheet.problems == []


@pytest.mark.parametrize("name, code", [("f.xls", "unsupported-format"), ("f.numbers", "unsupported-format"),
                                        ("missing.csv", "not-found")])
def test_unsupported_or_missing_files(tmp_path, name, code):
    if name != "missing.csv":
        (tmp_path / name).write_bytes(b"x")
    assert codes(read_sheet(tmp_path / name)) == [code]


def test_folder_is_not_a_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    assert codes(read_sheet(tmp_path / "d.csv")) == ["not-a-file"]


def test_fast_and_slow_readers_agree_on_a_plain_file():
    body = b"a,b\n1,2\n\n#c\n 3 , 4 \n"
    fast = _read_fast(body.replace(b"#c", b""), ",", 1)
    slow = _read_slow(body.replace(b"#c", b"").decode(), ",", 1, "f")
    assert fast is not None and fast.rows() == slow.rows() == [(2, ["1", "2"]), (5, ["3", "4"])]


def test_read_delimited_never_needs_a_path():
    sheet = read_delimited(io.BytesIO(b"a;b\n1;2\n").getvalue(), "in-memory.csv")
    assert sheet.path == "in-memory.csv" and sheet.rows() == [(2, ["1", "2"])]


# --- workbooks from LibreOffice (.ods) and the limits every reader keeps -------------------


def test_ods_written_by_libreoffice_reads_like_its_xlsx():
    ods, xlsx = read_sheet(HERE / "libreoffice.ods"), read_sheet(HERE / "libreoffice.xlsx")
    assert ods.problems == [] and ods.header == xlsx.header == HEADER.split(",")
    assert ods.rows() == xlsx.rows() == [(line, cells) for line, cells in zip((2, 3, 4), EXPECTED)]


def test_ods_reads_the_findings_sheet_and_says_which():
    sheet = read_sheet(HERE / "several-sheets.ods")
    assert sheet.sheet == "findings" and codes(sheet) == ["sheet-chosen"]
    assert sheet.rows()[0][1][6] == "12345678"  # a number cell as typed, as in the .xlsx


@pytest.mark.parametrize("name", ["formula.xlsx", "formula.ods"])
def test_formula_cells_are_errors_with_line_and_column(name):
    sheet = read_sheet(HERE / name)
    [problem] = sheet.problems
    assert (problem.code, problem.line, problem.column) == ("formula-cell", 3, "species")
    assert problem.value.startswith("=HYPERLINK(") and problem.suggestion


def test_a_formula_cell_makes_the_file_invalid_not_unreadable():
    from pipeline.contributions.rules import check_file

    checked = check_file(HERE / "formula.ods")
    assert not checked.valid and {p.exit_class for p in checked.problems} == {"data"}
    assert [row["line"] for row in checked.rows] == [2, 4]  # the row with the formula is not taken


def test_unclosed_quote_is_an_error_at_the_line_where_it_opens(tmp_path):
    sheet = sheet_of(tmp_path, 'a,b\n1,2\n3,"open\n5,6\n7,8\n')
    assert [(p.code, p.line) for p in sheet.problems] == [("unclosed-quote", 3)] and sheet.frame is None


def test_a_quote_that_swallows_rows_is_refused_but_a_real_line_break_is_kept(tmp_path):
    swallowed = sheet_of(tmp_path, 'a,b,c\n1,2,"x\n3,4,5\n6,7,y"\n')
    assert [(p.code, p.line) for p in swallowed.problems] == [("unclosed-quote", 2)]
    kept = sheet_of(tmp_path, 'a,b,c\n1,2,"first line\nsecond, line"\n3,4,5\n')
    assert kept.problems == [] and kept.rows()[0] == (2, ["1", "2", "first line\nsecond, line"])


def test_nul_anywhere_is_an_error_with_its_line(tmp_path):
    body = "a,b\n" + "1,2\n" * 40_000 + "3,\x004\n"
    sheet = sheet_of(tmp_path, body)
    assert [(p.code, p.line) for p in sheet.problems] == [("nul-byte", 40_002)]


def test_xlsx_rows_past_an_understated_dimension_are_read(tmp_path):
    import re
    import zipfile

    workbook = Workbook()
    for n in range(30):
        workbook.active.append(["molecule", "direction"] if n == 0 else [f"m{n}", "increase"])
    workbook.save(tmp_path / "w.xlsx")
    with zipfile.ZipFile(tmp_path / "w.xlsx") as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    name = "xl/worksheets/sheet1.xml"
    parts[name] = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:B2"/>', parts[name])
    with zipfile.ZipFile(tmp_path / "lie.xlsx", "w") as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    assert len(read_sheet(tmp_path / "lie.xlsx").rows()) == 29


@pytest.mark.parametrize("name, content, limit, code", [
    ("f.csv", "a,b\n" + "1,2\n" * 20, {"max_rows": 10}, "too-many-rows"),
    ("f.csv", "a,b,c,d\n1,2,3,4\n", {"max_columns": 3}, "too-many-columns"),
    ("f.csv", "a,b\n1,2,3,4\n", {"max_columns": 3}, "too-many-columns"),  # a ragged row, in the slow reader
    ("f.csv", "a,bbbbbb\n1,2\n", {"max_header_chars": 5}, "header-too-long"),
    ("f.csv", "a,b\n" + "1,2\n" * 100, {"max_bytes": 100}, "file-too-large"),
    ("f.xlsx", None, {"max_rows": 2}, "too-many-rows"),
    ("f.xlsx", None, {"max_inflated_bytes": 5000}, "workbook-too-large"),
    ("f.ods", None, {"max_columns": 5}, "too-many-columns"),
])
def test_each_limit_refuses_the_file_with_its_own_code(tmp_path, name, content, limit, code):
    from dataclasses import replace

    from pipeline.contributions.sheets import LIMITS

    path = tmp_path / name
    if content is None:
        path.write_bytes((HERE / ("libreoffice" + path.suffix)).read_bytes())
    else:
        path.write_text(content)
    sheet = read_sheet(path, limits=replace(LIMITS, **limit))
    assert codes(sheet) == [code] and sheet.frame is None and sheet.problems[0].exit_class == "input"
    assert sheet.problems[0].suggestion


def test_a_long_cell_is_an_error_at_its_line_and_column(tmp_path):
    from dataclasses import replace

    from pipeline.contributions.sheets import LIMITS

    (tmp_path / "f.csv").write_text("a,notes\n1,short\n2," + "x" * 50 + "\n")
    sheet = read_sheet(tmp_path / "f.csv", limits=replace(LIMITS, max_cell_chars=20))
    assert [(p.code, p.line, p.column) for p in sheet.problems] == [("cell-too-long", 3, "notes")]
    assert sheet.frame is not None


def test_read_input_never_opens_what_is_not_a_regular_file(tmp_path):
    import os

    from pipeline.core.files import read_input
    from pipeline.core.problems import ProblemsFound

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "zero").symlink_to("/dev/zero")
    for name in ("pipe", "zero"):
        with pytest.raises(ProblemsFound) as refused:
            read_input(tmp_path / name, 1000)
        assert [p.code for p in refused.value.problems] == ["not-a-file"]
    (tmp_path / "big").write_bytes(b"x" * 2000)
    with pytest.raises(ProblemsFound) as refused:
        read_input(tmp_path / "big", 1000)
    assert [p.code for p in refused.value.problems] == ["file-too-large"]
    assert read_input(tmp_path / "big", 2000) == b"x" * 2000
