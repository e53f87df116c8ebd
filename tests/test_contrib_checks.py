"""pipeline.contributions.rules: every rule for contributed findings (CONTRIBUTING.md), by line, column, value and fix."""

from __future__ import annotations

import csv
import io
import re
import shutil

import pytest

from conftest import ROOT
from pipeline.contributions.rules import ROW_KEYS, check_file, contribution_schema
from pipeline.core.files import read_csv
from pipeline.core.vocab import Vocabulary

VOCAB = Vocabulary()
COLUMNS = ["molecule", "measure", "direction", "population", "region", "species", "reference", "qualifier", "notes"]
GOOD = {"molecule": "BDNF", "measure": "", "direction": "increase", "population": "animal", "region": "HPC",
        "species": "rat", "reference": "PMID:12345678", "qualifier": "", "notes": ""}
PACKAGE = read_csv(ROOT / "data" / "findings.csv")


def write(tmp_path, rows: list[dict], columns: list[str] = COLUMNS, name: str = "c.csv"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c.strip().lower(), "") for c in columns])
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def check(tmp_path, *changes: dict, package=None, columns=COLUMNS, **options):
    return check_file(write(tmp_path, [{**GOOD, **c} for c in changes], columns), VOCAB, package, **options)


def only(checked, code):
    found = [p for p in checked.problems if p.code == code]
    assert found, f"no {code} in {[p.code for p in checked.problems]}"
    return found


def test_a_good_row_is_valid_and_normalised(tmp_path):
    checked = check(tmp_path, {})
    assert checked.valid and checked.problems == [] and checked.row_count == 1
    assert checked.rows == [{"line": 2, "molecule_id": "bdnf", "molecule_label": "BDNF", "measure": "level",
                             "direction": "increase", "population": "animal", "region_id": "animal-HPC",
                             "species": "rat", "references": "PMID:12345678", "qualifier": "", "notes": "",
                             "source_text": "increase"}]
    assert tuple(checked.rows[0]) == ROW_KEYS


@pytest.mark.parametrize("written, direction", [("↑", "increase"), ("↓", "decrease"), ("−", "no_change"),
                                                ("-", "no_change"), ("Increase", "increase"), ("NO_CHANGE", "no_change")])
def test_direction_symbols_are_normalised(tmp_path, written, direction):
    checked = check(tmp_path, {"direction": written})
    assert checked.valid and checked.rows[0]["direction"] == direction
    assert checked.rows[0]["source_text"] == written


@pytest.mark.parametrize("written, suggested", [("up-regulated", "increase"), ("up", "increase"),
                                                ("upregulated", "increase"), ("down", "decrease"),
                                                ("unchanged", "no_change"), ("increse", "increase")])
def test_direction_near_miss_suggests_the_direction(tmp_path, written, suggested):
    problem, = only(check(tmp_path, {"direction": written}), "unknown-direction")
    assert (problem.line, problem.column, problem.value) == (2, "direction", written)
    assert problem.suggestion == f"write '{suggested}'"


def test_unknown_region_suggests_nearest(tmp_path):
    problem, = only(check(tmp_path, {"region": "Hippocampus"}), "unknown-region")
    assert (problem.line, problem.column, problem.value) == (2, "region", "Hippocampus")
    assert "did you mean 'HPC' (hippocampus)?" in problem.suggestion and "schemas/regions.csv" in problem.suggestion


def test_region_by_label_in_any_case_or_by_id(tmp_path):
    checked = check(tmp_path, {"region": "hpc"}, {"region": "animal-PFC"})
    assert checked.valid and [r["region_id"] for r in checked.rows] == ["animal-HPC", "animal-PFC"]


def test_serum_is_a_region_of_both_populations(tmp_path):
    checked = check(tmp_path, {"region": "Serum"}, {"region": "Serum", "population": "human", "species": "human"})
    assert [r["region_id"] for r in checked.rows] == ["animal-Serum", "human-Serum"]


