"""The domain rules of a finding, written once, as polars expressions.

A Table Schema says what one cell may hold; these rules say how cells fit together: the
population fits the region, the species fits the population, the statuses fit the cells they
describe, keys point somewhere. Contributions (`pipeline.contributions.rules`), curation files
(`pipeline.contributions.curation`) and the published tables (`pipeline.datapackage.validation`)
all evaluate these same expressions; only the wording of the message differs per audience.
The vocabulary they need (regions, the species and their spellings) comes from `schemas/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

LOCATED = ("reported", "curated")
REFERENCED = ("cited", "curated")


KEYS = ("label", "region_id")


def region_spellings(regions: list[dict[str, str]], keys: tuple[str, ...] = KEYS, fold: bool = False
                     ) -> dict[str, dict[str, str]]:
    """population → {spelling: region_id}, the first region of a population keeping a spelling
    (`fold`: spellings in lower case, for cells compared without letter case)."""
    spellings: dict[str, dict[str, str]] = {}
    for region in regions:
        for key in keys:
            spelling = region[key].lower() if fold else region[key]
            spellings.setdefault(region["population"], {}).setdefault(spelling, region["region_id"])
    return spellings


def resolve_region(region, population, regions: list[dict[str, str]], keys: tuple[str, ...] = KEYS,
                   fold: bool = False):
    """The region_id the `region` spelling names for the row's `population`; null when it names none
    (`fold`: in any letter case)."""
    import polars as pl

    region = region.str.to_lowercase() if fold else region
    resolved = pl.lit(None, dtype=pl.String)
    for name, table in region_spellings(regions, keys, fold).items():
        resolved = (pl.when(population == name)
                    .then(region.replace_strict(table, default=None, return_dtype=pl.String))
                    .otherwise(resolved))
    return resolved


def region_known(region, regions: list[dict[str, str]], keys: tuple[str, ...] = KEYS, fold: bool = False):
    """The `region` spelling names a region of some population (perhaps not the row's)."""
    spellings = {s for table in region_spellings(regions, keys, fold).values() for s in table}
    return (region.str.to_lowercase() if fold else region).is_in(sorted(spellings))


def population_fits_region(region, population, regions: list[dict[str, str]], keys: tuple[str, ...] = KEYS,
                           fold: bool = False):
    """Rule: a region, where there is one, is a region of the row's population."""
    return (region.is_null() | (region == "")) | resolve_region(region, population, regions, keys, fold).is_not_null()


def species_spelling(species):
    """A species cell as spellings are compared (pipeline.core.vocab.species_key): trimmed, inner runs
    of white space as one space, lower case."""
    return species.str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()


def species_fits_population(species_population, population):
    """Rule: the species' population (schemas/species.csv: human for Homo sapiens) is the row's population."""
    return species_population == population


def species_id_fits_species(species_id, species):
    """Rule: a finding names its species' NCBI Taxonomy id exactly when it names a species."""
    return species_id.is_null() == species.is_null()


def location_status_fits(status, region_id, population):
    """Rule: located findings have a region and population; findings whose region was lost have neither."""
    located = region_id.is_not_null() & population.is_not_null()
    unlocated = region_id.is_null() & population.is_null()
    return (status.is_in(LOCATED) & located) | ((status == "lost_in_source") & unlocated)


def citation_status_fits(status, references):
    """Rule: cited (or curated) findings have references; the others have none."""
    cited = status.is_in(REFERENCED)
    return (cited & references.is_not_null()) | (~cited & references.is_null())


def key_in(column, keys, optional: bool = False):
    """Rule: a key points at a row of another table (an optional key may be empty)."""
    found = column.is_in(sorted(k for k in keys if k is not None))
    return (column.is_null() | found) if optional else found


@dataclass(frozen=True)
class Rule:
    """One rule over a published table: its name (as problems cite it), the column it blames, and its
    expression built from the other tables."""

    name: str
    column: str
    valid: Callable[[dict], object]


def published_rules() -> dict[str, list[Rule]]:
    """The rules over the published findings table, each built from the package's own tables
    (`tables`: name → list of row dicts) so a downloaded package needs no checkout."""
    import polars as pl

    col = pl.col

    def ids(tables: dict, name: str, key: str) -> set[str]:
        return {row[key] for row in tables[name]}

    return {"findings": [
        Rule("population fits region", "population",
             lambda t: population_fits_region(col("region_id"), col("population"), t["regions"], ("region_id",))),
        Rule("location_status fits region_id and population", "location_status",
             lambda t: location_status_fits(col("location_status"), col("region_id"), col("population"))),
        Rule("species_id fits species", "species_id",
             lambda t: species_id_fits_species(col("species_id"), col("species"))),
        Rule("citation_status fits references", "citation_status",
             lambda t: citation_status_fits(col("citation_status"), col("references"))),
        Rule("molecule_id in molecules", "molecule_id",
             lambda t: key_in(col("molecule_id"), ids(t, "molecules", "molecule_id"))),
        Rule("source_id in sources", "source_id", lambda t: key_in(col("source_id"), ids(t, "sources", "source_id"))),
        Rule("region_id in regions", "region_id",
             lambda t: key_in(col("region_id"), ids(t, "regions", "region_id"), optional=True)),
    ]}
