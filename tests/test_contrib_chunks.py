"""A big contribution is checked chunk by chunk (pipeline.contributions.stream, rules.check_sheet,
package_index.Across): with a chunk of a few hundred bytes, the report is the whole-file report,
problem for problem, and what spans two chunks (a duplicate, a contradiction, a match in the
package) is still found, with the right lines."""

from __future__ import annotations

import csv
import io

import pytest

from pipeline.contributions.rules import check_file
from pipeline.contributions.sheets import SheetLimits
from pipeline.contributions.stream import StreamedSheet, stream_sheet
from pipeline.core.vocab import Vocabulary

VOCAB = Vocabulary()
COLUMNS = ["molecule", "measure", "direction", "population", "region", "species", "reference", "qualifier", "notes"]
GOOD = {"molecule": "BDNF", "measure": "", "direction": "increase", "population": "animal", "region": "HPC",
        "species": "rat", "reference": "PMID:12345678", "qualifier": "", "notes": ""}
SMALL = 300  # bytes a chunk: four or five rows


def rows(count: int) -> list[dict]:
    """`count` distinct good findings (each its own PMID)."""
    return [{**GOOD, "reference": f"PMID:{20_000_000 + n}"} for n in range(count)]


def write(tmp_path, records: list[dict], name: str = "c.csv", before: str = "") -> object:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in records:
        writer.writerow([row.get(c, "") for c in COLUMNS])
    path = tmp_path / name
    path.write_text(before + buffer.getvalue(), encoding="utf-8")
    return path


def report(checked):
    return [(p.code, p.line, p.column, p.value, p.message, p.suggestion, p.severity) for p in checked.problems]


def both(path, package=None, **options):
    """The chunked check and the whole-file check of one file; asserts the file really streamed."""
    sheet = stream_sheet(path, str(path), chunk_bytes=SMALL)
    assert isinstance(sheet, StreamedSheet)
    sheet.close()
    chunked = check_file(path, VOCAB, package, chunk_bytes=SMALL, **options)
    whole = check_file(path, VOCAB, package, **options)
    assert report(chunked) == report(whole)
    assert (chunked.counts, chunked.row_count, chunked.omitted) == (whole.counts, whole.row_count, whole.omitted)
    return chunked


def test_a_duplicate_in_another_chunk_is_found(tmp_path):
    records = rows(40)
    records.append(dict(records[1]))  # line 43 repeats line 3, several chunks earlier
    checked = both(tmp_path and write(tmp_path, records), with_rows=False)
    assert [(p.code, p.line) for p in checked.problems] == [("duplicate-row", 42)]
    assert "line 3" in checked.problems[0].message


def test_a_contradiction_across_chunks(tmp_path):
    records = rows(30)
    records.append({**records[0], "direction": "decrease"})
    checked = both(write(tmp_path, records))
    problem, = checked.problems
    assert (problem.code, problem.line, problem.column) == ("contradiction", 32, "direction")
    assert "line 2 says increase" in problem.message
    assert len(checked.rows) == 30 and 32 not in [r["line"] for r in checked.rows]


def test_the_package_is_compared_in_every_chunk(tmp_path):
    records = rows(30)
    package = [{"finding_id": "fnd-000000000007", "molecule_id": "bdnf", "measure": "level", "direction": "decrease",
                "population": "animal", "region_id": "animal-HPC", "species": "rat", "qualifier": "",
                "references": "PMID:20000025"}]
    checked = both(write(tmp_path, records), package, with_rows=False)
    assert [(p.code, p.line) for p in checked.problems] == [("contradicts-package", 27)]


def test_lines_are_right_after_each_chunk_boundary(tmp_path):
    records = rows(60)
    for n in range(0, 60, 7):  # bad rows on either side of the boundaries, wherever they fall
        records[n] = {**records[n], "region": "Hippocampus"}
    checked = both(write(tmp_path, records, before="# a comment\n\n"))
    assert [p.line for p in checked.problems] == [n + 4 for n in range(0, 60, 7)]
    assert {p.value for p in checked.problems} == {"Hippocampus"}


def test_max_errors_lists_the_first_and_counts_all(tmp_path):
    records = [{**r, "direction": "up-regulated"} for r in rows(50)]
    checked = both(write(tmp_path, records), max_errors=3, with_rows=False)
    assert [p.line for p in checked.problems] == [2, 3, 4]
    assert checked.counts == {"unknown-direction": 50} and checked.omitted == 47


