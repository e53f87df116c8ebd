"""The words of a problem: its message and the suggestion, worded once per distinct bad value.

The known near misses ('up' for increase, 'mice' for animal, 'pmid' for the reference column) are
data in `schemas/aliases.csv`, read through `pipeline.core.vocab`; the rest is the closest valid
spelling (difflib).
"""

from __future__ import annotations

import difflib
import re

from pipeline.contributions import text

from pipeline.core.vocab import Vocabulary, species_key, species_spellings_of


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
    by_label = {m["label"]: m for m in vocab.molecules}
    by_id = {m["molecule_id"]: m["label"] for m in vocab.molecules}
    near = molecule_synonyms(vocab).get(value.strip().casefold())
    fuzzy = near is None
    near = near or nearest(value, list(by_label), cutoff=0.75) or by_id.get(nearest(value, list(by_id), cutoff=0.8) or "")
    add = ("a new molecule enters as one row of schemas/molecules.csv (molecule_id, label, category, measure, …) "
           "in the same pull request")
    if near and (why := distinct_because("molecule", value, near, vocab, fuzzy=fuzzy)):
        return ("the molecule is not in schemas/molecules.csv",
                f"it is not {shown_term(near, molecule_name(by_label[near], vocab))} ({why}); "
                f"add '{value.strip()}' as one row of schemas/molecules.csv (molecule_id, label, category, measure, "
                "…) in the same pull request")
    guess = f"did you mean {shown_term(near, molecule_name(by_label[near], vocab))}? " if near else ""
    return ("the molecule is not in schemas/molecules.csv", guess + add)


def shown_term(label: str, name: str | None) -> str:
    """`'p-eEF2K' (phosphorylated eukaryotic elongation factor 2 kinase)`: a suggestion names what it suggests."""
    return f"'{label}' ({name})" if name and name.casefold() != label.casefold() else f"'{label}'"


# A label that names a part or a precursor of its gene's product: the gene's name would overstate it.
NOT_THE_PRODUCT = re.compile(r"(?i)^pro|exon|promot|gene\b| and ")
MEASURE_NAMES = {"phosphorylation": "phosphorylated {}", "mRNA": "{} mRNA", "level": "{}"}


def molecule_name(molecule: dict[str, str], vocab: Vocabulary) -> str | None:
    """A molecule's full name: its `name` where the vocabulary has one, else the HGNC name of its one gene
    (phosphorylated / mRNA as its measure says) when the label names that gene's product itself."""
    if molecule.get("name"):
        return molecule["name"]
    symbols = [s for s in molecule.get("hgnc_symbols", "").split(";") if s]
    form = MEASURE_NAMES.get(molecule.get("measure", ""))
    if len(symbols) != 1 or symbols[0] not in vocab.hgnc_names or not form or NOT_THE_PRODUCT.search(molecule["label"]):
        return f"category: {molecule['category']}" if molecule.get("category") else None
    return form.format(vocab.hgnc_names[symbols[0]])


def molecule_synonyms(vocab: Vocabulary) -> dict[str, str]:
    """Case-folded synonym → label: curated aliases (schemas/aliases.csv), then HGNC symbols and names of
    the one molecule that is a gene's product (p-SYMBOL for its phosphorylated form)."""
    synonyms: dict[str, str] = {}
    for label, spellings in near_misses(vocab, "molecule").items():
        for spelling in spellings:
            synonyms.setdefault(spelling, label)
    products: dict[tuple[str, str], list[str]] = {}
    for molecule in vocab.molecules:
        symbols = [s for s in molecule.get("hgnc_symbols", "").split(";") if s]
        if len(symbols) == 1 and molecule["measure"] in ("level", "phosphorylation"):
            products.setdefault((symbols[0], molecule["measure"]), []).append(molecule["label"])
    for (symbol, measure), labels in products.items():
        if len(labels) == 1:
            prefix = "p-" if measure == "phosphorylation" else ""
            for spelling in (symbol, vocab.hgnc_names.get(symbol, "")):
                if spelling:
                    synonyms.setdefault(f"{prefix}{spelling}".casefold(), labels[0])
    return synonyms