def test_region_of_the_other_population(tmp_path):
    problem, = only(check(tmp_path, {"region": "pgACC"}), "region-population-mismatch")  # human only
    assert problem.column == "region" and "human" in problem.message


@pytest.mark.parametrize("written, suggested", [("animals", "animal"), ("Humans", "human"), ("mouse", "animal")])
def test_population_is_animal_or_human(tmp_path, written, suggested):
    problem, = only(check(tmp_path, {"population": written}), "unknown-population")
    assert problem.suggestion == f"write '{suggested}'"


def test_population_in_another_case_is_normalised(tmp_path):
    assert check(tmp_path, {"population": "Animal"}).rows[0]["population"] == "animal"


@pytest.mark.parametrize("change", [{"population": "human", "region": "Plasma", "species": "mouse"},
                                    {"species": "human"}, {"species": "Homo sapiens"}])
def test_species_must_fit_population(tmp_path, change):
    problem, = only(check(tmp_path, change), "species-population-mismatch")
    assert problem.column == "species" and problem.value == change["species"]


@pytest.mark.parametrize("written, suggestion", [("12345678", "write 'PMID:12345678'"),
                                                 ("doi:10.1000/abc", "write '10.1000/abc'"),
                                                 ("https://doi.org/10.1000/abc", "write '10.1000/abc'"),
                                                 ("PMID:1, PMID:2", "write 'PMID:1;PMID:2'"),
                                                 ("PMC9082546", "give the study's PMID (PMID:<digits>) or DOI (10.…)")])
def test_reference_format_with_fixes(tmp_path, written, suggestion):
    problem, = only(check(tmp_path, {"reference": written}), "bad-reference")
    assert problem.value == written and problem.suggestion == suggestion


def test_reference_lists_and_spellings_are_normalised(tmp_path):
    checked = check(tmp_path, {"reference": "pmid: 1 ; 10.3389/fpsyt.2022.860882;"})
    assert checked.valid and checked.rows[0]["references"] == "PMID:1;10.3389/fpsyt.2022.860882"


@pytest.mark.parametrize("change, measure", [({"molecule": "p-mTOR"}, "phosphorylation"),
                                             ({"qualifier": "mRNA"}, "mRNA"),
                                             ({"measure": "mrna"}, "mRNA"),
                                             ({"molecule": "BDNF gene"}, "gene")])
def test_measure_defaults_from_the_molecule_as_extract_does(tmp_path, change, measure):
    checked = check(tmp_path, change)
    assert checked.valid and checked.rows[0]["measure"] == measure


def test_unknown_measure(tmp_path):
    problem, = only(check(tmp_path, {"measure": "phospho"}), "unknown-measure")
    assert "phosphorylation" in problem.suggestion


def test_molecule_by_id_and_unknown_molecule_says_how_to_add_it(tmp_path):
    checked = check(tmp_path, {"molecule": "gsk-3beta"}, {"molecule": "bdnf"}, {"molecule": "BDNFF"})
    assert [r["molecule_label"] for r in checked.rows] == ["GSK-3β", "BDNF"]
    problem, = only(checked, "unknown-molecule")
    assert problem.line == 4 and "'BDNF'" in problem.suggestion and "schemas/molecules.csv" in problem.suggestion


@pytest.mark.parametrize("column", ["qualifier", "notes"])
@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_like_free_text(tmp_path, column, start):
    problem, = only(check(tmp_path, {column: start + "SUM(A1:A9)"}), "formula-like")
    assert problem.column == column and start in problem.message


def test_required_cells(tmp_path):
    checked = check(tmp_path, {"species": "", "reference": " "})
    assert sorted((p.code, p.column) for p in checked.problems) == [("missing-value", "reference"),
                                                                      ("missing-value", "species")]


def test_duplicate_rows_point_to_the_first(tmp_path):
    checked = check(tmp_path, {}, {"species": "mouse"}, {"direction": "↑", "reference": "pmid:12345678"})
    problem, = only(checked, "duplicate-row")
    assert problem.line == 4 and "line 2" in problem.message
    assert [r["line"] for r in checked.rows] == [2, 3]