def test_a_problem_on_the_last_row_and_comment_lines_inside(tmp_path):
    records = rows(40)
    records[-1] = {**records[-1], "molecule": "BDNFF"}
    path = write(tmp_path, records)
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(text[:20] + ["# a note between rows\n", "\n"] + text[20:]), encoding="utf-8")
    checked = both(path)
    assert [(p.code, p.line) for p in checked.problems] == [("unknown-molecule", 43)]
    assert checked.row_count == 40


def test_a_long_cell_in_a_later_chunk(tmp_path):
    records = rows(30)
    records[20] = {**records[20], "notes": "x" * 80}
    checked = check_file(write(tmp_path, records), VOCAB, chunk_bytes=SMALL, limits=SheetLimits(max_cell_chars=50),
                         with_rows=False)
    assert [(p.code, p.line, p.column) for p in checked.problems] == [("cell-too-long", 22, "notes")]


@pytest.mark.parametrize("change, code", [
    (lambda t: t.replace("PMID:20000025", '"PMID:20000025\nsecond line"'), None),  # a record across two lines
    (lambda t: t.replace("PMID:20000025", '"PMID:20000025'), "unclosed-quote"),
    (lambda t: t.replace("PMID:20000025", "PMID:\x0020000025"), "nul-byte"),
])
def test_what_cannot_stream_is_read_whole(tmp_path, change, code):
    path = write(tmp_path, rows(40))
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    chunked = check_file(path, VOCAB, chunk_bytes=SMALL, with_rows=False)
    whole = check_file(path, VOCAB, with_rows=False)
    assert report(chunked) == report(whole)
    if code:
        assert code in [p.code for p in chunked.problems]


def test_too_many_rows_is_refused_as_a_whole_file_is(tmp_path):
    path = write(tmp_path, rows(40))
    limits = SheetLimits(max_rows=30)
    chunked = check_file(path, VOCAB, chunk_bytes=SMALL, limits=limits)
    assert [p.code for p in chunked.problems] == ["too-many-rows"]
    assert report(chunked) == report(check_file(path, VOCAB, limits=limits))


def test_an_unnamed_column_filled_only_in_a_later_chunk(tmp_path):
    path = write(tmp_path, rows(40))
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ","] + [line + ("," if n != 35 else ",stray") for n, line in enumerate(lines[1:])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    checked = both(path, with_rows=False)
    problem, = checked.problems
    assert (problem.code, problem.value, problem.line) == ("unnamed-column", "stray", 1)


def test_padded_cells_and_rows_of_white_space_read_as_in_a_whole_file(tmp_path):
    records = rows(40)
    records[5] = {**records[5], "molecule": "  BDNF\u00a0", "reference": " PMID:20000005 "}
    records[30] = {**records[5], "molecule": "BDNF", "reference": "PMID:20000005", "region": " Hippocampus "}
    records[33] = {**records[5], "molecule": "\tBDNF", "reference": "PMID:20000005\u3000"}
    path = write(tmp_path, records)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:25] + ["  , ,\u00a0,,,,, ,\n", " \n"] + lines[25:]), encoding="utf-8")
    checked = both(path)
    assert [(p.code, p.line, p.value) for p in checked.problems] == [("unknown-region", 34, "Hippocampus"),
                                                                     ("duplicate-row", 37, "BDNF")]
    assert "line 7" in checked.problems[1].message and checked.row_count == 40


HEADER = "finding_id,molecule_id,measure,direction,population,region_id,species,references,qualifier\n"


def _one_finding_package(tmp_path, monkeypatch):
    """A package table of one finding, and a cache folder of the test's own."""
    monkeypatch.setenv("KETAMAP_CACHE", str(tmp_path / "cache"))
    table = tmp_path / "findings.csv"
    table.write_text(HEADER + "fnd-000000000007,bdnf,level,decrease,animal,animal-HPC,rat,PMID:20000003,\n",
                     encoding="utf-8")
    return table


