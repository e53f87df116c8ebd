"""The extract stage accounts for every row and cell of the export and invents nothing."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES, RAW_EXPORT, ROOT
from pipeline.findings.cells import parse_cell
from pipeline.sources.export import parse_export, review_findings, split_row
from pipeline.sources.review import extract_review
from pipeline.core.problems import ProblemsFound
from pipeline.core.vocab import Vocabulary

SOURCE = {"id": "kang-2022", "title": "The Mechanisms Behind …", "license": "CC-BY-4.0"}
VOCAB = Vocabulary()


@pytest.fixture(scope="module")
def tables():
    return extract_review(RAW_EXPORT, SOURCE, VOCAB, ROOT)


def export_lines() -> list[str]:
    return RAW_EXPORT.read_text(encoding="utf-8").split("\n")


def body_rows(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Molecule rows counted independently of the extractor: table lines after the three headers."""
    table = [(n, split_row(line)) for n, line in enumerate(lines, 1) if n > 1 and line.startswith("|")]
    return [(n, cells) for n, cells in table[4:]]  # lone '|' opener + 3 header rows


def test_every_molecule_row_is_a_molecule(tables):
    rows = body_rows(export_lines())
    assert len(rows) == 53
    labels = {cells[0] for _, cells in rows}
    published = {m["label"] for m in tables["molecules"]}
    assert labels <= published
    with_findings = {f["molecule_label"] for f in tables["findings"]}
    assert sorted(labels - with_findings) == ["BDNF promotor IV", "Egr-1", "NMDA GluN1", "eEF2K"]


def test_every_non_empty_cell_is_exactly_one_finding(tables):
    cells = Counter((n, text) for n, row in body_rows(export_lines()) for text in row[1:] if text)
    findings = Counter((f["source_row"], f["source_text"]) for f in tables["findings"])
    assert findings == cells
    assert sum(cells.values()) == 93


def test_directions_match_the_source_counts(tables):
    directions = Counter(f["direction"] for f in tables["findings"])
    assert directions == {"increase": 63, "decrease": 26, "no_change": 4}


def test_citation_markers_lost_numbers_are_marked_not_invented(tables):
    statuses = Counter(f["citation_status"] for f in tables["findings"])
    assert statuses == {"reference_lost_in_source": 89, "no_citation_in_source": 4}
    assert all(f["references"] == "" for f in tables["findings"])


def test_packed_export_publishes_no_region_or_population(tables):
    for finding in tables["findings"]:
        assert finding["region_id"] == "" and finding["population"] == ""
        assert finding["location_status"] == "lost_in_source"


def test_qualifiers_are_kept_verbatim(tables):
    qualifiers = Counter(f["qualifier"] for f in tables["findings"] if f["qualifier"])
    assert qualifiers == {"Female only": 2, "mRNA": 1}
    mrna_cell = next(f for f in tables["findings"] if f["qualifier"] == "mRNA")
    assert mrna_cell["molecule_label"] == "AMPAR" and mrna_cell["measure"] == "mRNA"


def test_truncated_label_stays_verbatim_and_flagged(tables):
    truncated = [f for f in tables["findings"] if f["label_truncated"]]
    assert [f["molecule_label"] for f in truncated] == ["AMPAR/"]
    molecule = next(m for m in tables["molecules"] if m["label"] == "AMPAR/")
    assert molecule["label_truncated"] == "true" and molecule["measure"] == "unspecified"


def test_p_prefix_means_phosphorylation(tables):
    measures = {f["molecule_label"]: f["measure"] for f in tables["findings"]}
    assert measures["p-mTOR"] == measures["p-CREB"] == "phosphorylation"
    assert measures["p70S6K"] == "level"  # 'p70' is part of the kinase's name


def test_article_identifiers_are_parsed_from_the_export(tables):
    (review,) = tables["sources"]
    assert review["pmid"] == "35546951" and review["pmcid"] == "PMC9082546"
    assert review["doi"] == "10.3389/fpsyt.2022.860882"
    assert review["journal"] == "Front Psychiatry" and review["issn"] == "1664-0640"
    assert review["year"] == "2022"
    assert review["authors"] == "Melody J Y Kang;Emily Hawken;Gustavo Hector Vazquez"
    assert review["keywords"].split(";")[:2] == ["bipolar disorder", "ketamine"]


def test_finding_ids_are_unique_and_survive_row_reordering(tables):
    ids = [f["finding_id"] for f in tables["findings"]]
    assert len(set(ids)) == len(ids)
    lines = export_lines()
    start, end = 13, 66  # 0-based slice of the 53 molecule rows (lines 14–66)
    shuffled_rows = lines[start:end]
    random.Random(7).shuffle(shuffled_rows)
    shuffled = "\n".join(lines[:start] + shuffled_rows + lines[end:])
    table = parse_export(shuffled, "shuffled.txt", VOCAB)
    by_content = {(f["molecule_label"], f["source_cell"]): f["finding_id"]
                  for f in review_findings(table, VOCAB, "kang-2022")}
    assert by_content == {(f["molecule_label"], f["source_cell"]): f["finding_id"] for f in tables["findings"]}


