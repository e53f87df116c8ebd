"""People credited by the package: ORCID iDs (format and check digit) and contributor records.

A contributor is written `Name|ORCID|Affiliation` (ORCID and affiliation optional), the name as
Zenodo writes it, `Family, Given`. The published `sources.contributors` cell holds one such
record per contributor, `;`-separated; the release metadata reads them from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ORCID = re.compile(r"^(?:https://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 MOD 11-2, the check character ORCID iDs end with."""
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def valid_orcid(text: str) -> str | None:
    """The bare iD (0000-0002-1825-0097) of a valid ORCID, with or without https://orcid.org/, else None."""
    match = ORCID.match(text.strip())
    return match.group(1) if match and orcid_checksum_ok(match.group(1)) else None


@dataclass(frozen=True)
class Contributor:
    name: str
    orcid: str = ""
    affiliation: str = ""

    @property
    def record(self) -> str:
        """`Name|ORCID|Affiliation` as one `sources.contributors` entry."""
        return "|".join((self.name, self.orcid, self.affiliation)).rstrip("|")

    @property
    def family_given(self) -> tuple[str, str] | None:
        """(family, given) when the name is written `Family, Given`; None otherwise (never guessed)."""
        family, comma, given = self.name.partition(",")
        return (family.strip(), given.strip()) if comma and family.strip() and given.strip() else None


def parse_contributor(text: str, separator: str = "|") -> tuple[Contributor | None, str | None]:
    """A contributor from `Name|ORCID|Affiliation` (or `;`-separated, as in a file's header block),
    and what is wrong with it (None when valid)."""
    parts = [p.strip() for p in text.split(separator)]
    if len(parts) > 3:
        return None, f"write at most three parts, Name{separator}ORCID{separator}Affiliation"
    name, orcid, affiliation = (parts + ["", ""])[:3]
    if not name:
        return None, "the contributor's name is empty"
    if any(ch in name + affiliation for ch in "|;") or name.startswith(("=", "+", "-", "@")):
        return None, "a name or affiliation may not hold '|' or ';' or start with =, +, - or @"
    if orcid and valid_orcid(orcid) is None:
        return None, f"{orcid!r} is not a valid ORCID iD (0000-0000-0000-000X, with its check digit)"
    return Contributor(name, valid_orcid(orcid) or "", affiliation), None


def parse_records(cell: str | None) -> list[Contributor]:
    """The contributors of a published `sources.contributors` cell (already checked when written)."""
    out = []
    for entry in (cell or "").split(";"):
        if entry.strip():
            contributor, _ = parse_contributor(entry)
            if contributor is not None:
                out.append(contributor)
    return out
