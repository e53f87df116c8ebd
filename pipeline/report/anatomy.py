"""The map's region columns, from the regions table: the review's grid, and the anatomy beyond it.

A finding's column is the nearest region, following `part_of` up from the finding's own region (itself
first), that is one of the review's columns (`review_column` set); so CA1 or vmPFC sits in HPC's or PFC's
column. A region whose chain meets no review column has a column of its own: its topmost region (the
end of the chain), so the sub-regions of a region outside the grid share their parent's column; such
columns stand under their population's "Other regions", after the review's. The review's columns are
always drawn; another column only when a finding sits in it.

The regions table is data: a `part_of` naming no region, a region of another population, or a chain
that leads round in a circle is a problem, reported with every other, never followed for ever.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.problems import Problem, ProblemsFound

POPULATION_HEADINGS = {"animal": "Animals", "human": "Humans"}
OTHER_REGIONS = "Other regions"
LOST = "lost"  # the key of the column for findings whose location was lost in the source
LOST_HEADING = "Location lost in source"


@dataclass(frozen=True)
class Column:
    key: str  # the region_id, or LOST
    label: str
    name: str
    population: str  # empty for the lost column
    group: str
    review: bool = False  # one of the review's columns

    @property
    def where(self) -> str:
        """The column in words, as a screen reader and the provenance panel say it."""
        if self.key == LOST:
            return "location lost in source"
        return f"{self.label} ({self.name}), {POPULATION_HEADINGS.get(self.population, self.population).lower()}"


LOST_COLUMN = Column(LOST, LOST_HEADING, LOST_HEADING, "", "")


def region_words(region: dict[str, str]) -> str:
    """'CA1 (cornu ammonis 1)': a region as the map names it."""
    return f"{region['label']} ({region['name']})"


def _review_number(region: dict[str, str], line: int, folder: str) -> int | None:
    text = region.get("review_column", "")
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise ProblemsFound([Problem("bad-column", "a region's review_column is not a whole number",
                                     file=f"{folder}/regions.csv", line=line, column="review_column", value=text)])
    return int(text)


def _chains(regions: list[dict[str, str]], folder: str) -> tuple[dict[str, list[str]], list[Problem]]:
    """Each region's chain up `part_of`, itself first; a broken link is a problem (and ends the chain)."""
    by_id = {r["region_id"]: r for r in regions}
    chains, problems = {}, []
    for line, region in enumerate(regions, 2):
        where = dict(file=f"{folder}/regions.csv", line=line, column="part_of", value=region.get("part_of", ""))
        chain, current = [region["region_id"]], region.get("part_of", "")
        while current:
            if current not in by_id:
                problems.append(Problem("unknown-region", "part_of names a region that regions.csv lacks",
                                        suggestion="write another row's region_id, or leave it empty", **where))
                break
            if current in chain:
                problems.append(Problem("region-cycle", "part_of leads round in a circle", **where))
                break
            if by_id[current]["population"] != region["population"]:
                problems.append(Problem("region-population-mismatch", "part_of names a region of another "
                                        "population", **where))
                break
            chain.append(current)
            current = by_id[current].get("part_of", "")
        chains[region["region_id"]] = chain
    return chains, problems


def column_of(regions: list[dict[str, str]], folder: str = "data") -> dict[str, str]:
    """Each region_id → the region_id of its column (see the module's docstring)."""
    numbers = {r["region_id"]: _review_number(r, line, folder) for line, r in enumerate(regions, 2)}
    chains, problems = _chains(regions, folder)
    if problems:
        raise ProblemsFound(problems)
    return {region: next((r for r in chain if numbers[r] is not None), chain[-1]) for region, chain in chains.items()}


def columns(regions: list[dict[str, str]], used: set[str], populations: tuple[str, ...],
            folder: str = "data") -> list[Column]:
    """The region columns in the map's order, then the lost column: per population, the review's columns in
    its order, then the other columns that `used` (column keys findings sit in) names, in the table's order."""
    numbers = {r["region_id"]: _review_number(r, line, folder) for line, r in enumerate(regions, 2)}
    shown = [r for r in regions if numbers[r["region_id"]] is not None or r["region_id"] in used]

    def order(item: tuple[int, dict[str, str]]) -> tuple:
        line, region = item
        population = region["population"]
        number = numbers[region["region_id"]]
        rank = populations.index(population) if population in populations else len(populations)
        return rank, population, number is None, number if number is not None else line

    ordered = [region for _, region in sorted(enumerate(shown), key=order)]
    return [Column(r["region_id"], r["label"], r["name"], r["population"],
                   (r.get("review_group") or OTHER_REGIONS) if numbers[r["region_id"]] is not None else OTHER_REGIONS,
                   numbers[r["region_id"]] is not None)
            for r in ordered] + [LOST_COLUMN]
