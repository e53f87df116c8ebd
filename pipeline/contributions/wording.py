"""The words of a problem: its message and the suggestion, worded once per distinct bad value.

The known near misses ('up' for increase, 'mice' for animal, 'pmid' for the reference column) are
data in `schemas/aliases.csv`, read through `pipeline.core.vocab`; the rest is the closest valid
spelling (difflib).
"""

from __future__ import annotations

import difflib
import re

from pipeline.contributions import text

from pipeline.core.vocab import Vocabulary


def nearest(value: str, choices, near: dict[str, tuple[str, ...]] | None = None, cutoff: float = 0.6) -> str | None:
    """A known spelling for `value`: a listed near miss, the same word in another case, or the closest."""
    folded = value.strip().casefold()
    for target, misses in (near or {}).items():
        if folded in misses and target in choices:
            return target
    by_fold = {c.casefold(): c for c in choices}
    if folded in by_fold:
        return by_fold[folded]
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=cutoff)
    return by_fold[close[0]] if close else None


def near_misses(vocab: Vocabulary, field: str) -> dict[str, tuple[str, ...]]:
    """schemas/aliases.csv's near misses of one field (`column` for the header's column names)."""
    return vocab.aliases.get(field, {})


def hint(name: str, vocab: Vocabulary) -> str:
    hints = {
        "molecule": "write a label from schemas/molecules.csv, for example BDNF",
        "direction": "write increase, decrease or no_change",
        "population": "write animal or human",
        "region": "write a region label such as " + ", ".join(dict.fromkeys(r["label"] for r in vocab.regions)),
        "species": "write the species studied, for example mouse, rat or human",
        "reference": "write PMID:<digits> or a DOI starting with 10.",
    }
    return hints.get(name, f"fill in the {name}")


def describe_molecule(value: str, vocab: Vocabulary) -> tuple[str, str]:
    labels = [m["label"] for m in vocab.molecules]
    near = nearest(value, labels, cutoff=0.75) or nearest(value, [m["molecule_id"] for m in vocab.molecules], cutoff=0.8)
    guess = f"did you mean '{near}'? " if near else ""
    return ("the molecule is not in schemas/molecules.csv",
            guess + "a new molecule enters by adding a row (molecule_id, label, category, measure, …) to "
            "schemas/molecules.csv in the same pull request")


def describe_direction(value: str, vocab: Vocabulary) -> tuple[str, str]:
    names = [row["direction"] for row in vocab.directions]
    near = nearest(value, names, near_misses(vocab, "direction"))
    allowed = "increase, decrease or no_change (or ↑ ↓ −)"
    return (f"not a direction; write {allowed}", f"write '{near}'" if near else f"write {allowed}")


def describe_population(value: str, vocab: Vocabulary | None = None) -> tuple[str, str]:
    near = nearest(value, ["animal", "human"], near_misses(vocab or Vocabulary(), "population"))
    return ("the population is animal or human", f"write '{near}'" if near else "write animal or human")


def region_choices(vocab: Vocabulary, population: str | None) -> dict[str, str]:
    """Spellings (label, id, full name) → label, for one population or all."""
    choices = {}
    for region in vocab.regions:
        if population in (None, region["population"]):
            for spelling in (region["label"], region["region_id"], region["name"]):
                choices.setdefault(spelling, region["label"])
    return choices


def describe_region(value: str, population: str | None, vocab: Vocabulary) -> tuple[str, str]:
    choices = region_choices(vocab, population)
    near = nearest(value, list(choices), cutoff=0.7)
    labels = ", ".join(dict.fromkeys(choices.values()))
    who = f"{population} " if population else ""
    guess = f"did you mean '{choices[near]}'? " if near else ""
    return (f"not a known {who}region",
            f"{guess}known {who}regions: {labels}; a new region enters by an edit to schemas/regions.csv")


def describe_region_population(value: str, population: str, vocab: Vocabulary) -> tuple[str, str]:
    others = sorted({r["population"] for r in vocab.regions
                     if value.casefold() in (r["label"].casefold(), r["region_id"].casefold())})
    labels = ", ".join(dict.fromkeys(region_choices(vocab, population).values()))
    return (f"'{value}' is a region of the {' and '.join(others)} columns, not of the {population} ones",
            f"check the population; {population} regions are {labels}")


def describe_species(species: str, population: str) -> tuple[str, str]:
    if population == "human":
        return (f"the population is human but the species is '{species}'",
                "write species human, or population animal")
    return (f"the population is animal but the species is '{species}'",
            "name the animal (mouse, rat, …), or write population human")


def describe_measure(value: str, vocab: Vocabulary) -> tuple[str, str]:
    near = nearest(value, list(vocab.measures), near_misses(vocab, "measure"))
    allowed = ", ".join(vocab.measures)
    return (f"not a measure of schemas/measures.csv ({allowed})",
            f"write '{near}', or leave it empty for the molecule's own measure" if near
            else "leave it empty for the molecule's own measure")


def describe_reference(value: str) -> tuple[str, str]:
    items = [item.strip() for item in re.split(r"[;,]", value) if item.strip()]
    if any(re.fullmatch(r"(?i)pmc\d+", item) for item in items):
        return ("a PMCID is not a reference here", "give the study's PMID (PMID:<digits>) or DOI (10.…)")
    if any(re.fullmatch(r"(?i)(pmid\W*)?0+", item) for item in items):
        return ("PMID:0 is not a PubMed id (a PMID is a positive number)", "write the study's PMID or DOI")
    fixed = [text.canonical_reference(item) for item in items]
    if all(fixed) and (fixed != items or "," in value):
        return ("the reference is not PMID:<digits> or a DOI (10.…)", f"write '{';'.join(fixed)}'")
    return ("the reference is not PMID:<digits> or a DOI (10.…)",
            "write PMID:<digits> or a DOI starting with 10.; separate several with ';'")