def test_the_package_index_is_cached_and_follows_the_table(tmp_path, monkeypatch):
    from pipeline.contributions.package_index import PackageIndex, cache_file

    table = _one_finding_package(tmp_path, monkeypatch)
    contribution = write(tmp_path, rows(10))
    first = check_file(contribution, VOCAB, PackageIndex.read(table), with_rows=False)
    assert cache_file(table).is_file()
    again = check_file(contribution, VOCAB, PackageIndex.read(table), with_rows=False)  # from the cache
    assert report(first) == report(again) and [(p.code, p.line) for p in again.problems] == [("contradicts-package", 5)]
    table.write_text(HEADER + "fnd-000000000008,bdnf,level,increase,animal,animal-HPC,rat,PMID:20000004,\n",
                     encoding="utf-8")
    changed = check_file(contribution, VOCAB, PackageIndex.read(table), with_rows=False)
    assert [(p.code, p.line) for p in changed.problems] == [("already-in-package", 6)]
    assert "fnd-000000000008" in changed.problems[0].message


def test_a_damaged_cache_is_rebuilt_not_a_crash(tmp_path, monkeypatch):
    from pipeline.contributions.package_index import PackageIndex, cache_file

    table = _one_finding_package(tmp_path, monkeypatch)
    contribution = write(tmp_path, rows(10))
    first = check_file(contribution, VOCAB, PackageIndex.read(table), with_rows=False)
    cache_file(table).write_bytes(b"PAR1 not a parquet file")  # a disk that filled up, a stray edit
    again = check_file(contribution, VOCAB, PackageIndex.read(table), with_rows=False)
    assert report(first) == report(again)
    assert cache_file(table).read_bytes()[:4] == b"PAR1" and cache_file(table).stat().st_size > 100  # rebuilt


def test_max_rows_lifts_the_row_limit_on_the_command_line(tmp_path):
    import json
    import subprocess
    import sys

    from conftest import ROOT, tool_env

    path = write(tmp_path, rows(12))

    def validate(*options):
        done = subprocess.run([sys.executable, "-m", "pipeline", "validate", str(path), "--no-package", "--format",
                               "json", *options], cwd=ROOT, env=tool_env(), capture_output=True, text=True)
        return done.returncode, [e["code"] for e in json.loads(done.stdout)["files"][0]["errors"]]

    assert validate("--max-rows", "5") == (2, ["too-many-rows"])
    assert validate("--max-rows", "20") == (0, []) == validate()


def test_species_spellings_are_published_by_name_and_compared_by_name_across_chunks(tmp_path):
    spellings = ["rat", "Wistar rat", " Rattus  norvegicus", "RAT"]
    records = [{**row, "species": spellings[n % len(spellings)]} for n, row in enumerate(rows(30))]
    records.append({**records[1], "species": "rat", "direction": "decrease"})  # line 3's finding, opposite
    checked = both(write(tmp_path, records))
    assert {row["species"] for row in checked.rows} == {"rat"}
    assert [(p.code, p.line) for p in checked.problems if p.severity == "error"] == [("contradiction", 32)]


MIXED = [{"direction": "up-regulated"}, {"region": "Hippocampus", "direction": "upp"}, {"notes": "=SUM(A1)"},
         {"reference": "12345"}, {"molecule": "BDNF\u200b"}, {"species": "hamster"}, {"molecule": "BDNFF"}]


def mixed(count: int) -> list[dict]:
    """`count` findings, most of them broken in one of the MIXED ways (some rows in two)."""
    return [{**row, **MIXED[n % len(MIXED)]} if n % 3 else row for n, row in enumerate(rows(count))]


def test_past_max_errors_a_chunk_counts_what_it_no_longer_lists(tmp_path):
    path = write(tmp_path, mixed(90))
    listed = both(path, max_errors=None, with_rows=False)
    capped = both(path, max_errors=4, with_rows=False)
    assert capped.counts == listed.counts and sum(listed.counts.values()) == len(listed.problems) > 60
    assert report(capped) == report(listed)[:4] and capped.omitted == len(listed.problems) - 4
    assert {"unknown-region", "unknown-direction", "formula-like", "bad-reference", "invisible-character",
            "unknown-species", "unknown-molecule"} <= set(listed.counts)


def test_combinations_are_checked_once_per_file_or_per_chunk_past_the_limit(tmp_path, monkeypatch):
    from pipeline.contributions import cells

    path = write(tmp_path, mixed(60) + [{**GOOD, "molecule": "GSK-3β", "reference": f"PMID:{30_000_000 + n}"}
                                        for n in range(20)])
    shared = both(path, with_rows=True)
    monkeypatch.setattr(cells.Combinations, "LIMIT", 3)  # the first chunk's combinations fill it
    alone = both(path, with_rows=True)
    assert report(alone) == report(shared) and alone.rows == shared.rows
    assert [r["molecule_id"] for r in shared.rows[-20:]] == ["gsk-3beta"] * 20
