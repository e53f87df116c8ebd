"""Contributor credit: a file's `# contributor:` lines or `ketamap add --contributor`, checked (ORCID)."""

from __future__ import annotations

import sys
import subprocess
from pathlib import Path

from openpyxl import Workbook

from conftest import tool_env
from pipeline.contributions.credit import CREDITS_FILE, credited, file_contributors, with_credits
from pipeline.core.people import Contributor, parse_contributor, parse_records

HEADER = "molecule,measure,direction,population,region,species,reference,qualifier,notes\n"
ROW = "BDNF,,increase,animal,HPC,mouse,PMID:22222222,,\n"


def test_header_block_names_each_contributor_and_checks_the_orcid(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text("# contributor: Doe, Jane; 0000-0002-1825-0097; University of Somewhere\n"
                    "# contributor: Roe, Richard\n"
                    "# contributor: Poe, Ed; 0000-0002-1825-0098\n"
                    "# a comment that names nobody\n" + HEADER + ROW, encoding="utf-8")
    found, problems = file_contributors(path, "a.csv")
    assert found == [Contributor("Doe, Jane", "0000-0002-1825-0097", "University of Somewhere"),
                     Contributor("Roe, Richard")]
    assert [(p.code, p.line) for p in problems] == [("bad-contributor", 3)]
    assert "check digit" in problems[0].message


def test_a_workbook_names_contributors_in_the_first_cell_of_a_row(tmp_path: Path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "findings"
    sheet.append(["# contributor: Doe, Jane; https://orcid.org/0000-0002-1825-0097"])
    sheet.append(HEADER.strip().split(","))
    workbook.save(tmp_path / "a.xlsx")
    found, problems = file_contributors(tmp_path / "a.xlsx", "a.xlsx")
    assert (found, problems) == ([Contributor("Doe, Jane", "0000-0002-1825-0097")], [])


def test_a_file_without_contributors_names_nobody_and_is_fine(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + ROW, encoding="utf-8")
    assert file_contributors(path, "a.csv") == ([], [])


def test_records_round_trip_and_names_split_only_when_written_family_comma_given():
    jane = Contributor("Doe, Jane", "0000-0002-1825-0097", "University of Somewhere")
    assert jane.record == "Doe, Jane|0000-0002-1825-0097|University of Somewhere"
    assert parse_records(f"{jane.record};Lab X") == [jane, Contributor("Lab X")]
    assert jane.family_given == ("Doe", "Jane") and Contributor("Jane Doe").family_given is None
    assert parse_contributor("Doe, Jane|0000-0002-1825-0098")[1] and parse_contributor("|x")[1]


def test_credits_file_appends_each_contributor_once(tmp_path: Path):
    jane = Contributor("Doe, Jane", "0000-0002-1825-0097")
    (tmp_path / CREDITS_FILE).write_bytes(with_credits(tmp_path, "a.csv", [jane]))
    (tmp_path / CREDITS_FILE).write_bytes(with_credits(tmp_path, "a.csv", [jane, Contributor("Roe, Richard")]))
    assert credited(tmp_path) == {"a.csv": [jane, Contributor("Roe, Richard")]}


def test_ketamap_add_records_the_contributor_of_a_file_that_names_none(project_copy: Path, tmp_path: Path):
    path = tmp_path / "mine.csv"
    path.write_text(HEADER + ROW, encoding="utf-8")

    def add(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipeline", "add", str(path), *extra], cwd=project_copy,
                              env=tool_env(), capture_output=True, text=True)

    bad = add("--contributor", "Doe, Jane|0000-0002-1825-0098")
    assert bad.returncode == 2 and "check digit" in bad.stderr
    assert not (project_copy / "data" / "contrib" / "mine.csv").exists()
    done = add("--contributor", "Doe, Jane|0000-0002-1825-0097|University of Somewhere")
    assert done.returncode == 0, done.stderr
    assert (project_copy / "data" / "contrib" / "mine.csv").read_bytes() == path.read_bytes()  # kept as sent
    assert credited(project_copy / "data" / "contrib") == {
        "mine.csv": [Contributor("Doe, Jane", "0000-0002-1825-0097", "University of Somewhere")]}
