"""The vocabularies and Table Schemas under `schemas/`: what a valid finding is, as data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pipeline.core.files import read_csv

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
RESOURCES = ("findings", "molecules", "regions", "sources")


@dataclass(frozen=True)
class Vocabulary:
    root: Path = SCHEMAS_DIR

    def table_schema(self, resource: str) -> dict:
        return json.loads((self.root / f"{resource}.schema.json").read_text(encoding="utf-8"))

    @cached_property
    def regions(self) -> list[dict[str, str]]:
        return read_csv(self.root / "regions.csv")

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
    def human_species(self) -> frozenset[str]:
        """The spellings of the species that put a finding in the human population (case-folded)."""
        return frozenset(self.aliases.get("species", {}).get("human", ("human",)))

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
        return {int(row["column"]): row for row in self.regions}

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