def test_contradiction_within_the_file(tmp_path):
    checked = check(tmp_path, {}, {"direction": "decrease"}, {"direction": "decrease", "qualifier": "Female only"})
    problem, = only(checked, "contradiction")
    assert (problem.line, problem.column) == (3, "direction")
    assert "line 2 says increase" in problem.message and "says decrease" in problem.message


def package_row(**change):
    return {**{"finding_id": "fnd-000000000001", "molecule_id": "bdnf", "measure": "level", "direction": "increase",
               "population": "animal", "region_id": "animal-HPC", "species": "rat", "qualifier": "",
               "references": "PMID:12345678", "source_row": 7, "label_truncated": False}, **change}


def test_finding_already_in_the_package(tmp_path):
    problem, = only(check(tmp_path, {}, package=[package_row()]), "already-in-package")
    assert problem.line == 2 and "fnd-000000000001" in problem.message


def test_contradiction_with_the_package(tmp_path):
    problem, = only(check(tmp_path, {"direction": "↓"}, package=[package_row()]), "contradicts-package")
    assert "fnd-000000000001 says increase" in problem.message and "says decrease" in problem.message


def test_the_published_package_has_no_located_findings_to_clash_with(tmp_path):
    assert check(tmp_path, {}, package=PACKAGE).valid


def test_a_file_with_no_findings(tmp_path):
    checked = check_file(write(tmp_path, []), VOCAB)
    assert [(p.code, p.line) for p in checked.problems] == [("no-findings", None)] and checked.row_count == 0


def test_unknown_header_suggests_the_column(tmp_path):
    columns = [c if c != "region" else "regoin" for c in COLUMNS]
    checked = check(tmp_path, {}, columns=columns)
    unknown, = only(checked, "unknown-column")
    missing, = only(checked, "missing-column")
    assert unknown.value == "regoin" and unknown.suggestion == "rename it to 'region'" and unknown.line == 1
    assert missing.column == "region" and missing.suggestion == "rename 'regoin' to 'region'"
    assert not any(p.code == "missing-value" and p.column == "region" for p in checked.problems)


def test_header_names_are_matched_in_any_case_and_order(tmp_path):
    columns = ["Reference", " Molecule", "DIRECTION", "population", "region", "species"]
    assert check(tmp_path, {}, columns=columns).valid


def test_duplicated_header_and_unnamed_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(",".join(COLUMNS + ["species", ""]) + "\n" + ",".join(GOOD.values()) + ",rat,stray\n")
    checked = check_file(path, VOCAB)
    assert sorted(p.code for p in checked.problems) == ["duplicate-column", "unnamed-column"]


def test_max_errors_caps_the_list_not_the_counts(tmp_path):
    checked = check(tmp_path, *[{"region": "Hippocampus", "reference": f"PMID:{i + 1}"} for i in range(30)], max_errors=5)
    assert len(checked.problems) == 5 and checked.counts == {"unknown-region": 30} and checked.omitted == 25
    assert [p.line for p in checked.problems] == [2, 3, 4, 5, 6]


def test_all_problems_of_a_row_are_reported_at_once(tmp_path):
    checked = check(tmp_path, {"molecule": "Foo", "direction": "up", "population": "humans", "region": "Hippocampus",
                               "reference": "123", "notes": "=1"})
    assert {p.code for p in checked.problems} == {"unknown-molecule", "unknown-direction", "unknown-population",
                                                  "unknown-region", "bad-reference", "formula-like"}
    assert checked.rows == []


def test_rules_follow_the_vocabulary_files(tmp_path):
    """One source of truth: a region added to schemas/regions.csv is accepted without code changes."""
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    with open(schemas / "regions.csv", "a", encoding="utf-8") as fh:
        fh.write("animal-LHb,LHb,lateral habenula,animal,Brain region,15,,,\n")
    path = write(tmp_path, [{**GOOD, "region": "LHb"}])
    assert not check_file(path, VOCAB).valid
    assert check_file(path, Vocabulary(schemas)).rows[0]["region_id"] == "animal-LHb"