MICRORNA = re.compile(r"(?i)^\s*([a-z]{3}-)?mir")


def _squeezed(term: str) -> str:
    return re.sub(r"[\s\-]", "", term.casefold())


def _other_symbol(value: str, target: str) -> bool:
    """Two short symbols (8 letters or fewer) whose letters differ, not merely their order or case:
    p-Rheb is not p-CREB, though one letter apart."""
    one, other = _squeezed(value), _squeezed(target)
    return max(len(one), len(other)) <= 8 and sorted(one) != sorted(other)


def distinct_because(field: str, value: str, target: str, vocab: Vocabulary, names: tuple[str, ...] = (),
                     fuzzy: bool = False) -> str | None:
    """Why `value` must not be corrected to `target`: a pair of schemas/distinct-terms.csv (against the
    target's label or its other `names`), a protein against its kinase or its phosphorylated form, or,
    for a spelling merely close (`fuzzy`, not a synonym), other numbers (GAD65 is not GAD67)."""
    pairs = vocab.distinct_terms.get(field, {})
    folded = value.strip().casefold()
    for spelling in (target, *names):
        if why := pairs.get(f"{folded}|{spelling.casefold()}"):
            return why
    if fuzzy and re.findall(r"\d+", value) != re.findall(r"\d+", target):
        return "other numbers name another entity"
    if fuzzy and field == "molecule" and _other_symbol(value, target):
        return "a short symbol with other letters names another molecule"
    if fuzzy and MICRORNA.match(value) and _squeezed(MICRORNA.sub("mir", value)) != _squeezed(target):
        return "microRNAs whose names differ are different molecules"
    if field == "molecule":
        one, other = _squeezed(value), _squeezed(target)
        for a, b in ((one, other), (other, one)):
            if b in (a + "k", a + "kinase"):
                return "a protein and its kinase are different molecules"
            if b in ("p" + a, "phospho" + a):
                return "a protein and its phosphorylated form are measured apart"
    return None


def describe_direction(value: str, vocab: Vocabulary) -> tuple[str, str]:
    names = [row["direction"] for row in vocab.directions]
    near = nearest(value, names, near_misses(vocab, "direction"))
    allowed = "increase, decrease or no_change (or ↑ ↓ −)"
    return (f"not a direction; write {allowed}", f"write '{near}'" if near else f"write {allowed}")


def describe_population(value: str, vocab: Vocabulary | None = None) -> tuple[str, str]:
    near = nearest(value, ["animal", "human"], near_misses(vocab or Vocabulary(), "population"))
    return ("the population is animal or human", f"write '{near}'" if near else "write animal or human")


def region_choices(vocab: Vocabulary, population: str | None) -> dict[str, str]:
    """Spellings (label, id, full name, UBERON label, curated aliases) → label, for one population or all."""
    aliases = near_misses(vocab, "region")
    choices = {}
    for region in vocab.regions:
        if population in (None, region["population"]):
            for spelling in (region["label"], region["region_id"], region["name"], region.get("uberon_label") or "",
                             *aliases.get(region["label"], ())):
                if spelling:
                    choices.setdefault(spelling, region["label"])
    return choices


def describe_region(value: str, population: str | None, vocab: Vocabulary) -> tuple[str, str]:
    choices = region_choices(vocab, population)
    synonyms = {spelling.casefold(): label for spelling, label in choices.items()}
    near = synonyms.get(value.strip().casefold())
    fuzzy = near is None
    if fuzzy and (close := nearest(value, list(choices), cutoff=0.7)):
        near = choices[close]
    labels = ", ".join(dict.fromkeys(choices.values()))
    who = f"{population} " if population else ""
    names = {r["label"]: r["name"] for r in vocab.regions}
    if near and (why := distinct_because("region", value, near, vocab, (names.get(near, ""),), fuzzy)):
        return (f"not a known {who}region",
                f"it is not {shown_term(near, names.get(near))} ({why}); add '{value.strip()}' as one row of "
                f"schemas/regions.csv (see CONTRIBUTING.md); known {who}regions: {labels}")
    guess = f"did you mean {shown_term(near, names.get(near))}? " if near else ""
    return (f"not a known {who}region",
            f"{guess}known {who}regions: {labels}; a new region enters as one row of schemas/regions.csv")


