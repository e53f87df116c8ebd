"""Finding ids: stable, from provenance or content only (the same input gives the same id)."""

from __future__ import annotations

import hashlib


def finding_id(*provenance: object) -> str:
    """Stable id from provenance only: the same input gives the same id, order does not matter."""
    key = "\x1f".join(str(part) for part in provenance)
    return "fnd-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def content_key(row: dict) -> tuple[str, ...]:
    """What makes a contributed finding the same finding: case of species and qualifier and the
    order of references do not count."""
    references = ";".join(sorted(set(filter(None, row["references"].split(";")))))
    return (row["molecule_id"], row["measure"], row["direction"], row["population"], row["region_id"],
            row["species"].casefold(), row["qualifier"].casefold(), references)
