"""The finding record: the published `findings` columns, built in one place for every source."""

from __future__ import annotations


def finding_record(*, finding_id: str, source_id: str, molecule_label: str, molecule: dict[str, str], measure: str,
                   direction: str, population: str, region_id: str, location_status: str, species: str,
                   qualifier: str, references: str, citation_status: str, label_truncated: bool,
                   source_row: object, source_cell: object, source_text: str, notes: str = "",
                   species_id: str = "") -> dict:
    """One finding, in the column order of schemas/findings.schema.json. `molecule` is its vocabulary row;
    `species_id` the NCBI Taxonomy id of `species` (schemas/species.csv), empty when the species is."""
    return {
        "finding_id": finding_id,
        "source_id": source_id,
        "molecule_label": molecule_label,
        "molecule_id": molecule["molecule_id"],
        "measure": measure,
        "direction": direction,
        "population": population,
        "region_id": region_id,
        "location_status": location_status,
        "species": species,
        "qualifier": qualifier,
        "notes": notes,
        "references": references,
        "citation_status": citation_status,
        "label_truncated": label_truncated,
        "source_row": source_row,
        "source_cell": source_cell,
        "source_text": source_text,
        "species_id": species_id,
    }
