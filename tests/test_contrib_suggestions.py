"""Suggestions that never change the science: a suggestion names what it suggests, comes first from
the vocabularies' synonyms, and is never offered between two entities known to be distinct
(schemas/distinct-terms.csv); then the message says how to add the new term."""

from __future__ import annotations

import csv
import re

import pytest

from conftest import ROOT
from hostile_values import GOOD, corpus
from pipeline.contributions.rules import check_file
from pipeline.contributions.wording import (describe_molecule, describe_region, describe_unknown_species,
                                            distinct_because)
from pipeline.core.files import read_csv
from pipeline.core.vocab import Vocabulary, species_key, species_spellings_of

VOCAB = Vocabulary()
DISTINCT = read_csv(ROOT / "schemas" / "distinct-terms.csv")
SUGGESTED = re.compile(r"did you mean '([^']+)'")


def _variants(label: str) -> set[str]:
    """Spellings near a label: letter case, hyphens, a 'p-' added or taken, a kinase 'K', other numbers."""
    bare = label[2:] if label.startswith("p-") else label
    numbers = re.sub(r"\d+", lambda m: str(int(m[0]) + 1), label)
    return {label.lower(), label.upper(), label.replace("-", ""), label.replace("-", " "), f"p-{bare}", bare,
            f"{label}K", label[:-1] if label.endswith("K") else label, numbers, f"{label}s"}


def _terms() -> list[tuple[str, str]]:
    """(column, value): the distinct table's terms, near spellings of every vocabulary term, the hostile corpus."""
    terms = [(row["field"], row["term"]) for row in DISTINCT]
    terms += [("molecule", v) for m in VOCAB.molecules for v in _variants(m["label"])]
    terms += [("region", v) for r in VOCAB.regions for v in _variants(r["label"]) | _variants(r["name"])]
    terms += [(case.column, case.value) for case in corpus() if case.column in ("molecule", "region", "species")]
    terms += [("species", v) for row in VOCAB.species for spelling in species_spellings_of(row)
              for v in _variants(spelling)]
    terms += [("species", animal) for animal in OTHER_ANIMALS]
    return list(dict.fromkeys(terms))


# Other animals, some one letter or one word from a known spelling: none is any known species.
OTHER_ANIMALS = ["monkey", "rhesus monkey", "macaque", "marmoset", "hamster", "gerbil", "guinea pig", "rabbit",
                 "cat", "bat", "brown bat", "brown bats", "dog", "pig", "sheep", "zebrafish", "moose", "louse", "vole",
                 "mole", "black rat", "Rattus rattus", "cotton rat", "mole rat", "Mus spretus", "deer mouse",
                 "wood mouse", "spiny mouse", "mouse lemur", "hyman", "primate", "rodent"]


def _species_of(value: str) -> str | None:
    """The known species a spelling variant comes from (every variant of a spelling keeps its species)."""
    for row in VOCAB.species:
        for spelling in species_spellings_of(row):
            if species_key(value) in {species_key(v) for v in _variants(spelling)}:
                return row["name"]
    return None


@pytest.fixture(scope="module")
def suggestions(tmp_path_factory) -> list[tuple[str, str, str]]:
    """(column, value, suggested label) for every suggestion the checks make on the terms."""
    path = tmp_path_factory.mktemp("suggest") / "terms.csv"
    terms = _terms()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(list(GOOD))
        for column, value in terms:
            writer.writerow([{**GOOD, column: value}[c] for c in GOOD])
    found = []
    for problem in check_file(path, VOCAB).problems:
        for suggested in SUGGESTED.findall(problem.suggestion or ""):
            found.append((problem.column, problem.value, suggested))
    assert len(found) > 50  # the corpus does exercise the suggestions
    return found


def test_no_suggestion_maps_a_term_to_a_distinct_entity(suggestions):
    pairs = {(row["field"], row["term"].casefold(), row["other"].casefold()) for row in DISTINCT}
    pairs |= {(f, b, a) for f, a, b in pairs}
    names = {r["label"].casefold(): r["name"].casefold() for r in VOCAB.regions}
    wrong = [(c, v, s) for c, v, s in suggestions
             if (c, v.strip().casefold(), s.casefold()) in pairs
             or (c, v.strip().casefold(), names.get(s.casefold(), "")) in pairs
             or (c == "molecule" and distinct_because("molecule", v, s, VOCAB))
             or (c == "species" and _species_of(v) != s)]
    assert wrong == []
    assert ("molecule", "p-Rheb", "p-CREB") not in suggestions  # Rheb is a GTPase, CREB a transcription factor


