"""The evidence map as one self-contained page: HTML, with page.css and page.js inlined.

No network (a Content-Security-Policy of default-src 'none', the style and script allowed by hash),
works from file://; the filters and the provenance dialog run on the data block the page embeds.
The same grid gives the same text.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib.resources import files

from pipeline.core.citation import review_citation, short_citation
from pipeline.report.grid import (AGREEMENTS, BY_REGION, DIRECTIONS, LOCATION_LOST, LOST, LOST_HEADING, MIXED, MIXED_IN,
                                  POPULATION_HEADINGS, POPULATIONS, SYMBOLS, WORDS, Column, EvidenceMap, Row,
                                  header_runs, lost_count, mark_label, origin, slug, summary, version_words,
                                  within)

PAGE_CSS = files("pipeline.report").joinpath("page.css").read_text(encoding="utf-8")
PAGE_SCRIPT = files("pipeline.report").joinpath("page.js").read_text(encoding="utf-8")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _source_label(source: dict[str, str]) -> str:
    if source.get("kind") == "review" and source.get("authors"):
        families = [name.split()[-1] for name in source["authors"].split(";") if name.strip()]
        lead = f"{families[0]} et al." if len(families) > 2 else " & ".join(families)
        return f"{lead} {source.get('year', '')}, Table 1".strip()
    return source.get("title") or source["source_id"]


# The columns of a finding the provenance dialog shows, in the order `fields` lists them in the data block.
FIELDS = ("finding_id", "source_id", "molecule_id", "molecule_label", "measure", "direction", "population",
          "region_id", "location_status", "species", "qualifier", "notes", "references", "citation_status",
          "label_truncated", "source_row", "source_cell", "source_text")


# The words of agreement the script uses after filtering (grid.agreement says how they are chosen).
AGREEMENT_WORDS = {"all": AGREEMENTS, "mixed": MIXED, "mixed_in": MIXED_IN, "by_region": BY_REGION,
                   "location_lost": LOCATION_LOST}


def page_data(emap: EvidenceMap) -> str:
    """What the script needs, as JSON that cannot close the <script>: the words, and for each mark (by its
    data-mark number) its counts per population, measure and region and its sample of findings, each a list
    of FIELDS; regions (in the table's order) and sources. As large as the grid, not as the findings."""
    marks = [mark for row in emap.rows for by_direction in row.cells.values() for mark in by_direction.values()]
    marks.sort(key=lambda mark: mark.index)
    populations = sorted({p for mark in marks for p, *_ in mark.groups})
    measures = sorted({m for mark in marks for _, m, *_ in mark.groups})
    region_index = {r["region_id"]: n for n, r in enumerate(emap.regions)}
    data = {
        "words": WORDS, "symbols": SYMBOLS, "agreement": AGREEMENT_WORDS, "lost": LOST,
        "total": emap.counts.total, "table": emap.table, "sample_size": emap.sample_size,
        "populations": populations, "measures": measures, "fields": FIELDS,
        # a mark: [[population index, measure index, region index (-1: none), count], ...], [[finding as FIELDS], ...]
        "marks": [[[[populations.index(p), measures.index(m), region_index.get(r, -1), n] for p, m, r, n in mark.groups],
                   [[f.get(k, "") for k in FIELDS] for f in mark.sample]] for mark in marks],
        "regions": [{k: r[k] for k in ("region_id", "label", "name", "population")} for r in emap.regions],
        "sources": [{"source_id": s["source_id"], "label": _source_label(s), "path": s.get("path", "")}
                    for s in emap.sources],
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


AGREEMENT_DEFINITION = (
    '<p id="agreement-definition"><dfn>Agreement</dfn> is judged place by place. In one cell (a molecule in '
    "one region column, its sub-regions included) the findings agree when they all go one way, and are mixed when "
    "they differ in that same place. The Agreement column says "
    f"\u201c{AGREEMENTS['increase']}\u201d, \u201c{AGREEMENTS['decrease']}\u201d or "
    f"\u201c{AGREEMENTS['no_change']}\u201d when every finding of the row agrees; "
    f"\u201c{BY_REGION}\u201d when each region's findings agree but regions differ from each other; "
    f"\u201c{MIXED_IN[1].format(n='N')}\u201d when findings differ within N region columns; and "
    f"\u201c{LOCATION_LOST}\u201d when findings differ and some of them lost their location in the source, "
    "so whether they differ in one place is unknown (the column of lost locations is not a place). "
    "The filters change it: it is judged on the findings shown.</p>")


def _select(name: str, label: str, options: list[tuple[str, str]]) -> str:
    items = "".join(f'<option value="{_e(v)}">{_e(text)}</option>' for v, text in options)
    return f'<label>{_e(label)}<select name="{_e(name)}" id="filter-{_e(name)}">{items}</select></label>'


def _filters(emap: EvidenceMap) -> str:
    counts = emap.counts
    populations, measures, directions = counts.population, counts.measure, counts.direction
    population_options = [("all", f"All ({counts.total})")]
    population_options += [(p, f"{POPULATION_HEADINGS.get(p, p)} ({populations.get(p, 0)})") for p in POPULATIONS]
    population_options += [("unknown", f"Unknown: location lost in source ({populations.get('', 0)})")]
    measure_options = [("all", f"All ({counts.total})")]
    measure_options += [(m, f"{m} ({measures[m]})") for m in sorted(measures, key=str.casefold)]
    direction_options = [("all", f"All ({counts.total})")]
    direction_options += [(d, f"{SYMBOLS[d]} {WORDS[d]} ({directions.get(d, 0)})") for d in DIRECTIONS]
    return (
        '<form id="filters" aria-label="Filter the findings">'
        + _select("population", "Population", population_options)
        + _select("measure", "Measure", measure_options)
        + _select("direction", "Direction", direction_options)
        + '<button type="reset" id="reset">Show all</button></form>'
    )


def _legend() -> str:
    items = "".join(
        f'<li><span class="mark legend-mark {d}" aria-hidden="true"><span class="symbol">{SYMBOLS[d]}</span></span>'
        f"{WORDS[d]}</li>" for d in DIRECTIONS)
    return (f'<ul class="legend" aria-label="Legend">{items}<li>A number beside a mark counts the findings it '
            "stands for. Select a mark for its source.</li></ul>")


def _thead(emap: EvidenceMap) -> list[str]:
    regions = [c for c in emap.columns if c.key != LOST]
    lost = next(c for c in emap.columns if c.key == LOST)
    top = ['<tr><th scope="col" rowspan="3" id="h-molecule">Molecule</th>']
    for population, span in header_runs(regions, lambda c: c.population):
        heading = POPULATION_HEADINGS.get(population, population)
        top.append(f'<th scope="colgroup" colspan="{span}" id="h-{slug(population)}" class="population" '
                   f'data-population="{_e(population)}">{_e(heading)}</th>')
    top.append(f'<th scope="col" rowspan="3" id="h-lost" class="lost">{_e(lost.label)}</th>'
               '<th scope="col" rowspan="3" id="h-total">Findings</th>'
               '<th scope="col" rowspan="3" id="h-agreement"><a href="#agreement-definition">Agreement</a></th></tr>')
    middle = ["<tr>"]
    for (population, group), span in header_runs(regions, lambda c: (c.population, c.group)):
        middle.append(f'<th scope="colgroup" colspan="{span}" id="h-{slug(population)}-{slug(group)}" '
                      f'headers="h-{slug(population)}" data-population="{_e(population)}">{_e(group)}</th>')
    middle.append("</tr>")
    leaf = ["<tr>"]
    for c in regions:
        css = "" if c.review else ' class="other"'
        leaf.append(f'<th scope="col" id="h-{_e(c.key)}"{css} headers="h-{slug(c.population)} '
                    f'h-{slug(c.population)}-{slug(c.group)}" data-population="{_e(c.population)}">'
                    f'<abbr title="{_e(c.name)}">{_e(c.label)}</abbr></th>')
    leaf.append("</tr>")
    return ["<thead>", "".join(top), "".join(middle), "".join(leaf), "</thead>"]


def _headers_of(column: Column) -> str:
    if column.key == LOST:
        return "h-lost"
    population = slug(column.population)
    return f"h-{population} h-{population}-{slug(column.group)} h-{column.key}"


def _cell(emap: EvidenceMap, row: Row, column: Column, row_header: str) -> str:
    label = row.molecule["label"]
    marks = []
    for direction, mark in sorted(row.cells.get(column.key, {}).items(), key=lambda kv: DIRECTIONS.index(kv[0])):
        count = str(mark.count) if mark.count > 1 else ""
        sub = within(mark, column, emap.region_by_id)
        marks.append(
            f'<button type="button" class="mark {direction}" data-direction="{direction}" data-mark="{mark.index}" '
            f'data-where="{_e(column.where)}" data-column="{_e(column.key)}" '
            f'aria-label="{_e(mark_label(direction, mark.count, label, column, sub))}">'
            f'<span class="symbol" aria-hidden="true">{SYMBOLS[direction]}</span>'
            f'<span class="count" aria-hidden="true">{count}</span></button>')
    css = ' class="lost"' if column.key == LOST else ""
    population = f' data-population="{_e(column.population)}"' if column.key != LOST else ""
    return f'<td{css} headers="{row_header} {_headers_of(column)}"{population}>{"".join(marks)}</td>'


def _tbody(emap: EvidenceMap, number: int, category: str, rows: list[Row]) -> list[str]:
    span = len(emap.columns) + 3
    out = [f'<tbody data-category="{_e(category)}">',
           f'<tr class="category"><th scope="rowgroup" colspan="{span}" id="cat-{number}"><span>{_e(category)}</span></th></tr>']
    for row in rows:
        molecule = row.molecule
        row_id = f"m-{slug(molecule['molecule_id'])}"
        truncated = ' <span class="truncated">(label truncated in the source)</span>' \
            if molecule.get("label_truncated") == "true" else ""
        cells = "".join(_cell(emap, row, column, f"cat-{number} {row_id}") for column in emap.columns)
        out.append(
            f'<tr data-molecule="{_e(molecule["molecule_id"])}" data-label="{_e(molecule["label"])}">'
            f'<th scope="row" id="{row_id}" headers="cat-{number}">{_e(molecule["label"])}{truncated}</th>{cells}'
            f'<td class="total" headers="{row_id} h-total">{row.total}</td>'
            f'<td class="agreement" headers="{row_id} h-agreement">{_e(row.agreement)}</td></tr>')
    out.append("</tbody>")
    return out


def _notices(emap: EvidenceMap) -> tuple[str, str]:
    """The notice on findings without a location, and the line naming molecules without findings."""
    lost = lost_count(emap)
    notice = ""
    if lost:
        notice = (
            f'<p class="notice" role="note"><strong>{lost} of {emap.counts.total} findings have no known location.</strong> '
            "The source export dropped the table's empty cells, so which column (brain region or blood, animals "
            "or humans) each of these findings came from is unknown, and so is its population. They are counted "
            f"in the column \u201c{LOST_HEADING}\u201d, never placed in a guessed region.</p>")
    without = ""
    if emap.without_findings:
        labels = ", ".join(_e(m["label"]) for m in emap.without_findings)
        without = (f"<p>{len(emap.without_findings)} molecules of the table have no finding and no row here: "
                   f"{labels}.</p>")
    return notice, without


def _head(name: str, version: str) -> list[str]:
    title = f"{name} {version}: evidence map of the molecular changes induced by ketamine"
    csp = (f"default-src 'none'; style-src {_csp_hash(PAGE_CSS)}; script-src {_csp_hash(PAGE_SCRIPT)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">',
        '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>",
        f"<style>{PAGE_CSS}</style>",
        "</head>",
    ]


def _table(emap: EvidenceMap) -> list[str]:
    return [
        '<div class="scroll" role="region" aria-labelledby="caption" tabindex="0">',
        '<table id="evidence-map">',
        '<caption id="caption">Molecules (rows, grouped by category) by region (columns, under Animals and Humans). '
        "Each mark stands for the findings of one direction in a cell; select it for their source.</caption>",
        *_thead(emap),
        *(line for number, (category, rows) in enumerate(emap.categories, start=1)
          for line in _tbody(emap, number, category, rows)),
        "</table>",
        "</div>",
    ]


def _footer(emap: EvidenceMap, name: str, version: str) -> list[str]:
    """The licence and the source, its DOI once, as a link."""
    review = emap.review
    citation = review_citation(review) if review else "the package's sources"
    doi = review.get("doi") if review else ""
    source = _e(citation) + "."
    if doi and citation.endswith(f"doi:{doi}"):
        source = (f'{_e(citation.removesuffix(f"doi:{doi}"))}'
                  f'<a href="https://doi.org/{_e(doi)}">doi:{_e(doi)}</a>.')
    return [
        "<footer>",
        f"<p>Data: {_e(name)} {_e(version)}, CC BY 4.0. Source: {source} "
        "Built by <code>dvc repro</code> (the report stage) from the published tables.</p>",
        "</footer>",
    ]


def render_html(emap: EvidenceMap, name: str, version: str) -> str:
    """The evidence map as one self-contained page; the same map gives the same text."""
    short = short_citation(emap.review) if emap.review else "the package's sources"
    notice, without = _notices(emap)
    parts = [
        *_head(name, version),
        "<body>",
        "<header>",
        "<h1>Evidence map: molecular changes induced by ketamine</h1>",
        f"<p>{_e(name)} {_e(version_words(version))}: {_e(summary(emap))}: "
        f"{_e(origin(emap, 'Table 1 of ' + short))}.</p>",
        notice,
        "</header>",
        "<main>",
        _filters(emap),
        '<p id="status" role="status" aria-live="polite"></p>',
        '<p id="empty" hidden>No finding matches these filters. Findings whose location was lost in the source '
        "have an unknown population: choose \u201cunknown\u201d or \u201cAll\u201d to see them.</p>",
        "<noscript><p>The filters and the provenance of each mark need JavaScript; the table reads without it.</p></noscript>",
        _legend(),
        *_table(emap),
        AGREEMENT_DEFINITION,
        without,
        "</main>",
        '<dialog id="provenance" aria-labelledby="provenance-title">',
        '<div class="dialog-head"><h2 id="provenance-title">Provenance</h2>'
        '<button type="button" id="close">Close</button></div>',
        '<div id="provenance-body"></div>',
        "</dialog>",
        *_footer(emap, name, version),
        f'<script type="application/json" id="ketamap-data">{page_data(emap)}</script>',
        f"<script>{PAGE_SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
