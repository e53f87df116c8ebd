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