@pytest.mark.parametrize("row", DISTINCT, ids=lambda r: f"{r['term']}≠{r['other']}")
def test_a_distinct_pair_is_never_suggested_and_the_message_says_how_to_add_the_term(row):
    if row["field"] == "molecule":
        message, suggestion = describe_molecule(row["term"], VOCAB)
        where = "schemas/molecules.csv"
    elif row["field"] == "species":
        message, suggestion = describe_unknown_species(row["term"], VOCAB)
        where = "schemas/species.csv"
    else:
        message, suggestion = describe_region(row["term"], None, VOCAB)
        where = "schemas/regions.csv"
    assert f"did you mean '{row['other']}'" not in suggestion
    assert f"one row of {where}" in suggestion


@pytest.mark.parametrize("written, suggested", [
    ("p-eef2k", "'p-eEF2K' (phosphorylated eukaryotic elongation factor 2 kinase)"),
    ("EEF2K", "'eEF2K' (eukaryotic elongation factor 2 kinase)"),
    ("NR2B", "'NMDA GluN2B' (glutamate ionotropic receptor NMDA type subunit 2B)"),
    ("Zif268", "'Egr-1' (early growth response 1)"),
    ("mtor", "'mTOR' (mechanistic target of rapamycin)"),
])
def test_a_molecule_suggestion_names_what_it_suggests_synonyms_first(written, suggested):
    assert describe_molecule(written, VOCAB)[1].startswith(f"did you mean {suggested}?")


@pytest.mark.parametrize("written, population, suggested", [
    ("hippocampal formation", "animal", "'HPC' (hippocampus)"),  # UBERON's label
    ("dorsal raphe", "animal", "'DRN' (dorsal raphe nucleus)"),  # a curated alias
    ("Serun", "human", "'Serum' (blood serum)"),
])
def test_a_region_suggestion_names_what_it_suggests(written, population, suggested):
    assert describe_region(written, population, VOCAB)[1].startswith(f"did you mean {suggested}?")


@pytest.mark.parametrize("written, not_this", [("eEF2", "eEF2K"), ("p-eEF2", "p-eEF2K"), ("4E-BP", "p4E-BP"),
                                               ("miR-9-3p", "miR-29b-3p"), ("GAD65", "GAD67"), ("p-Egr-1", "Egr-1"),
                                               ("p-Rheb", "p-CREB")])
def test_a_protein_is_never_corrected_to_its_kinase_form_or_another_number(written, not_this):
    assert written not in VOCAB.molecule_by_label  # a term the vocabulary lacks (p-Akt entered with data)
    suggestion = describe_molecule(written, VOCAB)[1]
    assert suggestion.startswith(f"it is not '{not_this}'") and "one row of schemas/molecules.csv" in suggestion


def test_frontal_cortex_is_not_prefrontal():
    suggestion = describe_region("frontal cortex", "animal", VOCAB)[1]
    assert suggestion.startswith("it is not 'PFC' (prefrontal cortex)") and "schemas/regions.csv" in suggestion


@pytest.mark.parametrize("written, other", [("p-Rhec", "p-CREB"), ("GRM6", "GRM4"), ("CREM", "CREB")])
def test_a_short_symbol_one_letter_from_another_is_another_molecule(written, other):
    """Not only the listed pairs: a short symbol with other letters names another gene (CREM is not CREB)."""
    assert f"did you mean '{other}'" not in describe_molecule(written, VOCAB)[1]


@pytest.mark.parametrize("written, suggested", [("Wistar ratss", "'rat' (Rattus norvegicus)"),
                                                ("C57BL6 mice", "'mouse' (Mus musculus)"),
                                                ("Homo sapien", "'human' (Homo sapiens)")])
def test_a_species_suggestion_names_its_scientific_name(written, suggested):
    assert describe_unknown_species(written, VOCAB)[1].startswith(f"did you mean {suggested}?")