def test_packed_fixture_gives_no_columns():
    table = parse_export((FIXTURES / "export" / "packed.txt").read_text(encoding="utf-8"), "packed.txt", VOCAB)
    assert not table.positional
    findings = review_findings(table, VOCAB, "x")
    assert len(findings) == 4
    assert {f["location_status"] for f in findings} == {"lost_in_source"}


def test_positional_fixture_assigns_columns_from_blanks_in_place():
    text = (FIXTURES / "export" / "positional.txt").read_text(encoding="utf-8")
    table = parse_export(text, "positional.txt", VOCAB)
    assert table.positional
    findings = {(f["molecule_label"], f["source_cell"]): f for f in review_findings(table, VOCAB, "x")}
    assert findings[("BDNF", 1)]["region_id"] == "animal-PFC"
    assert findings[("BDNF", 2)]["region_id"] == "animal-AMY"
    assert findings[("BDNF", 2)]["qualifier"] == "Female only"
    assert findings[("BDNF", 3)]["region_id"] == "human-Serum"
    assert findings[("BDNF", 3)]["population"] == "human"
    assert findings[("GSK-3β", 1)]["region_id"] == "animal-PFC"
    assert {f["location_status"] for f in findings.values()} == {"reported"}


def corrupted(line_number: int, old: str, new: str) -> str:
    lines = export_lines()
    assert old in lines[line_number - 1]
    lines[line_number - 1] = lines[line_number - 1].replace(old, new, 1)
    return "\n".join(lines)


def problems_for(text: str) -> list:
    with pytest.raises(ProblemsFound) as raised:
        parse_export(text, "export.txt", VOCAB)
    return raised.value.problems


def test_unknown_symbol_stops_with_its_line():
    problems = problems_for(corrupted(20, "↓ (", "↗ ("))
    assert [(p.code, p.line, p.value) for p in problems] == [("unknown-symbol", 20, "↗ (")]


def test_ascii_hyphen_is_refused_with_the_legend_symbol_as_fix():
    (problem,) = problems_for(corrupted(24, "− (", "- ("))
    assert problem.line == 24 and "U+2212" not in problem.message and "−" in problem.suggestion


def test_more_cells_than_columns_stops_with_its_line():
    lines = export_lines()
    lines[48] = "| BDNF |" + " ↑ ( |" * 15 + " |"
    problems = problems_for("\n".join(lines))
    assert ("too-many-cells", 49) in [(p.code, p.line) for p in problems]


def test_missing_header_row_is_reported():
    lines = export_lines()
    del lines[11]  # the group header row
    problems = problems_for("\n".join(lines))
    assert problems[0].code in {"missing-header", "unexpected-header"} and problems[0].line == 12


def test_second_table_is_refused():
    lines = export_lines()
    lines.insert(67, "| Another | table |")
    problems = problems_for("\n".join(lines))
    assert [(p.code, p.line) for p in problems] == [("second-table", 68)]


def test_legend_that_disagrees_with_the_vocabulary_stops_the_stage():
    problems = problems_for(corrupted(67, "↓ indicates decrease", "↓ indicates increase"))
    assert {p.code for p in problems} == {"legend-mismatch"}
    assert all(p.line == 67 for p in problems)


def test_unknown_molecule_label_suggests_the_vocabulary_entry():
    (problem,) = problems_for(corrupted(44, "| BDNF |", "| BDNFF |"))
    assert problem.code == "unknown-molecule" and "'BDNF'" in problem.suggestion
    assert "schemas/molecules.csv" in problem.suggestion


def test_all_problems_are_reported_at_once():
    text = corrupted(20, "↓ (", "↗ (")
    lines = text.split("\n")
    lines[23] = lines[23].replace("− (", "?? (")
    codes = [(p.code, p.line) for p in problems_for("\n".join(lines))]
    assert codes == [("unknown-symbol", 20), ("unknown-symbol", 24)]


@pytest.mark.parametrize("cell, expected", [
    ("↑ (", ("increase", "", True)),
    ("↑", ("increase", "", False)),
    ("↑(", ("increase", "", True)),
    ("mRNA ↑ (", ("increase", "mRNA", True)),
    ("↑ Female only (", ("increase", "Female only", True)),
    ("− (", ("no_change", "", True)),
])
def test_cell_grammar(cell, expected):
    parsed = parse_cell(cell, VOCAB)
    assert (parsed.direction, parsed.qualifier, parsed.cited) == expected


def test_non_utf8_export_is_a_problem_not_a_traceback(tmp_path: Path):
    path = tmp_path / "export.txt"
    path.write_bytes(RAW_EXPORT.read_bytes().replace("↑".encode(), b"\xff", 1))
    with pytest.raises(ProblemsFound) as raised:
        extract_review(path, SOURCE, VOCAB, tmp_path)
    assert raised.value.problems[0].code == "unreadable-file"
