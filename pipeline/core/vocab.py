"""The vocabularies and Table Schemas under `schemas/`: what a valid finding is, as data."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipeline.core.files import read_input
from pipeline.core.problems import Problem, ProblemsFound

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
RESOURCES = ("findings", "molecules", "regions", "sources")
MAX_BYTES = 64 << 20
FIX = "restore the file (git checkout -- schemas/) or repair what the message names"


def _damaged(path: Path, why: str, line: int | None = None) -> ProblemsFound:
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (OSError, ValueError):
        shown = str(path)
    return ProblemsFound([Problem("unreadable-file", f"this file of schemas/ is damaged: {why}", file=shown,
                                  line=line, suggestion=FIX)])


class _Row(dict):
    """A vocabulary row; a column the code asks for and the file lacks is a problem naming both."""

    path: Path

    def __missing__(self, column: str):
        raise _damaged(self.path, f"it has no column '{column}'")


def read_csv(path: Path) -> list[dict[str, str]]:
    """A table of schemas/, read strictly (stat first, bounded): text that is not UTF-8, a NUL, an
    unclosed quote, a row wider or narrower than the header or a missing column is a problem naming
    the file (exit 2), never a silently empty vocabulary or a KeyError."""
    try:
        text = read_input(path, MAX_BYTES, str(path)).decode("utf-8")
    except UnicodeDecodeError as error:
        raise _damaged(path, f"it is not UTF-8 text (byte {error.start})") from None
    if "\x00" in text:
        raise _damaged(path, "it holds a NUL byte", text[:text.index("\x00")].count("\n") + 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row_type = type("Row", (_Row,), {"path": path})
    rows, header = [], None
    try:
        for cells in reader:
            if not cells:
                continue
            if header is None:
                header = cells
            elif len(cells) != len(header):
                raise _damaged(path, f"a row has {len(cells)} cells, the header {len(header)}", reader.line_num)
            else:
                rows.append(row_type(zip(header, cells)))
    except csv.Error as error:
        raise _damaged(path, f"it is not a readable CSV table ({error})", reader.line_num) from None
    if header is None:
        raise _damaged(path, "it has no header")
    return rows


@dataclass(frozen=True)
class Vocabulary:
    root: Path = SCHEMAS_DIR

    def table_schema(self, resource: str) -> dict:
        path = self.root / f"{resource}.schema.json"
        try:
            schema = json.loads(read_input(path, MAX_BYTES, str(path)).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            why = "it nests too deeply" if isinstance(error, RecursionError) else f"it is not JSON ({error})"
            raise _damaged(path, why) from None
        if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
            raise _damaged(path, "it is not a Table Schema (an object with a list of fields)")
        return schema

    @cached_property
    def regions(self) -> list[dict[str, str]]:
        return read_csv(self.root / "regions.csv")

    @cached_property
    def layout(self) -> list[dict[str, str]]:
        """The review's Table 1 layout: its finding columns in order, each with its three header
        cells (population › group › region) and the known region it holds (schemas/review-layout.csv,
        in column order; check_vocabulary holds the order and the region ids)."""
        return read_csv(self.root / "review-layout.csv")

    @cached_property
    def molecules(self) -> list[dict[str, str]]:
        return read_csv(self.root / "molecules.csv")

    @cached_property
    def directions(self) -> list[dict[str, str]]:
        return read_csv(self.root / "directions.csv")

    @cached_property
    def measures(self) -> list[str]:
        return [row["measure"] for row in read_csv(self.root / "measures.csv")]

    @cached_property
    def aliases(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """schemas/aliases.csv: field → {term: the other spellings people write for it}, case-folded."""
        table: dict[str, dict[str, list[str]]] = {}
        for row in read_csv(self.root / "aliases.csv"):
            table.setdefault(row["field"], {}).setdefault(row["term"], []).append(row["alias"].casefold())
        return {name: {term: tuple(spellings) for term, spellings in terms.items()} for name, terms in table.items()}

    @cached_property
    def species(self) -> list[dict[str, str]]:
        """schemas/species.csv: the known species (NCBI Taxonomy id, published name, scientific name,
        population, `|`-separated synonyms)."""
        return read_csv(self.root / "species.csv")

    @cached_property
    def species_by_name(self) -> dict[str, dict[str, str]]:
        return {row["name"]: row for row in self.species}

    def species_id(self, species: str) -> str:
        """The NCBI Taxonomy id of the species a spelling names, or "" (an empty or unknown species)."""
        name = self.species_spellings.get(species_key(species))
        return self.species_by_name[name]["taxon_id"] if name else ""

    @cached_property
    def species_spellings(self) -> dict[str, str]:
        """Every spelling of a known species (its name, scientific name and synonyms), as `species_key`
        writes it → the species' name; the first row keeps a spelling (check_vocabulary refuses a
        spelling two species share)."""
        spellings: dict[str, str] = {}
        for row in self.species:
            for spelling in species_spellings_of(row):
                spellings.setdefault(species_key(spelling), row["name"])
        return spellings

    @cached_property
    def distinct_terms(self) -> dict[str, dict[str, str]]:
        """schemas/distinct-terms.csv: field → {"term|other" (case-folded, both orders): why they differ}."""
        table: dict[str, dict[str, str]] = {}
        for row in read_csv(self.root / "distinct-terms.csv"):
            pairs = table.setdefault(row["field"], {})
            for one, other in ((row["term"], row["other"]), (row["other"], row["term"])):
                pairs[f"{one.casefold()}|{other.casefold()}"] = row["why"]
        return table

    @cached_property
    def hgnc_names(self) -> dict[str, str]:
        """HGNC symbol → approved name (schemas/reference/hgnc.csv)."""
        path = self.root / "reference" / "hgnc.csv"
        return {row["symbol"]: row["name"] for row in read_csv(path)} if path.is_file() else {}

    @cached_property
    def direction_by_symbol(self) -> dict[str, str]:
        return {row["symbol"]: row["direction"] for row in self.directions}

    @cached_property
    def molecule_by_label(self) -> dict[str, dict[str, str]]:
        return {row["label"]: row for row in self.molecules}

    @cached_property
    def molecule_by_id(self) -> dict[str, dict[str, str]]:
        return {row["molecule_id"]: row for row in self.molecules}

    @cached_property
    def region_by_column(self) -> dict[int, dict[str, str]]:
        """The review's 1-based finding column → the known region it holds."""
        return {n: self.region_by_id[row["region_id"]] for n, row in enumerate(self.layout, 1)
                if row["region_id"] in self.region_by_id}

    def layout_region(self, population_header: str, group_header: str, region_header: str) -> dict[str, str] | None:
        """The known region under a column's header path as the review prints it, or None."""
        for row in self.layout:
            if (row["population_header"], row["group_header"], row["region_header"]) == (
                    population_header, group_header, region_header):
                return self.region_by_id.get(row["region_id"])
        return None

    @cached_property
    def published_regions(self) -> list[dict[str, str]]:
        """The published `regions` table: every known region, the review's columns first in their
        order, each with its place in the review's layout (`review_column`, `review_group`) or empty."""
        placed = {row["region_id"]: row for row in self.layout}
        order = {row["region_id"]: n for n, row in enumerate(self.layout)}
        rows = sorted(self.regions, key=lambda r: order.get(r["region_id"], len(order) + 1))
        return [{**row, "review_column": placed.get(row["region_id"], {}).get("review_column", ""),
                 "review_group": placed.get(row["region_id"], {}).get("group_header", "")} for row in rows]

    @cached_property
    def region_by_id(self) -> dict[str, dict[str, str]]:
        return {row["region_id"]: row for row in self.regions}

    def region_for(self, population: str, label: str) -> dict[str, str] | None:
        for row in self.regions:
            if row["population"] == population and row["label"] == label:
                return row
        return None

    def field_names(self, resource: str) -> list[str]:
        return [f["name"] for f in self.table_schema(resource)["fields"]]


def species_spellings_of(row: dict[str, str]) -> list[str]:
    """One species row's spellings: name, scientific name, then its synonyms (as written)."""
    synonyms = [s.strip() for s in row.get("synonyms", "").split("|") if s.strip()]
    return [row["name"], row["scientific_name"], *synonyms]


def species_key(text: str) -> str:
    """A species as spellings are compared: trimmed, inner runs of white space as one space, lower case
    (pipeline.findings.rules.species_spelling is the same in polars)."""
    return " ".join(text.split()).lower()
