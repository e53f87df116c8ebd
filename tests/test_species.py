"""Species as a vocabulary (schemas/species.csv): a contribution's species is resolved in any letter case
and spacing against each species' name, scientific name and synonyms, and published by its name with
its NCBI Taxonomy id; an unknown species is a problem whose suggestion never names another animal;
and adding a synonym is one line of the vocabulary, nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_dvc, tool_env
from pipeline.contributions.intake import contributed_findings
from pipeline.contributions.rules import check_file
from pipeline.contributions.wording import describe_unknown_species, nearest_species
from pipeline.core.catalogue import CATALOGUE
from pipeline.core.files import read_csv
from pipeline.core.vocab import Vocabulary, species_key
from pipeline.datapackage.validation import check_vocabulary
from pipeline.findings.rules import published_rules
from test_contrib_checks import check, only
from test_contrib_suggestions import OTHER_ANIMALS

VOCAB = Vocabulary()


def test_every_species_row_has_an_ncbi_taxonomy_id_and_says_where_it_was_checked():
    for row in VOCAB.species:
        assert row["taxon_id"].startswith("NCBITaxon:") and row["notes"].startswith("taxon id checked on ")
    assert {(r["name"], r["taxon_id"]) for r in VOCAB.species} >= {
        ("human", "NCBITaxon:9606"), ("mouse", "NCBITaxon:10090"), ("rat", "NCBITaxon:10116")}


def test_the_vocabulary_passes_its_table_schema():
    assert check_vocabulary(VOCAB) == []


@pytest.mark.parametrize("written", ["rat", "Rat", "RAT", " rat", "rat ", "  Rat\t", "Rattus norvegicus",
                                     "rattus  NORVEGICUS", "Wistar rat", "wistar   rats", "Sprague Dawley rat",
                                     "Sprague-Dawley rat", "Long-Evans rats", "rats"])
def test_a_species_is_published_by_its_name_whatever_its_case_spacing_or_synonym(tmp_path, written):
    checked = check(tmp_path, {"species": written})
    assert checked.valid, [(p.code, p.message) for p in checked.problems]
    assert checked.rows[0]["species"] == "rat"
    finding, = contributed_findings(checked.rows, "contrib-c", VOCAB)
    assert (finding["species"], finding["species_id"]) == ("rat", "NCBITaxon:10116")


def test_species_key_is_the_polars_spelling():
    import polars as pl

    from pipeline.findings.rules import species_spelling

    cells = [" Rat ", "Rattus\u00a0 norvegicus", "C57BL/6J\tMice", "HUMAN"]
    assert pl.Series(cells).to_frame("s").select(species_spelling(pl.col("s")))["s"].to_list() == [
        species_key(c) for c in cells]


def test_spellings_of_one_species_are_one_finding(tmp_path):
    checked = check(tmp_path, {"species": "rat"}, {"species": "Wistar rat"})
    assert [p.code for p in checked.problems] == ["duplicate-row"]


def test_the_package_already_has_a_finding_written_with_a_synonym(tmp_path):
    from test_contrib_checks import package_row

    checked = check(tmp_path, {"species": "Rattus norvegicus"}, package=[package_row(species="rat")])
    assert [p.code for p in checked.problems] == ["already-in-package"]


@pytest.mark.parametrize("written, suggested", [
    ("Wistar ratss", "'rat' (Rattus norvegicus)"), ("rat.", "'rat' (Rattus norvegicus)"),
    ("Ratus norvegicus", "'rat' (Rattus norvegicus)"), ("C57BL6 mice", "'mouse' (Mus musculus)"),
    ("mouses", "'mouse' (Mus musculus)"), ("Homo sapien", "'human' (Homo sapiens)"),
    ("Humans?", "'human' (Homo sapiens)"),
])
def test_an_unknown_species_is_a_problem_with_the_species_it_misspells(tmp_path, written, suggested):
    population = "human" if written.startswith(("Homo", "Human")) else "animal"
    problem, = only(check(tmp_path, {"species": written, "population": population,
                                     "region": "Serum"}), "unknown-species")
    assert (problem.column, problem.value, problem.severity) == ("species", written, "error")
    assert problem.message == "the species is not in schemas/species.csv"
    assert problem.suggestion.startswith(f"did you mean {suggested}?")
    assert "unknown-species" in CATALOGUE


@pytest.mark.parametrize("animal", OTHER_ANIMALS)
def test_another_animal_is_never_suggested_a_known_species(animal):
    assert nearest_species(animal, VOCAB) == (None, "")
    message, suggestion = describe_unknown_species(animal, VOCAB)
    assert "did you mean" not in suggestion
    assert "one row of schemas/species.csv" in suggestion


def test_without_a_guess_the_message_lists_the_known_species_with_their_scientific_names():
    suggestion = describe_unknown_species("monkey", VOCAB)[1]
    assert suggestion.startswith("known species: 'human' (Homo sapiens), 'mouse' (Mus musculus), "
                                 "'rat' (Rattus norvegicus); ")
    assert "one more synonym in its row" in suggestion and "NCBI Taxonomy id" in suggestion


@pytest.mark.parametrize("change", [{"species": "Homo sapiens"}, {"species": "humans"},
                                    {"species": "Wistar rat", "population": "human", "region": "Plasma"}])
def test_the_species_population_comes_from_the_species_table(tmp_path, change):
    problem, = only(check(tmp_path, change), "species-population-mismatch")
    assert problem.value == change["species"] and "(" in problem.message  # names the scientific name


def test_an_unknown_species_is_not_also_a_population_mismatch(tmp_path):
    checked = check(tmp_path, {"species": "monkey", "population": "human", "region": "Plasma"})
    assert [p.code for p in checked.problems] == ["unknown-species"]


def test_a_formula_in_the_species_is_one_problem(tmp_path):
    checked = check(tmp_path, {"species": "=HYPERLINK(\"x\")"})
    assert [p.code for p in checked.problems] == ["formula-like"]


def test_a_spelling_two_species_share_is_refused(tmp_path):
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    path = schemas / "species.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("mice|house mouse|", "mice|house mouse|Wistar  Rat|", 1), encoding="utf-8")
    problem, = check_vocabulary(Vocabulary(schemas))  # mouse's row comes first: rat's own spelling is refused
    where = (problem.code, problem.file, problem.line, problem.column)
    assert where == ("schema-violation", "schemas/species.csv", 4, "synonyms")
    assert problem.value == "Wistar rat" and "'mouse'" in problem.message


def test_the_published_rule_species_id_fits_species():
    import polars as pl

    rule = next(r for r in published_rules()["findings"] if r.name == "species_id fits species")
    frame = pl.DataFrame({"species": ["rat", None, "rat", None], "species_id": ["NCBITaxon:10116", None, None, "x"]})
    assert frame.select(rule.valid({}))["species_id"].to_list() == [True, True, False, False]


def test_the_review_findings_name_no_species_and_every_other_finding_its_taxon():
    for finding in read_csv(ROOT / "data" / "findings.csv"):
        if finding["source_id"] == "kang-2022":
            assert (finding["species"], finding["species_id"]) == ("", "")
        else:
            assert finding["species"] in VOCAB.species_by_name
            assert finding["species_id"] == VOCAB.species_by_name[finding["species"]]["taxon_id"]


SYNONYM = "Lister hooded rat"
CONTRIBUTION = ("molecule,measure,direction,population,region,species,reference,qualifier,notes\n"
                "BDNF,,increase,animal,HPC,Lister  Hooded Rat,PMID:11111111,,\n"
                "p-mTOR,,increase,animal,PFC,lister hooded rat,PMID:11111111,,\n")


def ketamap(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=project, env=tool_env(),
                          capture_output=True, text=True)


@pytest.mark.slow
def test_adding_a_species_synonym_is_one_line_of_the_vocabulary(project_copy: Path, tmp_path: Path):
    p = project_copy
    contribution = tmp_path / "lister-2026.csv"
    contribution.write_text(CONTRIBUTION, encoding="utf-8")
    refused = ketamap(p, "validate", "--format", "json", str(contribution))
    assert refused.returncode == 1 and '"unknown-species"' in refused.stdout, refused.stdout + refused.stderr

    path = p / "schemas" / "species.csv"
    rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rat = next(i for i, line in enumerate(rows) if line.startswith("NCBITaxon:10116,rat,"))
    rows[rat] = rows[rat].replace(",rats|", f",rats|{SYNONYM}|", 1)
    path.write_text("".join(rows), encoding="utf-8")
    changed = subprocess.run(["git", "diff", "--numstat"], cwd=p, check=True, capture_output=True, text=True).stdout
    assert changed.split() == ["1", "1", "schemas/species.csv"]

    added = ketamap(p, "add", str(contribution))
    assert added.returncode == 0, added.stdout + added.stderr
    result = run_dvc(p, "repro")
    assert result.returncode == 0, result.stdout + result.stderr
    mine = [f for f in read_csv(p / "data" / "findings.csv") if f["source_id"] == "contrib-lister-2026"]
    assert {(f["molecule_id"], f["species"], f["species_id"]) for f in mine} == {
        ("bdnf", "rat", "NCBITaxon:10116"), ("p-mtor", "rat", "NCBITaxon:10116")}
