"""The curation overlay: a curator assigns region, population and references to a finding by id."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from pipeline.contributions.curation import apply_curation, check_curation
from pipeline.core.files import read_csv
from pipeline.core.vocab import Vocabulary

VOCAB = Vocabulary()
# the review's findings that no accepted curation has touched yet (whatever has been accepted since)
FINDINGS = [f for f in read_csv(ROOT / "data" / "interim" / "findings.csv")
            if f["source_id"] == "kang-2022" and "curated" not in (f["location_status"], f["citation_status"])]
FIRST, SECOND = FINDINGS[0]["finding_id"], FINDINGS[1]["finding_id"]
HEADER = "finding_id,region,population,references,curator,notes\n"


def curation_file(tmp_path: Path, name: str, *rows: str, header: str = HEADER) -> tuple[Path, str]:
    path = tmp_path / name
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path, f"data/curation/{name}"


def check(*files: tuple[Path, str], findings: list[dict] = FINDINGS):
    """(assignments, problems) of all files together."""
    results = check_curation(list(files), VOCAB, findings)
    return [a for r in results for a in r.assignments], [p for r in results for p in r.problems]


def only_problem(problems):
    assert len(problems) == 1, problems
    return problems[0]


def test_region_assignment_marks_the_finding_curated_and_keeps_id_and_provenance(tmp_path):
    assignments, problems = check(curation_file(tmp_path, "a.csv", f"{FIRST},HPC,animal,,A. Curator,Table 1 column 2"))
    assert problems == []
    curated = apply_curation(FINDINGS, assignments)
    assert curated[0] == {**FINDINGS[0], "population": "animal", "region_id": "animal-HPC",
                          "location_status": "curated"}
    assert curated[1:] == FINDINGS[1:]


def test_references_assignment_marks_only_the_citation_curated(tmp_path):
    assignments, problems = check(curation_file(tmp_path, "a.csv",
                                                f"{FIRST},,,PMID:123; 10.1000/xyz ,A. Curator,"))
    assert problems == []
    finding = apply_curation(FINDINGS, assignments)[0]
    assert finding["references"] == "PMID:123;10.1000/xyz"
    assert finding["citation_status"] == "curated"
    assert finding["location_status"] == "lost_in_source" and finding["region_id"] == ""


def test_serum_is_resolved_by_population(tmp_path):
    assignments, problems = check(curation_file(tmp_path, "a.csv", f"{FIRST},Serum,human,,A. Curator,"))
    assert problems == []
    assert assignments[0].region_id == "human-Serum"


def test_unknown_finding_id_suggests_the_nearest(tmp_path):
    typo = FIRST[:-1] + ("0" if FIRST[-1] != "0" else "1")
    problem = only_problem(check(curation_file(tmp_path, "a.csv", f"{typo},HPC,animal,,A. Curator,"))[1])
    assert (problem.code, problem.file, problem.line, problem.column, problem.value) == (
        "unknown-finding", "data/curation/a.csv", 2, "finding_id", typo)
    assert FIRST in problem.suggestion


def test_unknown_region_suggests_nearest(tmp_path):
    problem = only_problem(check(curation_file(tmp_path, "a.csv", f"{FIRST},Hippocampus,animal,,A. Curator,"))[1])
    assert (problem.code, problem.line, problem.column, problem.value) == ("unknown-region", 2, "region", "Hippocampus")
    assert "'HPC'" in problem.suggestion and "schemas/regions.csv" in problem.suggestion


def test_region_not_fitting_population_is_an_error(tmp_path):
    problem = only_problem(check(curation_file(tmp_path, "a.csv", f"{FIRST},pgACC,animal,,A. Curator,"))[1])
    assert (problem.code, problem.column, problem.value) == ("region-population-mismatch", "region", "pgACC")
    assert "human" in problem.message and "check the population" in problem.suggestion


def test_region_without_population_says_which_populations_have_it(tmp_path):
    problem = only_problem(check(curation_file(tmp_path, "a.csv", f"{FIRST},Serum,,,A. Curator,"))[1])
    assert (problem.column, problem.value) == ("population", "")
    assert "animal or human" in problem.suggestion


def test_bad_reference_suggests_the_pmid_form(tmp_path):
    problem = only_problem(check(curation_file(tmp_path, "a.csv", f"{FIRST},,,PMID 12345,A. Curator,"))[1])
    assert (problem.code, problem.column, problem.value) == ("bad-reference", "references", "PMID 12345")
    assert problem.suggestion == "write 'PMID:12345'"


def test_same_finding_assigned_twice_across_files_points_to_the_first(tmp_path):
    first = curation_file(tmp_path, "a.csv", f"{FIRST},HPC,animal,,A. Curator,")
    second = curation_file(tmp_path, "b.csv", f"{SECOND},PFC,animal,,B. Curator,", f"{FIRST},,,PMID:1,B. Curator,")
    assignments, problems = check(first, second)
    problem = only_problem(problems)
    assert (problem.code, problem.file, problem.line, problem.value) == ("assigned-twice", "data/curation/b.csv", 3, FIRST)
    assert "data/curation/a.csv:2" in problem.message
    assert [a.finding_id for a in assignments] == [FIRST, SECOND]


def test_same_finding_assigned_twice_in_one_file(tmp_path):
    problem = only_problem(check(curation_file(tmp_path, "a.csv", f"{FIRST},HPC,animal,,A,", f"{FIRST},PFC,animal,,A,"))[1])
    assert (problem.code, problem.line) == ("assigned-twice", 3)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    _, problems = check(curation_file(tmp_path, "a.csv", f"{FIRST},Hippocampus,animal,PMID 1,,=SUM(A1)",
                                      "fnd-000000000000,PFC,animal,,A,"))
    assert sorted((p.line, p.column, p.code) for p in problems) == [
        (2, "curator", "missing-value"), (2, "notes", "formula-like"), (2, "references", "bad-reference"),
        (2, "region", "unknown-region"), (3, "finding_id", "unknown-finding")]


def test_a_row_that_assigns_nothing_is_an_error(tmp_path):
    problem = only_problem(check(curation_file(tmp_path, "a.csv", f"{FIRST},,,,A. Curator,just a note"))[1])
    assert (problem.code, problem.line) == ("assigns-nothing", 2)


def test_what_the_source_states_is_not_overridden(tmp_path):
    findings = [dict(FINDINGS[0], population="animal", region_id="animal-PFC", location_status="reported",
                     references="PMID:1", citation_status="cited")]
    _, problems = check(curation_file(tmp_path, "a.csv", f"{FIRST},HPC,animal,PMID:2,A. Curator,"), findings=findings)
    assert sorted((p.code, p.column) for p in problems) == [("already-reported", "references"),
                                                             ("already-reported", "region")]


@pytest.mark.parametrize(("header", "code", "suggestion"), [
    ("finding_id,regoin,population,references,curator,notes\n", "unknown-column", "'region'"),
    ("finding_id,region,population,references,notes\n", "missing-column",
     "finding_id,region,population,references,curator,notes"),
])
def test_header_problems_name_the_fix(tmp_path, header, code, suggestion):
    _, problems = check(curation_file(tmp_path, "a.csv", f"{FIRST},HPC,animal,,A,,", header=header))
    problem = next(p for p in problems if p.code == code)
    assert problem.line == 1 and suggestion in problem.suggestion


def test_header_only_file_assigns_nothing(tmp_path):
    problem = only_problem(check(curation_file(tmp_path, "a.csv"))[1])
    assert (problem.code, problem.line) == ("no-rows", None)


def test_region_by_id_and_population_in_any_case(tmp_path):
    assignments, problems = check(curation_file(tmp_path, "a.csv", f"{FIRST},animal-hpc,Animal,,A. Curator,"))
    assert problems == []
    assert (assignments[0].population, assignments[0].region_id) == ("animal", "animal-HPC")


def test_a_population_without_region_is_an_error(tmp_path):
    _, problems = check(curation_file(tmp_path, "a.csv", f"{FIRST},,animal,PMID:1,A. Curator,"))
    assert [(p.code, p.column) for p in problems] == [("missing-value", "region")]


def test_excel_files_are_read_like_contributions(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "findings"
    sheet.append(["curator", "finding_id", "Region", "population"])
    sheet.append(["A. Curator", FIRST, "PFC", "animal"])
    book.save(tmp_path / "a.xlsx")
    assignments, problems = check((tmp_path / "a.xlsx", "data/curation/a.xlsx"))
    assert problems == []
    assert (assignments[0].line, assignments[0].region_id) == (2, "animal-PFC")


def test_semicolon_cp1252_export_is_read(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(f"finding_id;region;population;curator;notes\r\n{FIRST};HPC;animal;Jos\xe9 P\xe9rez;\r\n"
                     .encode("cp1252"))
    assignments, problems = check((path, "data/curation/a.csv"))
    assert [p.severity for p in problems] == ["warning"]  # read as cp1252, and said so
    assert assignments[0].curator == "José Pérez"


def _curation_cases():
    from hostile_values import corpus

    columns = {"region": "region", "population": "population", "reference": "references", "notes": "notes",
               "species": "curator"}
    for case in corpus():
        if case.column in columns and case.code and not (case.kind == "lookalike" and case.column == "species"):
            yield pytest.param(case, columns[case.column], id=str(case))


@pytest.mark.parametrize("case, column", list(_curation_cases()))
def test_hostile_values_in_a_curation_file_are_refused(tmp_path, case, column):
    """The hostile corpus's classes (tests/hostile_values.py) hold for curation files too."""
    import csv
    import io

    row = {"finding_id": FIRST, "region": "HPC", "population": "animal", "references": "", "curator": "A. Curator",
           "notes": ""}
    row[column] = case.value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row.values())
    _, problems = check(curation_file(tmp_path, "h.csv", buffer.getvalue().rstrip("\n")))
    assert case.code in [p.code for p in problems if p.column == column], problems
