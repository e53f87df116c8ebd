"""report: the published tables → the evidence map, `reports/evidence-map.{html,svg,png}`.

The grid of the review's Table 1, kept alive: molecules (grouped by category) × the region columns
under their header hierarchy, one mark per direction in a cell (↑ ↓ −, with a count when several
findings share it), and a column of its own for findings whose location the source lost, so that
nothing is drawn in a region the source does not state. The page is one self-contained file (no
network, works from file://); the figure is the same grid as SVG and PNG for papers and slides.

Reads only the published tables and `params.yaml`, never the clock: the same tables give the same
bytes (no timestamps, stable order, ids derived from the data).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.citation import review_citation, short_citation
from pipeline.core.files import atomic_write_bytes, input_refusal
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.settings import read_params
from pipeline.core.vocab import RESOURCES

REPORT_DIR = "reports"
HTML_FILE, SVG_FILE, PNG_FILE = "evidence-map.html", "evidence-map.svg", "evidence-map.png"
DEFAULT_DPI = 150

DIRECTIONS = ("increase", "decrease", "no_change")
SYMBOLS = {"increase": "↑", "decrease": "↓", "no_change": "−"}  # − is U+2212, as in the source
WORDS = {"increase": "increase", "decrease": "decrease", "no_change": "no change"}
# Okabe & Ito's colour-blind-safe palette: vermillion up, blue down; no change is drawn in outline.
COLOURS = {"increase": "#D55E00", "decrease": "#0072B2", "no_change": "#000000"}
AGREEMENTS = {"increase": "all up", "decrease": "all down", "no_change": "no change"}
MIXED = "mixed"
POPULATION_HEADINGS = {"animal": "Animals", "human": "Humans"}
LOST = "lost"  # the key of the column for findings whose location was lost in the source
LOST_HEADING = "Location lost in source"

REQUIRED_COLUMNS = {
    "findings": ("finding_id", "source_id", "molecule_label", "molecule_id", "measure", "direction",
                 "population", "region_id", "location_status", "species", "qualifier", "references",
                 "citation_status", "source_row", "source_cell", "source_text"),
    "molecules": ("molecule_id", "label", "category"),
    "regions": ("region_id", "label", "name", "population", "group", "column"),
    "sources": ("source_id",),
}


# ---------------------------------------------------------------------------------------------
# The published tables → the grid


@dataclass(frozen=True)
class Column:
    key: str  # the region_id, or LOST
    label: str
    name: str
    population: str  # empty for the lost column
    group: str

    @property
    def where(self) -> str:
        """The column in words, as a screen reader and the provenance panel say it."""
        if self.key == LOST:
            return "location lost in source"
        return f"{self.label} ({self.name}), {POPULATION_HEADINGS.get(self.population, self.population).lower()}"


@dataclass
class Row:
    molecule: dict[str, str]
    cells: dict[str, dict[str, list[dict[str, str]]]] = field(default_factory=dict)  # column → direction → findings

    @property
    def findings(self) -> list[dict[str, str]]:
        return [f for by_direction in self.cells.values() for group in by_direction.values() for f in group]

    @property
    def agreement(self) -> str:
        return agreement({f["direction"] for f in self.findings})


@dataclass
class EvidenceMap:
    columns: list[Column]
    categories: list[tuple[str, list[Row]]]
    without_findings: list[dict[str, str]]  # molecules of the table that have no finding
    findings: list[dict[str, str]]
    regions: list[dict[str, str]]
    sources: list[dict[str, str]]

    @property
    def rows(self) -> list[Row]:
        return [row for _, rows in self.categories for row in rows]

    @property
    def review(self) -> dict[str, str] | None:
        return next((s for s in self.sources if s.get("kind") == "review"), None)


def agreement(directions: set[str]) -> str:
    """'all up', 'all down', 'no change' when every finding agrees, else 'mixed'."""
    return AGREEMENTS[next(iter(directions))] if len(directions) == 1 else MIXED


def read_tables(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The four published tables under `folder`, each checked for the columns the map needs."""
    problems, tables = [], {}
    for name in RESOURCES:
        path = Path(folder) / f"{name}.csv"
        if (refusal := input_refusal(path)) and refusal.code == "not-a-file":  # a FIFO would block: stat first
            problems.append(refusal)
            continue
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                # a short line leaves None in DictReader's cells; the map reads them as empty
                tables[name] = [{k: v or "" for k, v in row.items() if k is not None} for row in reader]
                header = reader.fieldnames or []
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            problems.append(Problem("unreadable-table", f"cannot read the published table: {error}", file=str(path),
                                    suggestion="build the package first: `dvc repro package`"))
            continue
        problems += [Problem("unreadable-table", "the table lacks a column the evidence map needs", file=str(path), column=c)
                     for c in REQUIRED_COLUMNS[name] if c not in header]
    if problems:
        raise ProblemsFound(problems)
    return tables


