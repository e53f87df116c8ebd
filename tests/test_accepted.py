"""Which files of data/contrib/ and data/curation/ the build reads, and the source ids they get."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from pipeline.contributions.intake import fold_in, input_files, source_id_for
from pipeline.core.settings import load_params
from pipeline.core.problems import ProblemsFound
from pipeline.core.files import read_csv
from pipeline.core.vocab import Vocabulary

PARAMS = load_params(ROOT)


def review_tables() -> dict[str, list[dict]]:
    return {name: read_csv(ROOT / "data" / "interim" / f"{name}.csv") for name in ("findings", "sources")}


def project(tmp_path: Path) -> Path:
    for name in ("contrib", "curation"):
        (tmp_path / PARAMS[name]["dir"]).mkdir(parents=True)
        (tmp_path / PARAMS[name]["dir"] / "README.md").write_text("not data\n")
    return tmp_path


def test_readme_and_hidden_files_are_not_data_and_files_come_in_name_order(tmp_path):
    for name in ("b.csv", "README.md", ".DS_Store", "a.xlsx", "C.tsv"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in input_files(tmp_path)] == ["C.tsv", "a.xlsx", "b.csv"]


@pytest.mark.parametrize(("name", "source_id"), [("smith-2024.csv", "contrib-smith-2024"),
                                                 ("Smith et al. 2024.xlsx", "contrib-smith-et-al-2024"),
                                                 ("___.csv", "contrib-file")])
def test_source_id_comes_from_the_file_name(name, source_id):
    assert source_id_for("contrib", Path(name)) == source_id


def test_empty_folders_leave_the_tables_as_extracted(tmp_path):
    tables = review_tables()
    assert fold_in(tables, project(tmp_path), PARAMS, Vocabulary()) == tables


def test_a_sub_folder_is_reported_not_skipped(tmp_path):
    root = project(tmp_path)
    (root / PARAMS["curation"]["dir"] / "old").mkdir()
    with pytest.raises(ProblemsFound) as found:
        fold_in(review_tables(), root, PARAMS, Vocabulary())
    assert [(p.code, p.file) for p in found.value.problems] == [("nested-folder", "data/curation/old")]


def test_curation_files_whose_names_give_the_same_source_id_are_refused(tmp_path):
    root = project(tmp_path)
    target = review_tables()["findings"][0]["finding_id"]
    for name, region in (("hpc.csv", "HPC"), ("HPC.CSV", "PFC")):
        (root / PARAMS["curation"]["dir"] / name).write_text(
            f"finding_id,region,population,curator\n{target},{region},animal,A\n")
    with pytest.raises(ProblemsFound) as found:
        fold_in(review_tables(), root, PARAMS, Vocabulary())
    assert {p.code for p in found.value.problems} == {"source-id-clash", "assigned-twice"}


def contributed(**changes: object) -> dict:
    row = {"line": 2, "molecule_id": "bdnf", "molecule_label": "BDNF", "measure": "level", "direction": "increase",
           "population": "animal", "region_id": "animal-HPC", "species": "mouse", "references": "PMID:1;PMID:2",
           "qualifier": "", "notes": "", "source_text": "increase"}
    return {**row, **changes}


def test_a_contributed_finding_id_depends_on_its_content_only():
    from pipeline.contributions.intake import contributed_findings

    def one_id(row: dict, source_id: str = "contrib-a") -> str:
        return contributed_findings([row], source_id, Vocabulary())[0]["finding_id"]

    same = {one_id(contributed()), one_id(contributed(line=9, notes="other", source_text="↑"), "contrib-b"),
            one_id(contributed(species="Mouse", references="PMID:2;PMID:1"))}
    assert len(same) == 1
    assert one_id(contributed(direction="decrease")) not in same
    assert one_id(contributed(region_id="animal-PFC")) not in same
