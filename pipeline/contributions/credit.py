"""Who sent a contribution: its contributors, from the file's header block or `ketamap add --contributor`.

A contribution file may open with comment lines (ignored as data), one per contributor:

    # contributor: Doe, Jane; 0000-0002-1825-0097; University of Somewhere

(name as `Family, Given`; ORCID and affiliation optional; in a workbook, the same text in the
first cell of a row). A file without them stays valid; `ketamap add FILE --contributor
"Doe, Jane|0000-0002-1825-0097|University of Somewhere"` records them in
`data/contrib/CONTRIBUTORS.csv` (file, name, orcid, affiliation) instead, so the file itself is
kept exactly as sent.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pipeline.core.people import Contributor, parse_contributor
from pipeline.core.problems import Problem

CREDITS_FILE = "CONTRIBUTORS.csv"
CREDITS_COLUMNS = ("file", "name", "orcid", "affiliation")
HEADER_LINE = re.compile(r"^#\s*contributor\s*:\s*(.*?)\s*$", re.IGNORECASE)
EXAMPLE = "# contributor: Doe, Jane; 0000-0002-1825-0097; University of Somewhere"


def _comment_lines(path: Path) -> list[tuple[int, str]]:
    """(line, text) of the lines (or workbook rows) whose first cell starts with '#'."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        from pipeline.contributions.sheets import cell_text

        try:
            workbook = load_workbook(io.BytesIO(raw), read_only=True)
        except Exception:  # an unreadable workbook is reported by the sheet reader, not here
            return []
        try:
            sheet = next((workbook[n] for n in workbook.sheetnames if n.strip().casefold() == "findings"),
                         workbook[workbook.sheetnames[0]]) if workbook.sheetnames else None
            rows = sheet.iter_rows(values_only=True, max_col=1) if sheet is not None else []
            return [(n, cell_text(r[0])) for n, r in enumerate(rows, 1) if r and cell_text(r[0]).startswith("#")]
        except Exception:
            return []
        finally:
            workbook.close()
    from pipeline.contributions.sheets import decode

    text, _, _ = decode(raw, str(path))
    lines = (text or "").splitlines()
    return [(n, line.strip().strip('"')) for n, line in enumerate(lines, 1) if line.lstrip().startswith("#")]


def file_contributors(path: Path, shown: str) -> tuple[list[Contributor], list[Problem]]:
    """The contributors a file's header block names, and a problem for each line that is wrong."""
    found, problems = [], []
    for line, text in _comment_lines(path):
        match = HEADER_LINE.match(text)
        if not match:
            continue
        fields = match.group(1).rstrip(",;\t")
        contributor, error = parse_contributor(fields, separator=";")
        if error:
            problems.append(Problem("bad-contributor", error, file=shown, line=line, value=fields,
                                    suggestion=f"write it as: {EXAMPLE}"))
        else:
            found.append(contributor)
    return found, problems


def credited(folder: Path) -> dict[str, list[Contributor]]:
    """`data/contrib/CONTRIBUTORS.csv`: file name → its contributors given at `ketamap add`."""
    path = folder / CREDITS_FILE
    if not path.is_file():
        return {}
    out: dict[str, list[Contributor]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["file"], []).append(
                Contributor(row["name"], row.get("orcid") or "", row.get("affiliation") or ""))
    return out


def contributors_of(path: Path, shown: str, folder: Path) -> tuple[list[Contributor], list[Problem]]:
    """A file's contributors: its header block, then those recorded for it at `ketamap add`."""
    found, problems = file_contributors(path, shown)
    extra = [c for c in credited(folder).get(path.name, []) if c not in found]
    return found + extra, problems


def with_credits(folder: Path, file_name: str, contributors: list[Contributor]) -> bytes:
    """CONTRIBUTORS.csv's new bytes with `contributors` of `file_name` appended (each once)."""
    path = folder / CREDITS_FILE
    rows = []
    if path.is_file():
        with open(path, encoding="utf-8", newline="") as fh:
            rows = [dict(r) for r in csv.DictReader(fh)]
    for c in contributors:
        row = {"file": file_name, "name": c.name, "orcid": c.orcid, "affiliation": c.affiliation}
        if row not in rows:
            rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CREDITS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