def describe_region_population(value: str, population: str, vocab: Vocabulary) -> tuple[str, str]:
    others = sorted({r["population"] for r in vocab.regions
                     if value.casefold() in (r["label"].casefold(), r["region_id"].casefold())})
    labels = ", ".join(dict.fromkeys(region_choices(vocab, population).values()))
    return (f"'{value}' is a region of the {' and '.join(others)} columns, not of the {population} ones",
            f"check the population; {population} regions are {labels}")


def describe_species(species: str, population: str, vocab: Vocabulary) -> tuple[str, str]:
    known = vocab.species_by_name[vocab.species_spellings[species_key(species)]]
    same = species_key(species) == species_key(known["scientific_name"])
    written = shown_term(species.strip(), known["name"] if same else known["scientific_name"])
    if population == "human":
        return (f"the population is human but the species is {written}",
                "write species human, or population animal")
    return (f"the population is animal but the species is {written}",
            "name the animal (mouse, rat, …), or write population human")


SPECIES_ROW = "one row of schemas/species.csv (taxon_id, name, scientific_name, population, synonyms, notes)"


def describe_unknown_species(value: str, vocab: Vocabulary) -> tuple[str, str]:
    """An unknown species: the known species it is a misspelling of, with its scientific name, or how to add it."""
    message = "the species is not in schemas/species.csv"
    add = (f"another spelling of a known species is one more synonym in its row; a new species is {SPECIES_ROW}, "
           "with its NCBI Taxonomy id")
    near, spelling = nearest_species(value, vocab)
    if near:
        row = vocab.species_by_name[near]
        if why := distinct_because("species", value, near, vocab, (row["scientific_name"], spelling)):
            return (message, f"it is not {shown_term(near, row['scientific_name'])} ({why}); "
                             f"add '{value.strip()}' as {SPECIES_ROW}, with its NCBI Taxonomy id")
        return (message, f"did you mean {shown_term(near, row['scientific_name'])}? {add}")
    known = ", ".join(shown_term(row["name"], row["scientific_name"]) for row in vocab.species)
    return (message, f"known species: {known}; {add}")


def nearest_species(value: str, vocab: Vocabulary) -> tuple[str | None, str]:
    """(the known species `value` most likely misspells, the spelling it is close to), or (None, ""):
    the same letters and digits (`rat.`, `C57BL6 mice`), else a character more, fewer or two swapped
    (`mouses`, `Ratus norvegicus`; two such edits from 10 characters on), and only when that names one
    species. A changed letter is never guessed at, nor a name under 5 characters: one letter makes
    another animal (moose and mouse, bat and rat)."""
    spellings = {spelling: row["name"] for row in vocab.species for spelling in species_spellings_of(row)}
    written = species_key(value)
    squeezed = _letters(written)
    same = {name for spelling, name in spellings.items() if _letters(spelling.lower()) == squeezed}
    if len(same) == 1:
        return same.pop(), next(s for s, n in spellings.items() if _letters(s.lower()) == squeezed)
    if len(written) < 5:
        return None, ""
    reach = 2 if len(written) >= 10 else 1
    close = {(name, spelling) for spelling, name in spellings.items() if _edits(written, spelling.lower(), reach)}
    names = {name for name, _ in close}
    return (names.pop(), min(close)[1]) if len(names) == 1 else (None, "")


def _letters(text: str) -> str:
    return re.sub(r"[\W_]", "", text.casefold())


def _edits(one: str, other: str, reach: int) -> bool:
    """`one` is at most `reach` edits (insert, delete, swap two neighbours; a replaced character counts
    as two) from `other`."""
    if abs(len(one) - len(other)) > reach:
        return False
    previous, row = None, list(range(len(other) + 1))
    for i, a in enumerate(one, 1):
        current = [i]
        for j, b in enumerate(other, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + 2 * (a != b))
            if previous is not None and i > 1 and j > 1 and a == other[j - 2] and one[i - 2] == b:
                cost = min(cost, previous[j - 2] + 1)
            current.append(cost)
        previous, row = row, current
    return row[-1] <= reach


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
