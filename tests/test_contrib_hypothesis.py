"""Properties: no input gives a traceback, the fast reader agrees with the csv module, and a table
written by any spreadsheet-like writer reads back as written."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from pipeline.contributions.rules import check_file
from pipeline.core.problems import Problem
from pipeline.contributions.sheets import SPACES, _blank_comments, _read_fast, _read_slow, read_sheet
from pipeline.core.vocab import Vocabulary

VOCAB = Vocabulary()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COLUMNS = ["molecule", "measure", "direction", "population", "region", "species", "reference", "qualifier", "notes"]

cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
plain_cell = st.text(alphabet=st.sampled_from(list("ab ;,\t\"#-=↑é\n\x1f\u00a0\u2028")), max_size=6)


def vocabulary_cell(column: str):
    known = {
        "molecule": [m["label"] for m in VOCAB.molecules] + ["bdnf", "Foo"],
        "measure": ["", "level", "mrna", "phospho"],
        "direction": ["increase", "↑", "↓", "−", "-", "up", "decrease", "no_change"],
        "population": ["animal", "human", "Animal", "humans"],
        "region": [r["label"] for r in VOCAB.regions] + ["Hippocampus", "animal-HPC"],
        "species": ["rat", "mouse", "human", ""],
        "reference": ["PMID:1", "PMID:2;10.1000/x", "123", "doi:10.1/x", ""],
        "qualifier": ["", "Female only", "mRNA", "=1"],
        "notes": ["", "@x", "fine"],
    }[column]
    return st.one_of(st.sampled_from(known), cell_text)


def write_rows(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))


def assert_only_problems(problems):
    assert all(isinstance(p, Problem) and p.code and p.message for p in problems)


@SETTINGS
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".tsv", ".txt", ".xlsx"]))
def test_arbitrary_bytes_give_problems_never_a_traceback(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(data)
        sheet = read_sheet(path)
        assert_only_problems(sheet.problems)
        checked = check_file(path, VOCAB)
        assert_only_problems(checked.problems)
        assert checked.valid == (not any(p.severity == "error" for p in checked.problems))


@SETTINGS
@given(data=st.binary(max_size=3000))
def test_arbitrary_bytes_inside_a_real_workbook_container(data):
    """Damage a real .xlsx in arbitrary places: openpyxl's errors must all become problems."""
    original = (FIXTURES / "contrib" / "several-sheets.xlsx").read_bytes()
    position = len(data) % len(original)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.xlsx"
        path.write_bytes(original[:position] + data + original[position + len(data):])
        assert_only_problems(check_file(path, VOCAB).problems)


@SETTINGS
@given(rows=st.lists(st.lists(plain_cell, min_size=1, max_size=4), max_size=8),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_fast_reader_agrees_with_the_csv_module_when_it_answers(rows, delimiter):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows([["h1", "h2", "h3"], *rows])
    body = _blank_comments(buffer.getvalue().encode("utf-8"))
    fast = _read_fast(body, delimiter, 1)
    slow = _read_slow(body.decode("utf-8"), delimiter, 1, "f")
    if fast is not None:
        assert fast.header == slow.header and fast.rows() == slow.rows() and not slow.problems


@SETTINGS
@given(rows=st.lists(st.lists(cell_text, min_size=3, max_size=3), max_size=8),
       delimiter=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
@example(rows=[["\x0c#", "", ""]], delimiter=",", encoding="utf-8")
def test_a_written_table_reads_back_as_written(rows, delimiter, encoding):
    rows = [[c.replace("\r", "").replace("\x00", "") for c in row] for row in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        write_rows(path, ["a", "b", "c"], rows, delimiter, encoding)
        sheet = read_sheet(path)
        if any(p.code == "unreadable-file" for p in sheet.problems):
            return  # random control characters can make it look binary: refused, with a reason
        # a comment is a line whose first character is `#`; trimming comes after (so "\x0c#" is data)
        kept = [[c.strip(SPACES) for c in row] for row in rows if not row[0].startswith("#")]
        kept = [row for row in kept if any(row)]
        got = [cells for _, cells in sheet.rows()]
        if not any("\n" in c or c.startswith("#") for row in rows for c in row):
            assert got == kept


@SETTINGS
@given(table=st.lists(st.fixed_dictionaries({c: vocabulary_cell(c) for c in COLUMNS}), max_size=12),
       columns=st.permutations(COLUMNS))
def test_arbitrary_contributions_give_problems_never_a_traceback(table, columns):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.csv"
        write_rows(path, list(columns), [[row[c] for c in columns] for row in table])
        checked = check_file(path, VOCAB, package_findings=[])
    assert_only_problems(checked.problems)
    error_lines = {p.line for p in checked.problems if p.severity == "error"}
    assert not error_lines & {row["line"] for row in checked.rows}
    if checked.valid:
        assert len(checked.rows) == checked.row_count > 0
    assert sum(checked.counts.values()) == len(checked.problems) + checked.omitted


reference_cell = st.one_of(
    st.sampled_from(["PMID:1", "PMID:0123", "PMID:12a", " PMID:5", "PMID:5 ", "pmid:7", "PMID: 8", "PMID:",
                     "PMID:9;PMID:9", "PMID:2;PMID:1", "PMID:4;", ";PMID:4", "PMID:4 ; pmid:5", "PMID:1\n",
                     "PMID:١٢", "ＰＭＩＤ:1", "10.1000/xyz", "10.1000/ABC(1)", "10.1000/abc)", "PMID:3;10.1000/X",
                     "10.1/x", "12345", "", " ", "=HYPERLINK(\"x\")", "PMID:99999999999999999999"]),
    st.text(alphabet=st.sampled_from(list("PMID:0129;10./ax() \n")), max_size=14))


@SETTINGS
@given(cells=st.lists(reference_cell, max_size=20))
def test_the_one_pmid_shortcut_agrees_with_reading_every_reference(cells):
    """A cell of one PMID is taken as valid and its own key without being read again; read against the
    whole pattern (wrapped in a group, which the shortcut does not recognise), every column comes out
    the same."""
    import copy

    import polars as pl

    from pipeline.contributions.normalise import _normalise_references
    from pipeline.contributions.rules import contribution_schema

    schema = contribution_schema(VOCAB)
    plain = copy.deepcopy(schema)
    field = next(spec for spec in plain["fields"] if spec["name"] == "reference")
    field["constraints"]["pattern"] = f"(?:{field['constraints']['pattern']})"
    rows = pl.DataFrame({"line": list(range(len(cells))), "reference": cells}, schema={"line": pl.Int64, "reference": pl.String})
    short, full = _normalise_references(rows, schema), _normalise_references(rows, plain)
    assert short.columns == full.columns and short.equals(full)
