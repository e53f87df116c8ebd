"""`ketamap template`: an empty contribution (or, with --curation, curation file): the header and one
commented example row.

Both formats hold one sheet and put the example on a line starting with '#', which the reader
ignores, so the template validates as written (no finding yet, and no warning) and a copy with
rows under the header validates as those rows.
"""

from __future__ import annotations

from pipeline.contributions.rules import SCHEMA
from pipeline.core.vocab import Vocabulary

CURATION_SCHEMA = "curation"
HELP = "One {what} per row, under the header. Lines starting with # are ignored. Example:"
EXAMPLES = {
    SCHEMA: {"molecule": "BDNF", "measure": "", "direction": "increase", "population": "animal", "region": "HPC",
             "species": "rat", "reference": "PMID:12345678", "qualifier": "",
             "notes": "example only: replace with a finding from your study"},
    CURATION_SCHEMA: {"finding_id": "fnd-0123456789ab", "region": "HPC", "population": "animal",
                      "references": "PMID:12345678", "curator": "your name or ORCID",
                      "notes": "example only: where in the article the assignment comes from"},
}
WHAT = {SCHEMA: "finding", CURATION_SCHEMA: "curated finding"}
EXAMPLE_ROW = EXAMPLES[SCHEMA]
# Who sent the file: comment lines `# contributor: Family, Given; ORCID; affiliation` (pipeline/contributions/credit.py).
CREDIT_HELP = ("# Optional, who sent this file: one line per person, ORCID and affiliation optional; "
               "delete 'e.g. ' to use it:")
CREDIT_EXAMPLE = "# e.g. contributor: Doe, Jane; 0000-0002-1825-0097; University of Somewhere"
CREDIT_LINES = {SCHEMA: [CREDIT_HELP, CREDIT_EXAMPLE], CURATION_SCHEMA: []}


def _layout(vocab: Vocabulary, schema: str) -> tuple[list[str], list[str]]:
    """The header and the example's cells, the first one commented."""
    names = [spec["name"] for spec in vocab.table_schema(schema)["fields"]]
    example = [EXAMPLES[schema].get(name, "") for name in names]
    return names, ["# " + example[0], *example[1:]]


def template_csv(vocab: Vocabulary | None = None, schema: str = SCHEMA) -> bytes:
    """The header and one commented example row (lines starting with # are ignored)."""
    import csv
    import io

    names, example = _layout(vocab or Vocabulary(), schema)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for line in CREDIT_LINES[schema]:
        buffer.write(line + "\n")
    buffer.write("# " + HELP.format(what=WHAT[schema]) + "\n")
    writer.writerow(example)
    return buffer.getvalue().encode("utf-8")


def template_xlsx(vocab: Vocabulary | None = None, schema: str = SCHEMA) -> bytes:
    """A workbook of one sheet ('findings' or 'curation'): the header, drop-down lists, and the
    commented help and example rows."""
    import datetime
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    vocab = vocab or Vocabulary()
    names, example = _layout(vocab, schema)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "findings" if schema == SCHEMA else "curation"
    sheet.append(names)
    sheet.append(["# " + HELP.format(what=WHAT[schema])])
    sheet.append(example)
    sheet.freeze_panes = "A2"
    for position, name in enumerate(names):
        cell = sheet.cell(row=1, column=position + 1)
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(12, len(name) + 4)
    for line in CREDIT_LINES[schema]:
        sheet.append([line])
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=1).font = Font(italic=True, color="808080")
    _drop_downs(sheet, names, vocab)
    fixed = datetime.datetime(2022, 1, 1)
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _drop_downs(sheet, names: list[str], vocab: Vocabulary) -> None:
    """Lists of the allowed values under the header: a help, not a lock (↑ ↓ − are accepted too)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    lists = {"direction": [r["direction"] for r in vocab.directions], "population": ["animal", "human"],
             "measure": list(vocab.measures), "region": list(dict.fromkeys(r["label"] for r in vocab.regions))}
    for name, allowed in lists.items():
        if name not in names:
            continue
        letter = sheet.cell(row=1, column=names.index(name) + 1).column_letter
        rule = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True,
                              showErrorMessage=False)
        sheet.add_data_validation(rule)
        rule.add(f"{letter}2:{letter}100000")
