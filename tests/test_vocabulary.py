"""The vocabularies under schemas/ agree with the identifier facts copied into schemas/reference/."""

from __future__ import annotations

from conftest import ROOT
from pipeline.core.files import read_csv
from pipeline.core.vocab import Vocabulary

VOCAB = Vocabulary()
REFERENCE = ROOT / "schemas" / "reference"


def test_hgnc_symbols_are_approved_and_match_their_ids():
    hgnc = {row["symbol"]: row for row in read_csv(REFERENCE / "hgnc.csv")}
    for molecule in VOCAB.molecules:
        symbols = [s for s in molecule["hgnc_symbols"].split(";") if s]
        ids = [i for i in molecule["hgnc_ids"].split(";") if i]
        assert len(symbols) == len(ids), molecule["label"]
        for symbol, hgnc_id in zip(symbols, ids):
            assert hgnc[symbol]["hgnc_id"] == hgnc_id and hgnc[symbol]["status"] == "Approved"


def test_a_molecule_without_a_symbol_says_why():
    for molecule in VOCAB.molecules:
        if not molecule["hgnc_symbols"]:
            assert molecule["notes"], molecule["label"]


def test_uberon_ids_match_their_labels():
    uberon = {row["uberon_id"]: row["label"] for row in read_csv(REFERENCE / "uberon.csv")}
    for region in VOCAB.regions:
        if region["uberon_id"]:
            assert uberon[region["uberon_id"]] == region["uberon_label"]
        else:
            assert region["notes"], region["label"]


def test_the_review_layout_is_the_tables_fourteen_columns_with_serum_twice():
    layout = VOCAB.layout
    assert [r["region_header"] for r in layout] == ["PFC", "HPC", "AMY", "DG", "DRN", "PAG", "NAc", "VTA", "SN",
                                                    "Serum", "mPFC", "pgACC", "Serum", "Plasma"]
    assert [r["review_column"] for r in layout] == [str(n) for n in range(1, 15)]
    serum = [VOCAB.region_by_id[r["region_id"]] for r in layout if r["region_header"] == "Serum"]
    assert [(r["region_id"], r["population"]) for r in serum] == [("animal-Serum", "animal"),
                                                                  ("human-Serum", "human")]
    assert [r["group_header"] for r in layout] == ["Brain region"] * 9 + ["Blood", "Neuroimaging", "Neuroimaging",
                                                                          "Blood", "Blood"]
    assert [r["population_header"] for r in layout] == ["Animals"] * 10 + ["Humans"] * 4


def test_every_review_column_holds_a_known_region_of_its_population():
    for row in VOCAB.layout:
        region = VOCAB.region_by_id[row["region_id"]]
        assert region["population"] == {"Animals": "animal", "Humans": "human"}[row["population_header"]]
        assert region["label"] == row["region_header"]


def test_part_of_names_a_known_region_of_the_same_population():
    for region in VOCAB.regions:
        if region["part_of"]:
            parent = VOCAB.region_by_id[region["part_of"]]
            assert parent["population"] == region["population"], region["region_id"]


def test_molecule_labels_and_ids_are_unique():
    assert len({m["label"] for m in VOCAB.molecules}) == len(VOCAB.molecules)
    assert len({m["molecule_id"] for m in VOCAB.molecules}) == len(VOCAB.molecules)