def test_contribution_schema_carries_the_vocabularies_and_the_findings_reference_pattern():
    schema = contribution_schema(VOCAB)
    fields = {f["name"]: f for f in schema["fields"]}
    assert [f["name"] for f in schema["fields"]] == COLUMNS
    assert "p-mTOR" in fields["molecule"]["constraints"]["enum"]
    assert {"increase", "↑", "−", "-"} <= set(fields["direction"]["constraints"]["enum"])
    assert set(fields["measure"]["constraints"]["enum"]) == set(VOCAB.measures)
    # The contribution's pattern is the stricter one: every reference it accepts, the findings table accepts.
    findings = {f["name"]: f for f in VOCAB.table_schema("findings")["fields"]}
    contributed, published = (re.compile(f["constraints"]["pattern"]) for f in (fields["reference"], findings["references"]))
    for reference in ("PMID:1", "PMID:12345678;10.1038/nature17998", "10.1016/S0006-3223(02)01546-9", "10.1/x",
                      "PMID:0", "PMID:012", "10.1038/nature17998.", "10.1038/x\u200b"):
        assert not contributed.fullmatch(reference) or published.fullmatch(reference)


def test_duplicates_ignore_letter_case_of_species_and_qualifier_and_reference_order(tmp_path):
    checked = check(tmp_path, {"species": "rat", "qualifier": "Female only", "reference": "PMID:1;PMID:2"},
                    {"species": "Rat", "qualifier": "female only", "reference": "PMID:2; PMID:1"})
    assert [(p.code, p.line) for p in checked.problems] == [("duplicate-row", 3)]


def test_package_comparison_ignores_letter_case(tmp_path):
    checked = check(tmp_path, {"species": "RAT"}, package=[package_row(species="rat")])
    assert [p.code for p in checked.problems] == ["already-in-package"]


def test_problems_of_a_row_are_listed_in_the_template_s_column_order(tmp_path):
    checked = check(tmp_path, {"reference": "12345", "region": "Hippocampus", "direction": "up-regulated"})
    assert [p.column for p in checked.problems if p.line == 2] == ["direction", "region", "reference"]


def test_references_are_compared_canonically_for_duplicates(tmp_path):
    """A DOI is case-insensitive: two rows that differ only in its letter case are one finding twice."""
    checked = check(tmp_path, {"reference": "10.1038/Nature17998"}, {"reference": "10.1038/nature17998"})
    assert [(p.code, p.line) for p in checked.problems] == [("duplicate-row", 3)]


def test_a_pmid_with_leading_zeros_is_refused_with_its_canonical_spelling(tmp_path):
    checked = check(tmp_path, {"reference": "PMID:0012345678"}, {})
    problem, = only(checked, "bad-reference")
    assert problem.line == 2 and problem.suggestion == "write 'PMID:12345678'"


def test_the_reference_pattern_is_the_one_the_checks_use():
    from pipeline.contributions.text import REFERENCES

    for name, column in (("contribution", "reference"), ("curation", "references")):
        fields = {f["name"]: f for f in VOCAB.table_schema(name)["fields"]}
        assert fields[column]["constraints"]["pattern"] == REFERENCES


def test_the_same_doi_in_the_package_is_already_there_whatever_its_case(tmp_path):
    row = {"finding_id": "fnd-000000000001", "molecule_id": "bdnf", "measure": "level", "direction": "increase",
           "population": "animal", "region_id": "animal-HPC", "species": "rat", "references": "10.1038/NATURE17998",
           "qualifier": ""}
    checked = check(tmp_path, {"reference": "10.1038/nature17998"}, package=[row])
    assert [p.code for p in checked.problems] == ["already-in-package"]
