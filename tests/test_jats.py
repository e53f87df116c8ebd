"""The JATS extractor: columns from spanned headers, references from xrefs, ids equal to the export's."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import FIXTURES, RAW_EXPORT, ROOT, tool_env
from pipeline.sources.review import extract_from_jats, extract_review
from pipeline.sources.jats import jats_findings, parse_jats
from pipeline.core.problems import ProblemsFound
from pipeline.sources.reconcile import read_export, reconcile
from pipeline.core.vocab import Vocabulary

JATS = FIXTURES / "jats"
VOCAB = Vocabulary()
SOURCE = {"id": "kang-2022", "title": "The Mechanisms Behind …", "license": "CC-BY-4.0",
          "export": RAW_EXPORT.relative_to(ROOT).as_posix(), "finding_columns": 14, "jats_table": "Table 1"}


def source_with(jats: Path) -> dict:
    return {**SOURCE, "jats": jats.relative_to(ROOT).as_posix()}


@pytest.fixture(scope="module")
def awkward():
    table = parse_jats((JATS / "awkward.xml").read_bytes(), "awkward.xml", VOCAB)
    return table, {(f["molecule_label"], f["region_id"]): f for f in jats_findings(table, VOCAB, "kang-2022")}


@pytest.fixture(scope="module")
def table1_like():
    return extract_from_jats(ROOT, source_with(JATS / "table1-like.xml"), VOCAB)


def minimal_article(tbody: str, refs: str = "", thead: str | None = None, extra: str = "") -> bytes:
    thead = thead or ('<tr><th rowspan="2">Molecule</th><th colspan="2">Animals</th></tr>'
                      '<tr><th colspan="2">Brain region</th></tr><tr><th/><th>PFC</th><th>HPC</th></tr>')
    return f"""<?xml version="1.0"?>
{extra}<article xmlns:xlink="http://www.w3.org/1999/xlink"><body>
<table-wrap id="T1"><label>Table 1</label><table>
<thead>{thead}</thead>
<tbody>{tbody}</tbody></table>
<table-wrap-foot><fn><p>↑ Indicates increase, ↓ indicates decrease, − indicates no change, p means phosphorylation.</p></fn></table-wrap-foot>
</table-wrap></body>
<back><ref-list>{refs}</ref-list></back></article>""".encode()


def problems_of(data: bytes) -> list:
    with pytest.raises(ProblemsFound) as raised:
        parse_jats(data, "t.xml", VOCAB)
    return raised.value.problems


# --- the awkward cases -------------------------------------------------------------------------

def test_header_cell_spanning_rows_and_columns_gives_each_column_its_region(awkward):
    table, findings = awkward
    regions = {f["region_id"] for f in findings.values()}
    assert regions == {"animal-PFC", "animal-HPC", "animal-Serum", "animal-AMY", "human-Plasma"}
    assert findings[("BDNF", "human-Plasma")]["population"] == "human"
    assert all(f["location_status"] == "reported" for f in findings.values())


def test_cell_spanning_two_columns_is_one_cell_with_a_finding_in_each(awkward):
    table, findings = awkward
    glutamate = next(row for row in table.rows if row.label == "Glutamate")
    assert [c.ordinal for c in glutamate.cells] == [1, 2]
    pfc, hpc = findings[("Glutamate", "animal-PFC")], findings[("Glutamate", "animal-HPC")]
    assert pfc["source_cell"] == hpc["source_cell"] == 1 and pfc["source_text"] == "↑ (12–15)"
    assert pfc["finding_id"] != hpc["finding_id"]
    assert findings[("Glutamate", "animal-Serum")]["source_cell"] == 2


def test_xref_range_expands_through_the_reference_list_in_its_order(awkward):
    _, findings = awkward
    # B12–B15: PMIDs preferred, the DOI where a reference has no PMID (B13 pub-id, B14 doi.org link)
    assert findings[("Glutamate", "animal-PFC")]["references"] == (
        "PMID:99000012;10.5555/ketamap-test.13;10.5555/ketamap-test.14;PMID:99000015")


def test_footnote_marker_stays_in_the_text_but_is_not_a_qualifier(awkward):
    _, findings = awkward
    cell = findings[("p-CREB", "animal-AMY")]
    assert cell["source_text"] == "↓a (13)" and cell["qualifier"] == "" and cell["direction"] == "decrease"


def test_label_and_data_cells_spanning_rows(awkward):
    table, findings = awkward
    bdnf = next(row for row in table.rows if row.label == "BDNF")
    assert [(c.ordinal, c.regions[0]["region_id"]) for c in bdnf.cells] == [
        (1, "animal-PFC"), (2, "animal-Serum"), (3, "animal-HPC"), (4, "human-Plasma")]
    assert findings[("VGF", "animal-PFC")]["references"] == "PMID:99000007"  # p-CREB's cell spans into VGF's row


def test_citation_statuses_follow_the_cell(awkward):
    _, findings = awkward
    assert findings[("BDNF", "animal-Serum")]["citation_status"] == "cited"
    assert findings[("BDNF", "animal-Serum")]["qualifier"] == "Female only"
    assert findings[("BDNF", "animal-HPC")]["citation_status"] == "reference_lost_in_source"  # '(' without xref
    assert findings[("BDNF", "human-Plasma")]["citation_status"] == "no_citation_in_source"


def test_section_heading_rows_and_other_tables_are_skipped(awkward):
    table, _ = awkward
    assert [row.label for row in table.rows] == ["Glutamate", "BDNF", "p-CREB", "VGF"]


def test_reference_details_and_oai_envelope_metadata(awkward):
    table, _ = awkward
    refs = table.references
    assert (refs["B4"].first_author, refs["B4"].year) == ("Four", "2016")  # the author group, not the editor
    assert (refs["B5"].first_author, refs["B5"].pmid) == ("Five", "99000005")  # mixed-citation
    assert refs["B7"].first_author == "The Ketamine Consortium"
    assert table.metadata == {"journal": "Front Psychiatry", "issn": "1664-0640", "pmid": "35546951",
                              "pmcid": "PMC9082546", "doi": "10.3389/fpsyt.2022.860882",
                              "authors": "Melody J. Y. Kang", "year": "2022"}


# --- problems, with lines -----------------------------------------------------------------------

def test_unknown_region_header_is_a_problem_with_its_line():
    thead = ('<tr><th rowspan="3">Molecule</th><th colspan="2">Animals</th></tr>\n'
             '<tr><th colspan="2">Brain region</th></tr>\n<tr><th>PFC</th><th>Hippocampus</th></tr>')
    problems = problems_of(minimal_article("<tr><td>BDNF</td><td>↑</td><td/></tr>", thead=thead))
    assert [(p.code, p.line, p.value) for p in problems] == [
        ("unexpected-header", 6, "Animals › Brain region › Hippocampus")]


def test_citation_to_a_missing_reference_and_backwards_range_are_problems():
    refs = '<ref id="B1"><element-citation><pub-id pub-id-type="pmid">1</pub-id></element-citation></ref>' \
           '<ref id="B2"><element-citation><pub-id pub-id-type="pmid">2</pub-id></element-citation></ref>'
    tbody = ('<tr><td>BDNF</td><td>↑ (<xref ref-type="bibr" rid="B9">9</xref>)</td>'
             '<td>↓ (<xref ref-type="bibr" rid="B2">2</xref>–<xref ref-type="bibr" rid="B1">1</xref>)</td></tr>')
    problems = problems_of(minimal_article(tbody, refs))
    assert [p.code for p in problems] == ["broken-citation", "broken-citation"]
    assert "'B9'" in problems[0].message and "B2–B1" in problems[1].message


def test_unknown_symbol_and_unknown_molecule_are_reported_together():
    problems = problems_of(minimal_article("<tr><td>BDNF</td><td>↗</td><td/></tr>\n<tr><td>Unobtainium</td><td/><td>↑</td></tr>"))
    assert [(p.code, p.value) for p in problems] == [("unknown-symbol", "↗"), ("unknown-molecule", "Unobtainium")]


@pytest.mark.parametrize("span", ["x", "0", "1001", "²"])  # '²' is a digit to str.isdigit, not to int()
def test_a_span_that_is_not_a_whole_number_from_1_to_1000_is_a_problem(span: str):
    problems = problems_of(minimal_article(f'<tr><td>BDNF</td><td colspan="{span}">↑</td><td/></tr>'))
    assert [(p.code, p.value) for p in problems] == [("bad-span", span)]


def test_entity_declarations_are_refused():
    bomb = '<!DOCTYPE article [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
    problems = problems_of(minimal_article("<tr><td>BDNF</td><td>&b;</td><td/></tr>", extra=bomb))
    assert [(p.code, p.line) for p in problems] == [("unsafe-xml", 2)]


def test_malformed_xml_reports_its_line():
    data = minimal_article("<tr><td>BDNF</td><td>↑</td></tr>").replace(b"</tbody>", b"</tbodx>")
    problems = problems_of(data)
    assert problems[0].code == "malformed-xml" and problems[0].line == 5  # the <tbody> line


def test_missing_table_lists_the_labels_found():
    problems = problems_of(minimal_article("<tr><td>BDNF</td><td>↑</td></tr>").replace(b"Table 1<", b"Table 2<"))
    assert (problems[0].code, problems[0].value) == ("no-table", "Table 2")


# --- the Table-1-like fixture against the real export ---------------------------------------------

def test_table1_like_fixture_ids_equal_the_export_ids(table1_like):
    tables, _ = table1_like
    export = extract_review(RAW_EXPORT, SOURCE, VOCAB, ROOT)["findings"]
    jats = tables["findings"]
    assert [(f["finding_id"], f["molecule_label"], f["direction"], f["qualifier"]) for f in jats] == \
           [(f["finding_id"], f["molecule_label"], f["direction"], f["qualifier"]) for f in export]


def test_table1_like_fixture_locates_and_cites_every_finding(table1_like):
    tables, report = table1_like
    findings = tables["findings"]
    assert len(findings) == 93
    assert all(f["region_id"] and f["population"] and f["location_status"] == "reported" for f in findings)
    assert Counter(f["citation_status"] for f in findings) == {"cited": 89, "no_citation_in_source": 4}
    assert all(f["references"] for f in findings if f["citation_status"] == "cited")
    assert tables["sources"][0]["path"] == "tests/fixtures/jats/table1-like.xml"
    assert report["compared"] and report["disagreements"] == []


def test_planted_disagreements_are_each_listed():
    jats = parse_jats((JATS / "table1-like-disagreements.xml").read_bytes(), "d.xml", VOCAB)
    report = reconcile(read_export(RAW_EXPORT, "export", VOCAB), jats, VOCAB)
    listed = [(d["kind"], d["molecule_label"]) for d in report["disagreements"]]
    assert listed == [("different-cells", "Glutamate"), ("different-cells", "GABA"), ("different-label", "AMPAR/"),
                      ("different-cells", "BDNF mRNA"), ("missing-row", "VGF")]
    gaba = report["disagreements"][1]
    assert gaba["only_in_export"] == [{"direction": "decrease", "qualifier": "", "count": 1}]
    assert gaba["only_in_jats"] == [{"direction": "increase", "qualifier": "", "count": 1}]


def test_a_row_the_export_lacks_is_an_extra_row(tmp_path: Path):
    lines = RAW_EXPORT.read_text(encoding="utf-8").split("\n")
    export = tmp_path / "export.txt"
    export.write_text("\n".join(line for line in lines if not line.startswith("| VGF |")), encoding="utf-8")
    jats = parse_jats((JATS / "table1-like.xml").read_bytes(), "t.xml", VOCAB)
    report = reconcile(read_export(export, "export", VOCAB), jats, VOCAB)
    assert [(d["kind"], d["molecule_label"], d["export_line"]) for d in report["disagreements"]] == [
        ("extra-row", "VGF", None)]


def test_ids_survive_disagreements_where_cells_align():
    tables, _ = extract_from_jats(ROOT, source_with(JATS / "table1-like-disagreements.xml"), VOCAB)
    export = {f["finding_id"]: f for f in extract_review(RAW_EXPORT, SOURCE, VOCAB, ROOT)["findings"]}
    new = [f for f in tables["findings"] if f["finding_id"] not in export]
    # only Glutamate's planted extra cell is new; GABA's flipped cell keeps its id, VGF's is gone
    assert [(f["molecule_label"], f["direction"]) for f in new] == [("Glutamate", "decrease")]
    gaba = [f for f in tables["findings"] if f["molecule_label"] == "GABA"]
    assert [f["finding_id"] for f in gaba] == [f for f, e in export.items() if e["molecule_label"] == "GABA"]
    ampar = next(f for f in tables["findings"] if f["molecule_label"] == "AMPAR/NMDAR")
    assert ampar["molecule_id"] == export[ampar["finding_id"]]["molecule_id"] and not ampar["label_truncated"]


def test_a_fetched_file_edited_since_is_refused(tmp_path: Path):
    jats = tmp_path / "PMC1.xml"
    jats.write_bytes((JATS / "awkward.xml").read_bytes())
    (tmp_path / "PMC1.xml.sha256").write_text("0" * 64 + "  PMC1.xml\n", encoding="utf-8")
    with pytest.raises(ProblemsFound) as raised:
        extract_from_jats(tmp_path, {**SOURCE, "export": "", "jats": "PMC1.xml"}, VOCAB)
    assert raised.value.problems[0].code == "checksum-mismatch"


# --- a real PMC open-access file (tests/fixtures/jats/real/README.md) ----------------------------

REAL = JATS / "real" / "1471-2180-11-174.nxml"


def test_real_pmc_file_metadata_references_and_citation_cells_are_read():
    from pipeline.sources.jats import find_article, read_citations, reference_list
    from pipeline.sources.xml import descendants, parse_xml

    doc = parse_xml(REAL.read_bytes(), "real.nxml")  # a DOCTYPE naming an external DTD is fine
    article = find_article(doc, "real.nxml")
    references = reference_list(article, doc)
    assert len(references) == 64
    assert (references["B1"].first_author, references["B1"].year, references["B1"].pmid) == ("Avery", "2006", "16845428")
    problems: list = []
    cited = [read_citations(td, references, list(references), doc, "real.nxml", problems)
             for td in descendants(article, "td") if any(x.get("ref-type") == "bibr" for x in td.iter())]
    assert len(cited) >= 13 and problems == []
    assert {refs[0].rid for _, refs in cited} >= {"B46", "B50"}
    assert all(text == "" for text, _ in cited)  # '[46]' is all citation


def test_real_pmc_table_of_another_shape_is_refused_once_per_column():
    problems = problems_of(REAL.read_bytes())
    assert [(p.code, p.value) for p in problems] == [
        ("unexpected-header", "na"), ("unexpected-header", "MLT (min)"), ("unexpected-header", "SD (min)")]


def test_a_molecule_in_two_rows_is_a_problem_even_under_its_full_label():
    problems = problems_of(minimal_article("<tr><td>AMPAR/</td><td>↑</td><td/></tr>\n"
                                           "<tr><td>AMPAR/NMDAR</td><td/><td>↓</td></tr>"))
    assert [(p.code, p.value) for p in problems] == [("duplicate-row", "AMPAR/NMDAR")]


# --- `ketamap reconcile` ---------------------------------------------------------------------------

def reconcile_in(project: Path, params: str) -> subprocess.CompletedProcess:
    (project / "params.yaml").write_text(params, encoding="utf-8")
    shutil.copytree(ROOT / "schemas", project / "schemas", dirs_exist_ok=True)
    shutil.copy2(RAW_EXPORT, project / "export.txt")
    shutil.copy2(JATS / "table1-like.xml", project / "table1.xml")
    return subprocess.run([sys.executable, "-m", "pipeline", "reconcile"], cwd=project, env=tool_env(),
                          capture_output=True, text=True, timeout=60)


def test_reconcile_exits_0_when_the_sources_agree(tmp_path: Path):
    result = reconcile_in(tmp_path, "source:\n  export: export.txt\n  jats: table1.xml\n")
    assert result.returncode == 0, result.stderr
    assert "the sources agree" in result.stdout


@pytest.mark.parametrize("params", ["source: [\n", "source: PMC1\n", "source:\n  jats: table1.xml\n"])
def test_reconcile_with_unusable_params_is_exit_2_without_a_traceback(tmp_path: Path, params: str):
    result = reconcile_in(tmp_path, params)
    assert result.returncode == 2
    assert "error [" in result.stderr and "Traceback" not in result.stderr
