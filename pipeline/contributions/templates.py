"""`ketamap template`: an empty contribution, the header and one commented example row."""

from __future__ import annotations

from pipeline.contributions.rules import SCHEMA
from pipeline.core.vocab import Vocabulary

# Who sent the file: comment lines `# contributor: Family, Given; ORCID; affiliation` (pipeline/contributions/credit.py).
CREDIT_HELP = ("# Optional, who sent this file: one line per person, ORCID and affiliation optional; "
               "delete 'e.g. ' to use it:")
CREDIT_EXAMPLE = "# e.g. contributor: Doe, Jane; 0000-0002-1825-0097; University of Somewhere"
EXAMPLE_ROW = {"molecule": "BDNF", "measure": "", "direction": "increase", "population": "animal",
               "region": "HPC", "species": "rat", "reference": "PMID:12345678", "qualifier": "",
               "notes": "example only: replace with a finding from your study"}


def template_csv(vocab: Vocabulary | None = None) -> bytes:
    """The header and one commented example row (lines starting with # are ignored)."""
    import csv
    import io

    names = [spec["name"] for spec in (vocab or Vocabulary()).table_schema(SCHEMA)["fields"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    buffer.write(f"{CREDIT_HELP}\n{CREDIT_EXAMPLE}\n")
    buffer.write("# One finding per row, under the header. Lines starting with # are ignored. Example:\n# ")
    writer.writerow([EXAMPLE_ROW[n] for n in names])
    return buffer.getvalue().encode("utf-8")


def template_xlsx(vocab: Vocabulary | None = None) -> bytes:
    """A workbook: sheet 'findings' (the header, drop-down lists) and sheet 'example' (one row)."""
    import datetime
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    vocab = vocab or Vocabulary()
    schema = vocab.table_schema(SCHEMA)
    names = [spec["name"] for spec in schema["fields"]]
    workbook = Workbook()
    findings = workbook.active
    findings.title = "findings"
    example = workbook.create_sheet("example")
    for sheet in (findings, example):
        sheet.append(names)
        sheet.freeze_panes = "A2"
        for position, spec in enumerate(schema["fields"]):
            cell = sheet.cell(row=1, column=position + 1)
            cell.font = Font(bold=True)
            letter = cell.column_letter
            sheet.column_dimensions[letter].width = max(12, len(spec["name"]) + 4)
    example.append([EXAMPLE_ROW[n] for n in names])
    example.append([CREDIT_HELP + " (in a row of the 'findings' sheet)"])
    example.append([CREDIT_EXAMPLE])
    lists = {"direction": [r["direction"] for r in vocab.directions], "population": ["animal", "human"],
             "measure": list(vocab.measures),
             "region": list(dict.fromkeys(r["label"] for r in vocab.regions))}
    for name, allowed in lists.items():
        letter = findings.cell(row=1, column=names.index(name) + 1).column_letter
        rule = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True,
                              showErrorMessage=False)  # a help, not a lock: ↑ ↓ − are accepted too
        findings.add_data_validation(rule)
        rule.add(f"{letter}2:{letter}100000")
    fixed = datetime.datetime(2022, 1, 1)
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
