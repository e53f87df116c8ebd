"""Many contribution files checked together (pipeline.contributions.batch) say what checking them
one by one says, and the build reads the package and the vocabulary once, whatever the number of files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from conftest import ROOT
from pipeline.contributions.batch import check_sheets
from pipeline.contributions.intake import contributed_findings
from pipeline.contributions.package_index import PackageIndex
from pipeline.contributions.rules import check_sheet
from pipeline.contributions.sheets import read_sheet, read_sheets
from pipeline.core.files import read_csv
from pipeline.core.vocab import Vocabulary

VOCAB = Vocabulary()
COLUMNS = ["molecule", "measure", "direction", "population", "region", "species", "reference", "qualifier", "notes"]
GOOD = {"molecule": "BDNF", "measure": "", "direction": "increase", "population": "animal", "region": "HPC",
        "species": "rat", "reference": "PMID:12345678", "qualifier": "", "notes": ""}
REVIEW = [f for f in read_csv(ROOT / "data" / "findings.csv") if f["source_id"] == "kang-2022"]


def write(folder: Path, name: str, rows: list[dict], columns: list[str] = COLUMNS, head: str = "") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([{**GOOD, **row}.get(c, "") for c in columns])
    path = folder / name
    path.write_text(head + buffer.getvalue(), encoding="utf-8")
    return path


def one_by_one(paths: list[Path], package: list[dict]):
    """What the build did before: each file checked against the package and the valid files before it."""
    index, out = PackageIndex.of(package), []
    for number, path in enumerate(paths):
        checked = check_sheet(read_sheet(path), VOCAB, index)
        if checked.valid:
            index.add(contributed_findings(checked.rows, f"contrib-{number}", VOCAB))
        out.append(checked)
    return out


KNOWN = {"region": "SN", "reference": "PMID:999", "species": "mouse"}


def package(folder: Path) -> list[dict]:
    """A package holding one finding (KNOWN), as an accepted contribution puts it there."""
    checked = check_sheet(read_sheet(write(folder, "package.csv", [KNOWN])), VOCAB)
    return REVIEW + contributed_findings(checked.rows, "contrib-package", VOCAB)


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    known = {**KNOWN, "species": "Mouse"}
    opposite = {**KNOWN, "direction": "decrease"}
    (tmp_path / "in").mkdir()
    tmp_path = tmp_path / "in"
    other = {"molecule": "BDNF", "region": "PFC", "reference": "PMID:222"}
    return [
        write(tmp_path, "a-good.csv", [{}, {"region": "PFC"}, {"reference": "PMID:1;PMID:2"}]),
        write(tmp_path, "b-repeats-a.csv", [{"reference": "PMID:2;PMID:1"}, {"region": "NAc"}]),  # a's row 3
        write(tmp_path, "c-contradicts-a.csv", [{"region": "PFC", "direction": "decrease"}, {"region": "VTA"}]),
        write(tmp_path, "d-bad-cells.csv", [{"molecule": "Nonsense"}, {"direction": "up-regulated"},
                                            {"region": "Hippocampus"}, {"reference": "12345"}, other]),
        write(tmp_path, "e-repeats-d.csv", [other, {"region": "AMY"}]),  # d is invalid: e is not compared with it
        write(tmp_path, "f-within.csv", [{"region": "DG"}, {"region": "DG"}, {"region": "DG", "direction": "decrease"}]),
        write(tmp_path, "g-review.csv", [known, opposite, {"region": "PAG"}]),
        write(tmp_path, "h-no-measure-column.csv", [{"region": "DRN"}], [c for c in COLUMNS if c != "measure"]),
        write(tmp_path, "i-missing-column.csv", [{}], [c for c in COLUMNS if c != "region"]),
        write(tmp_path, "j-empty.csv", []),
        write(tmp_path, "k-commented.csv", [{"region": "HPC", "species": "mouse"}], head="# contributor: Doe, Jane\n"),
        write(tmp_path, "l-ragged.csv", [{"notes": "a,b"}]),
        write(tmp_path, "m-repeats-k-and-a.csv", [{"region": "HPC", "species": "MOUSE"}, {}]),
    ]


def test_checking_files_together_says_what_checking_them_in_turn_says(files):
    (files[-2]).write_text(files[-2].read_text().replace('"a,b"', "a,b"))  # a row with one cell too many
    findings = package(files[0].parent.parent)
    before = one_by_one(files, findings)
    together = check_sheets(read_sheets(files), VOCAB, PackageIndex.of(findings))
    assert [c.path for c in together] == [c.path for c in before]
    for was, now in zip(before, together):
        assert (now.valid, now.row_count, now.counts, now.omitted) == (was.valid, was.row_count, was.counts,
                                                                       was.omitted), was.path
        assert now.problems == was.problems, was.path
        assert now.rows == was.rows, was.path
    codes = {p.code for c in together for p in c.problems}
    assert {"already-in-package", "contradicts-package", "duplicate-row", "contradiction", "unknown-molecule",
            "missing-column", "no-findings", "ragged-row"} <= codes


def test_read_sheets_reads_what_read_sheet_reads(files):
    tmp_path = files[0].parent
    quoted = tmp_path / "n-quoted.csv"
    quoted.write_text('molecule,notes\nBDNF,"two\nlines"\n', encoding="utf-8")
    semicolons = tmp_path / "o-semicolons.csv"
    semicolons.write_text("molecule;region\nBDNF;HPC\n\n# a comment\nBDNF ; PFC \n", encoding="utf-8")
    paths = files + [quoted, semicolons, tmp_path / "missing.csv"]
    for alone, together in zip([read_sheet(p) for p in paths], read_sheets(paths)):
        assert (together.path, together.header, together.header_line, together.encoding, together.delimiter,
                together.problems) == (alone.path, alone.header, alone.header_line, alone.encoding,
                                       alone.delimiter, alone.problems)
        assert (together.frame is None) == (alone.frame is None)
        if alone.frame is not None:
            assert together.frame.equals(alone.frame), alone.path


def test_folding_in_many_files_reads_the_vocabulary_and_the_package_once(tmp_path, monkeypatch):
    """No per-file re-read: the schema files and the package's findings are read a fixed number of
    times, the same for 3 files as for 30 (counted by wrapping the readers)."""
    import pipeline.contributions.intake as intake
    import pipeline.contributions.package_index as package_index
    from pipeline.core import vocab as vocab_module
    from pipeline.core.settings import load_params

    params = load_params(ROOT)

    def reads(count: int) -> dict[str, int]:
        root = tmp_path / f"n{count}"
        (root / params["contrib"]["dir"]).mkdir(parents=True)
        (root / params["curation"]["dir"]).mkdir(parents=True)
        for number in range(count):
            write(root / params["contrib"]["dir"], f"f{number:03d}.csv",
                  [{"reference": f"PMID:{number + 1}"}, {"reference": f"PMID:{number + 1}", "region": "PFC"}])
        calls = {"table_schema": 0, "package_frame": 0, "check_sheets": 0}
        schema, frame, single = Vocabulary.table_schema, package_index._package_frame, intake.check_sheets

        def counted(name, function):
            def wrapper(*args, **kwargs):
                calls[name] += 1
                return function(*args, **kwargs)
            return wrapper

        monkeypatch.setattr(vocab_module.Vocabulary, "table_schema", counted("table_schema", schema))
        monkeypatch.setattr(package_index, "_package_frame", counted("package_frame", frame))
        monkeypatch.setattr(intake, "check_sheets", counted("check_sheets", single))
        tables = {"findings": list(REVIEW), "sources": []}
        folded = intake.fold_in(tables, root, params, Vocabulary())
        assert len(folded["findings"]) == len(REVIEW) + 2 * count
        monkeypatch.undo()
        return calls

    assert reads(3) == reads(30)


def test_contributed_findings_as_a_frame_are_the_findings_as_dicts(files):
    """The build keeps accepted files' findings as polars frames; they iterate as the same dicts."""
    from pipeline.contributions.intake import Findings, contributed_frame

    columns = VOCAB.field_names("findings")
    valid = [c for c in check_sheets(read_sheets(files), VOCAB, PackageIndex.of([]), frames=True) if c.valid]
    assert valid
    for checked, alone in zip(valid, [check_sheet(read_sheet(Path(c.path)), VOCAB) for c in valid]):
        frame = contributed_frame(checked.rows, "contrib-x", VOCAB, columns)
        assert list(Findings([], [frame])) == contributed_findings(alone.rows, "contrib-x", VOCAB)


def test_content_ids_are_the_finding_ids_of_the_content_keys():
    import polars as pl

    from pipeline.contributions.intake import content_ids
    from pipeline.findings.ids import content_key, finding_id

    rows = [{"molecule_id": "bdnf", "measure": "level", "direction": "increase", "population": "animal",
             "region_id": "animal-HPC", "species": species, "qualifier": qualifier, "references": references}
            for species, qualifier, references in [("Mouse", "", "PMID:2;PMID:1"), ("MOUSE", "Straße", "PMID:1;;PMID:2;PMID:1"),
                                                   ("rat", "ǅ İ", "10.1/x"), ("", "", "")]]
    expected = [finding_id("contribution", *content_key(row)) for row in rows]
    assert content_ids(pl.DataFrame(rows)).to_list() == expected