def _number(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isascii() and text.isdigit() else (1 << 30, text)  # '²'.isdigit() is True


def _finding_order(finding: dict[str, str]) -> tuple:
    return (finding["source_id"], _number(finding["source_row"]), _number(finding["source_cell"]), finding["finding_id"])


def evidence_map(tables: dict[str, list[dict[str, str]]], folder: str = "data") -> EvidenceMap:
    """The grid: a pure function of the tables. Findings that point nowhere are problems, not dropped."""
    problems: list[Problem] = []
    try:
        regions = sorted(tables["regions"], key=lambda r: int(r["column"]))
    except ValueError:
        raise ProblemsFound([Problem("bad-column", "a region's column is not a whole number",
                                     file=f"{folder}/regions.csv", column="column")])
    columns = [Column(r["region_id"], r["label"], r["name"], r["population"], r["group"]) for r in regions]
    columns.append(Column(LOST, LOST_HEADING, LOST_HEADING, "", ""))
    molecules = {m["molecule_id"]: m for m in tables["molecules"]}
    region_ids = {r["region_id"] for r in regions}
    rows: dict[str, Row] = {}
    for line, finding in enumerate(tables["findings"], start=2):
        where = dict(file=f"{folder}/findings.csv", line=line)
        if finding["molecule_id"] not in molecules:
            problems.append(Problem("unknown-molecule", "the finding names a molecule that molecules.csv lacks",
                                    column="molecule_id", value=finding["molecule_id"], **where))
            continue
        if finding["region_id"] and finding["region_id"] not in region_ids:
            problems.append(Problem("unknown-region", "the finding names a region that regions.csv lacks",
                                    column="region_id", value=finding["region_id"], **where))
            continue
        if finding["direction"] not in DIRECTIONS:
            problems.append(Problem("unknown-direction", f"direction must be one of {', '.join(DIRECTIONS)}",
                                    column="direction", value=finding["direction"], **where))
            continue
        row = rows.setdefault(finding["molecule_id"], Row(molecules[finding["molecule_id"]]))
        cell = row.cells.setdefault(finding["region_id"] or LOST, {})
        cell.setdefault(finding["direction"], []).append(finding)
    if problems:
        raise ProblemsFound(problems)
    for row in rows.values():
        for by_direction in row.cells.values():
            for group in by_direction.values():
                group.sort(key=_finding_order)
    categories: dict[str, list[Row]] = {}
    for molecule in tables["molecules"]:  # the table's order, grouped by category in order of first appearance
        if molecule["molecule_id"] in rows:
            categories.setdefault(molecule["category"], []).append(rows[molecule["molecule_id"]])
    return EvidenceMap(
        columns=columns,
        categories=list(categories.items()),
        without_findings=[m for m in tables["molecules"] if m["molecule_id"] not in rows],
        findings=sorted(tables["findings"], key=_finding_order),
        regions=regions,
        sources=tables["sources"],
    )


def header_runs(columns: list[Column], key) -> list[tuple[str, int]]:
    """Consecutive columns sharing `key(column)`, as (value, span): the header's colspans."""
    runs: list[list] = []
    for column in columns:
        value = key(column)
        if runs and runs[-1][0] == value:
            runs[-1][1] += 1
        else:
            runs.append([value, 1])
    return [(value, span) for value, span in runs]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def findings_phrase(count: int) -> str:
    return f"{count} finding" if count == 1 else f"{count} findings"


def mark_label(direction: str, count: int, molecule: str, column: Column) -> str:
    """The text alternative of a mark; the page's script builds the same words after filtering."""
    return f"{WORDS[direction]}: {findings_phrase(count)}, {molecule}, {column.where}"


def summary(emap: EvidenceMap) -> str:
    directions = Counter(f["direction"] for f in emap.findings)
    parts = ", ".join(f"{directions[d]} {WORDS[d]}" for d in DIRECTIONS if directions[d])
    return f"{findings_phrase(len(emap.findings))} ({parts}) on {len(emap.rows)} molecules"


def lost_count(emap: EvidenceMap) -> int:
    return sum(1 for f in emap.findings if not f["region_id"])


# ---------------------------------------------------------------------------------------------
# The page


PAGE_CSS = """
:root { --up: #D55E00; --down: #0072B2; --same: #000; --line: #c9c9c9; --lost: #f5f1e6; --head: #f3f4f6; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 90rem; padding: 1rem; color: #1b1b1b; background: #fff; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.45rem; margin: .2rem 0 .4rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .4rem; }
p { margin: .4rem 0; max-width: 60rem; }
a { color: #0b57a4; }
.notice { border-left: .3rem solid #E69F00; background: #fff7e0; padding: .5rem .8rem; }
#filters { display: flex; flex-wrap: wrap; gap: .6rem 1.2rem; align-items: flex-end; margin: 1rem 0 .4rem; }
#filters label { display: flex; flex-direction: column; font-weight: 600; font-size: .9rem; }
select, button { font: inherit; }
select { min-height: 2.6rem; min-width: 11rem; padding: .2rem .4rem; font-weight: 400; }
#reset { min-height: 2.6rem; padding: .2rem .8rem; border: 1px solid #666; border-radius: .3rem; background: #fff; cursor: pointer; }
#status { font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; align-items: center; padding: 0; margin: .5rem 0; list-style: none; }
.legend li { display: flex; align-items: center; gap: .3rem; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: .3rem; }
.scroll:focus-visible { outline: 3px solid #000; outline-offset: 2px; }
table { border-collapse: separate; border-spacing: 0; font-size: .9rem; width: 100%; }
caption { text-align: left; padding: .5rem .6rem; font-size: .9rem; color: #333; }
th, td { border-bottom: 1px solid var(--line); border-right: 1px solid #e4e4e4; padding: .2rem .3rem; text-align: center; vertical-align: middle; }
td { white-space: nowrap; }
thead th { background: var(--head); font-weight: 600; }
thead abbr { text-decoration: none; }
th.population { font-size: 1rem; }
th.lost, td.lost { background: var(--lost); }
th.lost { min-width: 9rem; }
tbody th[scope=row] { text-align: left; white-space: nowrap; position: sticky; left: 0; background: #fff; z-index: 1; font-weight: 600; }
tr.category th { text-align: left; background: #e8eef5; font-weight: 700; font-size: .85rem; letter-spacing: .02em; }
tr.category th span { position: sticky; left: .3rem; }
.truncated { font-weight: 400; font-size: .8rem; color: #555; }
td.total { font-variant-numeric: tabular-nums; font-weight: 600; }
td.agreement { white-space: nowrap; font-size: .85rem; }
.mark { display: inline-flex; align-items: center; justify-content: center; gap: .15rem; min-width: 2.4rem;
  min-height: 2.4rem; margin: .1rem; padding: 0 .4rem; border: 2px solid transparent; border-radius: .4rem;
  font-weight: 700; font-size: 1rem; line-height: 1; cursor: pointer; }
.mark.increase { background: var(--up); color: #fff; }
.mark.decrease { background: var(--down); color: #fff; }
.mark.no_change { background: #fff; color: var(--same); border-color: var(--same); }
.mark:hover { filter: brightness(1.12); }
.mark:focus-visible { outline: 3px solid #000; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
.mark .count:empty { display: none; }
.mark.legend-mark { cursor: default; min-width: 2rem; min-height: 2rem; }
[hidden] { display: none !important; }
dialog { width: min(44rem, 96vw); max-height: 90vh; padding: 0; border: 1px solid #777; border-radius: .5rem; }
dialog::backdrop { background: rgba(0, 0, 0, .45); }
.dialog-head { display: flex; justify-content: space-between; align-items: flex-start; gap: 1rem; padding: .8rem 1rem;
  border-bottom: 1px solid var(--line); position: sticky; top: 0; background: #fff; }
.dialog-head h2 { margin: 0; font-size: 1.1rem; }
#close { min-height: 2.4rem; padding: .2rem .8rem; border: 1px solid #666; border-radius: .3rem; background: #fff; cursor: pointer; }
#provenance-body { padding: .2rem 1rem 1rem; }
.finding { border-bottom: 1px solid #e4e4e4; padding: .6rem 0; }
.finding h3 { font-size: .95rem; margin: .2rem 0; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.finding dl { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: .15rem .8rem; margin: 0; font-size: .9rem; }
.finding dt { font-weight: 600; color: #333; }
.finding dd { margin: 0; overflow-wrap: anywhere; }
.verbatim { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: #f3f3f3; padding: 0 .25rem; white-space: pre-wrap; }
footer { margin-top: 2rem; font-size: .85rem; color: #444; border-top: 1px solid var(--line); padding-top: .6rem; }
@media (max-width: 40rem) {
  body { padding: .5rem; }
  h1 { font-size: 1.2rem; }
  table { font-size: .8rem; }
  select { min-width: 9rem; }
  .finding dl { grid-template-columns: 1fr; }
  .finding dd { margin-bottom: .3rem; }
}
""".strip() + "\n"

PAGE_SCRIPT = r"""
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("ketamap-data").textContent);
  const findings = new Map(data.findings.map((f) => [f.finding_id, f]));
  const regions = new Map(data.regions.map((r) => [r.region_id, r]));
  const sources = new Map(data.sources.map((s) => [s.source_id, s]));
  const form = document.getElementById("filters");
  const status = document.getElementById("status");
  const empty = document.getElementById("empty");
  const dialog = document.getElementById("provenance");
  const title = document.getElementById("provenance-title");
  const body = document.getElementById("provenance-body");
  const WORDS = {increase: "increase", decrease: "decrease", no_change: "no change"};
  const SYMBOLS = {increase: "\u2191", decrease: "\u2193", no_change: "\u2212"};
  const AGREEMENTS = {increase: "all up", decrease: "all down", no_change: "no change"};
  let opener = null;

  const phrase = (n) => n + (n === 1 ? " finding" : " findings");
  const populationOf = (f) => f.population || "unknown";

  function filters() {
    return {population: form.elements.population.value, measure: form.elements.measure.value,
            direction: form.elements.direction.value};
  }

  function passes(f, chosen) {
    return (chosen.population === "all" || populationOf(f) === chosen.population)
      && (chosen.measure === "all" || f.measure === chosen.measure)
      && (chosen.direction === "all" || f.direction === chosen.direction);
  }

  function apply() {
    const chosen = filters();
    let shownFindings = 0;
    let shownRows = 0;
    for (const group of document.querySelectorAll("tbody[data-category]")) {
      let groupRows = 0;
      for (const row of group.querySelectorAll("tr[data-molecule]")) {
        const directions = new Set();
        let count = 0;
        for (const mark of row.querySelectorAll("button.mark")) {
          const ids = mark.dataset.findings.split(" ").filter((id) => passes(findings.get(id), chosen));
          mark.dataset.shown = ids.join(" ");
          mark.hidden = ids.length === 0;
          mark.querySelector(".count").textContent = ids.length > 1 ? String(ids.length) : "";
          mark.setAttribute("aria-label", WORDS[mark.dataset.direction] + ": " + phrase(ids.length) + ", "
            + row.dataset.label + ", " + mark.dataset.where);
          if (ids.length) {
            count += ids.length;
            directions.add(mark.dataset.direction);
          }
        }
        row.hidden = count === 0;
        row.querySelector("td.total").textContent = String(count);
        row.querySelector("td.agreement").textContent =
          directions.size === 1 ? AGREEMENTS[[...directions][0]] : (directions.size ? "mixed" : "");
        if (count) {
          shownFindings += count;
          shownRows += 1;
          groupRows += 1;
        }
      }
      group.hidden = groupRows === 0;
    }
    status.textContent = "Showing " + phrase(shownFindings) + " of " + data.findings.length + " on "
      + shownRows + (shownRows === 1 ? " molecule." : " molecules.");
    empty.hidden = shownFindings !== 0;
  }

  function add(list, term, value, className) {
    if (value === null || value === undefined || value === "") return;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
    if (className) dd.className = className;
    list.append(dt, dd);
  }

  function referenceList(f) {
    if (!f.references) {
      return f.citation_status === "reference_lost_in_source"
        ? "none: the cell cites a reference whose number the source export dropped"
        : "none: the source cell carries no citation";
    }
    const span = document.createElement("span");
    f.references.split(";").map((r) => r.trim()).filter(Boolean).forEach((ref, i) => {
      if (i) span.append("; ");
      const pmid = /^PMID:(\d+)$/i.exec(ref);
      const link = document.createElement("a");
      link.textContent = ref;
      if (pmid) link.href = "https://pubmed.ncbi.nlm.nih.gov/" + pmid[1] + "/";
      else if (ref.startsWith("10.")) link.href = "https://doi.org/" + ref;
      span.append(link.href ? link : ref);
    });
    return span;
  }

  function describe(f) {
    const article = document.createElement("article");
    article.className = "finding";
    const heading = document.createElement("h3");
    heading.textContent = f.finding_id;
    const list = document.createElement("dl");
    const region = regions.get(f.region_id);
    const source = sources.get(f.source_id);
    add(list, "Source text (verbatim)", f.source_text, "verbatim");
    add(list, "Where in the source", ((source && source.path) || f.source_id) + ", line " + f.source_row
      + (f.source_cell ? ", cell " + f.source_cell : "") + (source ? " (" + source.label + ")" : ""));
    add(list, "Molecule", f.molecule_label + (f.label_truncated === "true" ? " (label truncated in the source)" : ""));
    add(list, "Direction", SYMBOLS[f.direction] + " " + WORDS[f.direction]);
    add(list, "Measure", f.measure);
    add(list, "Population", f.population || "unknown (lost in source)");
    add(list, "Region", region ? region.label + " (" + region.name + ")" : "unknown (lost in source)");
    add(list, "Species", f.species);
    add(list, "Qualifier", f.qualifier);
    add(list, "References", referenceList(f));
    add(list, "location_status", f.location_status);
    add(list, "citation_status", f.citation_status);
    article.append(heading, list);
    return article;
  }

  function reveal(mark) {
    const ids = (mark.dataset.shown || mark.dataset.findings).split(" ").filter(Boolean);
    const row = mark.closest("tr");
    title.textContent = mark.querySelector(".symbol").textContent + " " + WORDS[mark.dataset.direction] + ": "
      + row.dataset.label + ", " + mark.dataset.where + " (" + phrase(ids.length) + ")";
    body.replaceChildren(...ids.map((id) => describe(findings.get(id))));
    opener = mark;
    dialog.showModal();
  }

  document.querySelector("table").addEventListener("click", (event) => {
    const mark = event.target.closest("button.mark");
    if (mark) reveal(mark);
  });
  document.getElementById("close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  dialog.addEventListener("close", () => { if (opener) opener.focus(); });
  form.addEventListener("change", apply);
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("reset", () => setTimeout(apply, 0));
  apply();
  document.documentElement.dataset.ready = "true";
})();
""".strip() + "\n"


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


def page_data(emap: EvidenceMap) -> str:
    """The findings, regions and sources the script needs, as JSON that cannot close the <script>."""
    keep = ("finding_id", "source_id", "molecule_id", "molecule_label", "measure", "direction", "population",
            "region_id", "location_status", "species", "qualifier", "references", "citation_status",
            "label_truncated", "source_row", "source_cell", "source_text")
    data = {
        "findings": [{k: f.get(k, "") for k in keep} for f in emap.findings],
        "regions": [{k: r[k] for k in ("region_id", "label", "name", "population")} for r in emap.regions],
        "sources": [{"source_id": s["source_id"], "label": _source_label(s), "path": s.get("path", "")}
                    for s in emap.sources],
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _select(name: str, label: str, options: list[tuple[str, str]]) -> str:
    items = "".join(f'<option value="{_e(v)}">{_e(text)}</option>' for v, text in options)
    return f'<label>{_e(label)}<select name="{_e(name)}" id="filter-{_e(name)}">{items}</select></label>'


def _filters(emap: EvidenceMap) -> str:
    populations = Counter(f["population"] or "unknown" for f in emap.findings)
    measures = Counter(f["measure"] for f in emap.findings)
    directions = Counter(f["direction"] for f in emap.findings)
    population_options = [("all", f"All ({len(emap.findings)})")]
    population_options += [(p, f"{p} ({populations[p]})") for p in ("animal", "human")]
    population_options += [("unknown", f"unknown: lost in source ({populations['unknown']})")]
    measure_options = [("all", f"All ({len(emap.findings)})")]
    measure_options += [(m, f"{m} ({measures[m]})") for m in sorted(measures, key=str.casefold)]
    direction_options = [("all", f"All ({len(emap.findings)})")]
    direction_options += [(d, f"{SYMBOLS[d]} {WORDS[d]} ({directions[d]})") for d in DIRECTIONS]
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
        top.append(f'<th scope="colgroup" colspan="{span}" id="h-{slug(population)}" class="population">{_e(heading)}</th>')
    top.append(f'<th scope="col" rowspan="3" id="h-lost" class="lost">{_e(lost.label)}</th>'
               '<th scope="col" rowspan="3" id="h-total">Findings</th>'
               '<th scope="col" rowspan="3" id="h-agreement">Agreement</th></tr>')
    middle = ["<tr>"]
    for (population, group), span in header_runs(regions, lambda c: (c.population, c.group)):
        middle.append(f'<th scope="colgroup" colspan="{span}" id="h-{slug(population)}-{slug(group)}" '
                      f'headers="h-{slug(population)}">{_e(group)}</th>')
    middle.append("</tr>")
    leaf = ["<tr>"]
    for c in regions:
        leaf.append(f'<th scope="col" id="h-{_e(c.key)}" headers="h-{slug(c.population)} '
                    f'h-{slug(c.population)}-{slug(c.group)}"><abbr title="{_e(c.name)}">{_e(c.label)}</abbr></th>')
    leaf.append("</tr>")
    return ["<thead>", "".join(top), "".join(middle), "".join(leaf), "</thead>"]


def _headers_of(column: Column) -> str:
    if column.key == LOST:
        return "h-lost"
    population = slug(column.population)
    return f"h-{population} h-{population}-{slug(column.group)} h-{column.key}"


def _cell(row: Row, column: Column, row_header: str) -> str:
    label = row.molecule["label"]
    marks = []
    for direction, group in sorted(row.cells.get(column.key, {}).items(), key=lambda kv: DIRECTIONS.index(kv[0])):
        ids = " ".join(f["finding_id"] for f in group)
        count = str(len(group)) if len(group) > 1 else ""
        marks.append(
            f'<button type="button" class="mark {direction}" data-direction="{direction}" '
            f'data-where="{_e(column.where)}" data-findings="{_e(ids)}" '
            f'aria-label="{_e(mark_label(direction, len(group), label, column))}">'
            f'<span class="symbol" aria-hidden="true">{SYMBOLS[direction]}</span>'
            f'<span class="count" aria-hidden="true">{count}</span></button>')
    css = ' class="lost"' if column.key == LOST else ""
    return f'<td{css} headers="{row_header} {_headers_of(column)}">{"".join(marks)}</td>'


def _tbody(emap: EvidenceMap, number: int, category: str, rows: list[Row]) -> list[str]:
    span = len(emap.columns) + 3
    out = [f'<tbody data-category="{_e(category)}">',
           f'<tr class="category"><th scope="rowgroup" colspan="{span}" id="cat-{number}"><span>{_e(category)}</span></th></tr>']
    for row in rows:
        molecule = row.molecule
        row_id = f"m-{slug(molecule['molecule_id'])}"
        truncated = ' <span class="truncated">(label truncated in the source)</span>' \
            if molecule.get("label_truncated") == "true" else ""
        cells = "".join(_cell(row, column, f"cat-{number} {row_id}") for column in emap.columns)
        out.append(
            f'<tr data-molecule="{_e(molecule["molecule_id"])}" data-label="{_e(molecule["label"])}">'
            f'<th scope="row" id="{row_id}" headers="cat-{number}">{_e(molecule["label"])}{truncated}</th>{cells}'
            f'<td class="total" headers="{row_id} h-total">{len(row.findings)}</td>'
            f'<td class="agreement" headers="{row_id} h-agreement">{_e(row.agreement)}</td></tr>')
    out.append("</tbody>")
    return out


def render_html(emap: EvidenceMap, name: str, version: str) -> str:
    """The evidence map as one self-contained page; the same map gives the same text."""
    review = emap.review
    citation = review_citation(review) if review else "the package's sources"
    short = short_citation(review) if review else "the package's sources"
    lost = lost_count(emap)
    title = f"{name} {version}: evidence map of the molecular changes induced by ketamine"
    csp = (f"default-src 'none'; style-src {_csp_hash(PAGE_CSS)}; script-src {_csp_hash(PAGE_SCRIPT)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    notice = ""
    if lost:
        notice = (
            f'<p class="notice" role="note"><strong>{lost} of {len(emap.findings)} findings have no known location.</strong> '
            "The source export dropped the table's empty cells, so which column (brain region or blood, animals "
            "or humans) each of these findings came from is unknown, and so is its population. They are counted "
            f"in the column \u201c{LOST_HEADING}\u201d, never placed in a guessed region.</p>")
    without = ""
    if emap.without_findings:
        labels = ", ".join(_e(m["label"]) for m in emap.without_findings)
        without = (f"<p>{len(emap.without_findings)} molecules of the table have no finding and no row here: "
                   f"{labels}.</p>")
    doi = review.get("doi") if review else ""
    source_link = f' <a href="https://doi.org/{_e(doi)}">doi:{_e(doi)}</a>' if doi else ""
    parts = [
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
        "<body>",
        "<header>",
        "<h1>Evidence map: molecular changes induced by ketamine</h1>",
        f"<p>{_e(name)} {_e(version)}: {_e(summary(emap))}, digitised from Table 1 of {_e(short)}.</p>",
        notice,
        "</header>",
        "<main>",
        _filters(emap),
        '<p id="status" role="status" aria-live="polite"></p>',
        '<p id="empty" hidden>No finding matches these filters. Findings whose location was lost in the source '
        "have an unknown population: choose \u201cunknown\u201d or \u201cAll\u201d to see them.</p>",
        "<noscript><p>The filters and the provenance of each mark need JavaScript; the table reads without it.</p></noscript>",
        _legend(),
        '<div class="scroll" role="region" aria-labelledby="caption" tabindex="0">',
        '<table id="evidence-map">',
        '<caption id="caption">Molecules (rows, grouped by category) by region (columns, under Animals and Humans). '
        "Each mark stands for the findings of one direction in a cell; select it for their source.</caption>",
        *_thead(emap),
        *(line for number, (category, rows) in enumerate(emap.categories, start=1)
          for line in _tbody(emap, number, category, rows)),
        "</table>",
        "</div>",
        without,
        "</main>",
        '<dialog id="provenance" aria-labelledby="provenance-title">',
        '<div class="dialog-head"><h2 id="provenance-title">Provenance</h2>'
        '<button type="button" id="close">Close</button></div>',
        '<div id="provenance-body"></div>',
        "</dialog>",
        "<footer>",
        f"<p>Data: {_e(name)} {_e(version)}, CC BY 4.0. Source: {_e(citation)}.{source_link} "
        "Built by <code>dvc repro</code> (the report stage) from the published tables.</p>",
        "</footer>",
        f'<script type="application/json" id="ketamap-data">{page_data(emap)}</script>',
        f"<script>{PAGE_SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


# ---------------------------------------------------------------------------------------------
# The figure (matplotlib, drawn in inches from the top-left corner)


MARGIN, LABEL_W, SLOT_W, TOTAL_W, AGREEMENT_W, LOST_MIN_W = 0.25, 1.75, 0.5, 0.7, 0.85, 1.25
TITLE_H, HEAD_H, ROW_H, CATEGORY_H, LEGEND_H, NOTE_H = 0.75, 0.27, 0.22, 0.25, 0.55, 0.2
FONT = 8.0


def column_slots(emap: EvidenceMap) -> dict[str, list[str]]:
    """Each column's directions, in a fixed order: every ↑ of a column sits in the same slot."""
    present: dict[str, set[str]] = {c.key: set() for c in emap.columns}
    for row in emap.rows:
        for key, by_direction in row.cells.items():
            present[key].update(by_direction)
    return {key: [d for d in DIRECTIONS if d in directions] for key, directions in present.items()}


def figure_notes(emap: EvidenceMap, name: str, version: str) -> list[str]:
    lost = lost_count(emap)
    notes = []
    if lost:
        notes.append(f"Location lost in source: the export dropped the table's empty cells, so the region and "
                     f"population of {lost} of {len(emap.findings)} findings are unknown; they are not placed "
                     "in a guessed region.")
    if any(row.molecule.get("label_truncated") == "true" for row in emap.rows):
        notes.append("\u2020 label truncated in the source export; kept verbatim.")
    notes.append(f"Data: {name} {version}, CC BY 4.0. Every mark's finding_id and verbatim source cell: "
                 "reports/evidence-map.html.")
    return notes


def figure_size(emap: EvidenceMap, name: str, version: str) -> tuple[float, float, dict[str, float]]:
    slots = column_slots(emap)
    widths = {c.key: max(1, len(slots[c.key])) * SLOT_W for c in emap.columns}
    widths[LOST] = max(widths[LOST] + 0.1, LOST_MIN_W)
    width = 2 * MARGIN + LABEL_W + sum(widths.values()) + TOTAL_W + AGREEMENT_W
    height = TITLE_H + 3 * HEAD_H + len(emap.categories) * CATEGORY_H + len(emap.rows) * ROW_H + LEGEND_H + NOTE_H * len(figure_notes(emap, name, version)) + 0.1
    return round(width, 2), round(height, 2), widths


def render_figure(emap: EvidenceMap, name: str, version: str, dpi: int) -> tuple[bytes, bytes]:
    """The grid as (SVG, PNG) bytes; no date, no software version, fixed hash salt."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, Rectangle

    width, height, widths = figure_size(emap, name, version)
    slots = column_slots(emap)
    review = emap.review
    with matplotlib.rc_context({"svg.hashsalt": "ketamap-evidence-map", "svg.fonttype": "path",
                                "font.family": "DejaVu Sans", "path.simplify": False}):
        figure = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
        FigureCanvasAgg(figure)
        ax = figure.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")

        def text(x, y, s, **kw):
            kw.setdefault("fontsize", FONT)
            kw.setdefault("va", "center")
            ax.text(x, y, s, **kw)

        def box(x, y, w, h, **kw):
            ax.add_patch(Rectangle((x, y), w, h, **kw))

        def mark(box_x, box_y, text_x, text_y, direction, label):
            """A direction's rounded mark, filled (outlined for no change), and its symbol."""
            filled = direction != "no_change"
            ax.add_patch(FancyBboxPatch((box_x, box_y), SLOT_W - 0.08, ROW_H - 0.05,
                                        boxstyle="round,pad=0,rounding_size=0.035",
                                        facecolor=COLOURS[direction] if filled else "white",
                                        edgecolor=COLOURS[direction], linewidth=0.8))
            text(text_x, text_y, label, ha="center", weight="bold", color="white" if filled else "black")

        text(MARGIN, 0.25, f"Evidence map: molecular changes induced by ketamine ({name} {version})",
             fontsize=12, weight="bold")
        source = f"Table 1 of {short_citation(review)}, doi:{review.get('doi', '')}" if review else "the package's sources"
        text(MARGIN, 0.5, f"{summary(emap)}, digitised from {source}", fontsize=FONT, color="#333333")

        x_of: dict[str, float] = {}
        x = MARGIN + LABEL_W
        for column in emap.columns:
            x_of[column.key] = x
            x += widths[column.key]
        x_total, x_agreement = x, x + TOTAL_W
        right = x_agreement + AGREEMENT_W
        top = TITLE_H
        body_top = top + 3 * HEAD_H
        regions = [c for c in emap.columns if c.key != LOST]

        # header: Animals | Humans → groups → regions; the lost, total and agreement headers span all three rows
        box(MARGIN, top, right - MARGIN, 3 * HEAD_H, facecolor="#F3F4F6", edgecolor="none")
        box(x_of[LOST], top, widths[LOST], 3 * HEAD_H, facecolor="#EDE6D3", edgecolor="none")
        text(MARGIN + 0.05, top + 2.5 * HEAD_H, "Molecule", weight="bold")
        for level, key in enumerate((lambda c: c.population, lambda c: (c.population, c.group))):
            first = 0
            for value, span in header_runs(regions, key):
                x0 = x_of[regions[first].key]
                x1 = x0 + sum(widths[c.key] for c in regions[first:first + span])
                label = POPULATION_HEADINGS.get(value, value) if level == 0 else value[1]
                text((x0 + x1) / 2, top + (level + 0.5) * HEAD_H, label, ha="center",
                     weight="bold" if level == 0 else "normal")
                ax.plot([x0 + 0.04, x1 - 0.04], [top + (level + 1) * HEAD_H - 0.03] * 2, color="#777777", lw=0.6)
                first += span
        for c in regions:
            text(x_of[c.key] + widths[c.key] / 2, top + 2.5 * HEAD_H, c.label, ha="center")
        text(x_of[LOST] + widths[LOST] / 2, top + 1.5 * HEAD_H, "Location lost\nin source", ha="center",
             weight="bold", linespacing=1.1)
        text(x_total + TOTAL_W / 2, top + 1.5 * HEAD_H, "Findings", ha="center", weight="bold")
        text(x_agreement + AGREEMENT_W / 2, top + 1.5 * HEAD_H, "Agreement", ha="center", weight="bold")

        # body
        y = body_top
        box(x_of[LOST], body_top, widths[LOST],
            len(emap.categories) * CATEGORY_H + len(emap.rows) * ROW_H, facecolor="#F5F1E6", edgecolor="none")
        for category, rows in emap.categories:
            box(MARGIN, y, right - MARGIN, CATEGORY_H, facecolor="#E8EEF5", edgecolor="none")
            text(MARGIN + 0.05, y + CATEGORY_H / 2, category, weight="bold", style="italic", color="#222222")
            y += CATEGORY_H
            for row in rows:
                truncated = " \u2020" if row.molecule.get("label_truncated") == "true" else ""
                text(MARGIN + 0.12, y + ROW_H / 2, row.molecule["label"] + truncated)
                for key, by_direction in row.cells.items():
                    for direction, group in by_direction.items():
                        slot = slots[key].index(direction)
                        cx = x_of[key] + (widths[key] - len(slots[key]) * SLOT_W) / 2 + (slot + 0.5) * SLOT_W
                        label = SYMBOLS[direction] + (str(len(group)) if len(group) > 1 else "")
                        mark(cx - SLOT_W / 2 + 0.04, y + 0.025, cx, y + ROW_H / 2, direction, label)
                text(x_total + TOTAL_W / 2, y + ROW_H / 2, str(len(row.findings)), ha="center")
                text(x_agreement + AGREEMENT_W / 2, y + ROW_H / 2, row.agreement, ha="center")
                ax.plot([MARGIN, right], [y + ROW_H] * 2, color="#DDDDDD", lw=0.5)
                y += ROW_H
        body_bottom = y

        # grid lines: a heavier line between Animals and Humans and around the lost column
        for previous, column in zip(emap.columns, emap.columns[1:]):
            heavy = column.key == LOST or column.population != previous.population
            starts = top if heavy else top + (HEAD_H if column.group != previous.group else 2 * HEAD_H)
            ax.plot([x_of[column.key]] * 2, [starts, body_bottom],
                    color="#555555" if heavy else "#D0D0D0", lw=1.0 if heavy else 0.5)
        for xv in (MARGIN + LABEL_W, x_total, x_agreement):
            ax.plot([xv] * 2, [top, body_bottom], color="#555555", lw=1.0)
        ax.plot([MARGIN, right], [body_top] * 2, color="#555555", lw=1.0)
        ax.plot([MARGIN, right], [body_bottom] * 2, color="#555555", lw=1.0)

        # legend and notes
        y = body_bottom + 0.25
        x = MARGIN
        for direction in DIRECTIONS:
            mark(x, y - ROW_H / 2 + 0.025, x + (SLOT_W - 0.08) / 2, y, direction, SYMBOLS[direction])
            text(x + SLOT_W, y, WORDS[direction])
            x += SLOT_W + 0.95
        text(x, y, "A number beside a symbol counts the findings it stands for.", color="#333333")
        notes = figure_notes(emap, name, version)
        for number, note in enumerate(notes):
            text(MARGIN, y + 0.3 + number * NOTE_H, note, fontsize=FONT - 0.5, color="#333333")

        svg, png = io.BytesIO(), io.BytesIO()
        figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None, "Title": f"{name} evidence map"})
        figure.savefig(png, format="png", dpi=dpi, metadata={"Software": None, "Title": f"{name} evidence map"})
    return svg.getvalue(), png.getvalue()


# ---------------------------------------------------------------------------------------------
# The stage


def build(root: Path, params: dict, out: Path | None = None, data: Path | None = None) -> dict[Path, bytes]:
    """Every file the report writes and its bytes; nothing written yet."""
    try:
        name, version = str(params["release"]["name"]), str(params["release"]["version"])
        published = str(data) if data is not None else str(params["paths"]["published"])
    except (KeyError, TypeError) as error:
        raise ProblemsFound([Problem("missing-param", f"params.yaml lacks {error}", file="params.yaml")])
    dpi = (params.get("report") or {}).get("dpi", DEFAULT_DPI)
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 50 <= dpi <= 600:
        raise ProblemsFound([Problem("bad-param", "report.dpi must be a whole number from 50 to 600",
                                     file="params.yaml", column="report.dpi", value=str(dpi))])
    out = Path(out) if out is not None else root / REPORT_DIR
    emap = evidence_map(read_tables(root / published), published)
    svg, png = render_figure(emap, name, version, dpi)
    return {
        out / HTML_FILE: render_html(emap, name, version).encode("utf-8"),
        out / SVG_FILE: svg,
        out / PNG_FILE: png,
    }


def draw(root: Path = Path("."), out: Path | None = None, data: Path | None = None) -> list[Path]:
    """Build and write the three files; `out` defaults to reports/, `data` to paths.published."""
    params = read_params(root)
    outputs = build(root, params, out, data)
    for path, data_bytes in outputs.items():
        atomic_write_bytes(path, data_bytes)
    return list(outputs)
