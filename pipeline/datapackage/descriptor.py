"""package: the validated tables → the published CSVs, `datapackage.json` and the package README.

Runs only after `validate` succeeded. The data files are written first and `datapackage.json`
last, each atomically, so a reader never sees a descriptor whose hashes do not match its files.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.core.citation import review_citation
from pipeline.core.files import read_csv, sha256_bytes
from pipeline.core.vocab import RESOURCES, Vocabulary

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
TABLE_SCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
# The v1 resource profile, beside v2's `type: table`: rOpenSci frictionless (the CRAN release) reads
# only resources that say it; v2 readers and the v2 JSON Schema accept it.
TABLE_RESOURCE_PROFILE = "tabular-data-resource"
# How pipeline.core.files writes every CSV, stated so that no reader guesses (the npm `datapackage`
# library guessed a space as the delimiter of regions.csv).
CSV_DIALECT = {
    "header": True,
    "headerRows": [1],
    "delimiter": ",",
    "lineTerminator": "\n",
    "quoteChar": "\"",
    "doubleQuote": True,
    "skipInitialSpace": False,
}
LICENSE = {
    "name": "CC-BY-4.0",
    "path": "https://creativecommons.org/licenses/by/4.0/",
    "title": "Creative Commons Attribution 4.0 International",
}
RESOURCE_TITLES = {
    "findings": "Findings: one row per reported molecular change after ketamine",
    "molecules": "Molecules: every molecule row of the table and every contributed molecule",
    "regions": "Regions: the known regions, the review's 14 table columns first (review_column, review_group)",
    "sources": "Sources: the review and each accepted contribution",
}


def descriptor(params: dict, vocab: Vocabulary, files: dict[str, bytes], sources: list[dict]) -> dict:
    """The Data Package (v2) describing `files`; a pure function of its inputs."""
    release = params["release"]
    review = next(s for s in sources if s["kind"] == "review")
    resources = []
    for name in RESOURCES:
        data = files[name]
        schema = {"$schema": TABLE_SCHEMA_PROFILE, **vocab.table_schema(name)}
        resources.append({
            "name": name,
            "type": "table",
            "profile": TABLE_RESOURCE_PROFILE,
            "title": RESOURCE_TITLES[name],
            "path": f"{params['paths']['published']}/{name}.csv",
            "scheme": "file",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "hash": f"sha256:{sha256_bytes(data)}",
            "bytes": len(data),
            "dialect": dict(CSV_DIALECT),
            "schema": schema,
        })
    return {
        "$schema": PROFILE,
        "name": release["name"],
        "title": release["title"],
        "description": (
            "Molecular changes (molecule × region × direction) observed after ketamine "
            "administration, digitised from Table 1 of " + review_citation(review) + ", and "
            "extended by validated contributions. The source export lost each cell's column and "
            "every reference number: findings say so in location_status and citation_status "
            "instead of guessing."
        ),
        "version": release["version"],
        "licenses": [LICENSE],
        "keywords": [k for k in review["keywords"].split(";") if k],
        "sources": [{"title": review_citation(review), "path": f"https://doi.org/{review['doi']}"}]
        + [{"title": f"{s['kind'].capitalize()} {s['title']} ({s['source_id']}, sha256 {s['sha256']})"}
           for s in sources if s["kind"] != "review"],
        "resources": resources,
    }


def package_readme(params: dict, vocab: Vocabulary, sources: list[dict], counts: dict) -> str:
    """The package README: what the data is, how to cite it, and a data dictionary from the schemas."""
    release = params["release"]
    review = next(s for s in sources if s["kind"] == "review")
    lines = [
        f"# {release['title']}",
        "",
        f"Version {release['version']} ({release['date']}). Licence: CC BY 4.0.",
        "",
        "Molecular changes observed after ketamine administration, digitised from Table 1 of",
        f"{review_citation(review)} (PMID {review['pmid']}, {review['pmcid']}), published under CC BY 4.0.",
        "Cite that review alongside this package.",
        "",
        "## What the source does and does not say",
        "",
        "The text export this package is built from dropped every empty table cell and every",
        "superscript reference number. A cell's column (its brain region or blood compartment, and",
        "whether the finding is from animals or humans) and its references are therefore unknown",
        "unless a curator or a contributor states them. Such findings have an empty `region_id`,",
        "`population` and `references`, and say why in `location_status` and `citation_status`.",
        "",
        f"- findings: {counts['findings']} ("
        + ", ".join(f"{k} {v}" for k, v in counts["direction"].items()) + ")",
        "- location_status: " + ", ".join(f"{k} {v}" for k, v in counts["location_status"].items()),
        "- citation_status: " + ", ".join(f"{k} {v}" for k, v in counts["citation_status"].items()),
        f"- molecules: {counts['molecules']} ({counts['molecules_without_findings']} with no finding)",
        "",
        "## Files",
        "",
        "- `datapackage.json`: the Frictionless Data Package descriptor (Table Schemas, keys, sha256 and size of",
        "  every table); `frictionless validate datapackage.json` checks it all.",
        f"- `{params['paths']['published']}/*.csv`: the four tables described below (UTF-8, comma-separated, header row).",
        "- In a release bundle, also: `reports/evidence-map.html` (an interactive map of the findings, one",
        "  self-contained page), `reports/evidence-map.svg` and `.png` (the same grid as a figure),",
        "  `CHANGELOG.md`, `CITATION.cff`, `LICENSE` and `SHA256SUMS` (`sha256sum -c SHA256SUMS`).",
        "",
        "## Data dictionary",
    ]
    for name in RESOURCES:
        schema = vocab.table_schema(name)
        lines += ["", f"### {name} (`{params['paths']['published']}/{name}.csv`)", "",
                  RESOURCE_TITLES[name] + ".", ""]
        keys = schema.get("primaryKey", [])
        lines += [f"Primary key: `{', '.join(keys)}`." if keys else "", ""]
        lines += ["| field | type | required | allowed values | description |",
                  "| --- | --- | --- | --- | --- |"]
        for field in schema["fields"]:
            constraints = field.get("constraints", {})
            allowed = ", ".join(f"`{v}`" for v in constraints.get("enum", []))
            if "pattern" in constraints:
                allowed = f"pattern `{constraints['pattern']}`"
            foreign = [fk["reference"]["resource"] for fk in schema.get("foreignKeys", [])
                       if fk["fields"] == [field["name"]]]
            if foreign:
                allowed = (allowed + "; " if allowed else "") + f"→ `{foreign[0]}`"
            description = field["description"].replace("|", "\\|")
            lines.append(f"| `{field['name']}` | {field['type']} | {'yes' if constraints.get('required') else ''} "
                         f"| {allowed.replace('|', chr(92) + '|')} | {description} |")
    return "\n".join(line for line in lines) + "\n"


def build(root: Path, params: dict, vocab: Vocabulary) -> dict[Path, bytes]:
    """Every published file and its bytes; nothing written yet."""
    interim = root / params["paths"]["interim"]
    published = root / params["paths"]["published"]
    files = {name: (interim / f"{name}.csv").read_bytes() for name in RESOURCES}
    sources = read_csv(interim / "sources.csv")
    counts = json.loads((root / params["paths"]["metrics"]).read_text(encoding="utf-8"))
    package = descriptor(params, vocab, files, sources)
    outputs = {published / f"{name}.csv": data for name, data in files.items()}
    outputs[published / "README.md"] = package_readme(params, vocab, sources, counts).encode("utf-8")
    outputs[root / "datapackage.json"] = (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return outputs
