"use strict";
(function () {
  const data = JSON.parse(document.getElementById("ketamap-data").textContent);
  const regions = new Map(data.regions.map((r) => [r.region_id, r]));
  const sources = new Map(data.sources.map((s) => [s.source_id, s]));
  const form = document.getElementById("filters");
  const status = document.getElementById("status");
  const empty = document.getElementById("empty");
  const dialog = document.getElementById("provenance");
  const title = document.getElementById("provenance-title");
  const body = document.getElementById("provenance-body");
  const {words: WORDS, symbols: SYMBOLS, agreements: AGREEMENTS} = data;
  let opener = null;

  const phrase = (n) => n + (n === 1 ? " finding" : " findings");
  const populationOf = (population) => population || "unknown";
  // a finding of a mark's sample, from its list of values in the order of data.fields
  const finding = (values) => Object.fromEntries(data.fields.map((name, i) => [name, values[i]]));

  function filters() {
    return {population: form.elements.population.value, measure: form.elements.measure.value,
            direction: form.elements.direction.value};
  }

  function passes(population, measure, direction, chosen) {
    return (chosen.population === "all" || populationOf(population) === chosen.population)
      && (chosen.measure === "all" || measure === chosen.measure)
      && (chosen.direction === "all" || direction === chosen.direction);
  }

  // how many of a mark's findings pass the filters, from its counts per population and measure
  function shown(mark, chosen) {
    let count = 0;
    for (const [population, measure, n] of data.marks[mark.dataset.mark][0]) {
      if (passes(data.populations[population], data.measures[measure], mark.dataset.direction, chosen)) count += n;
    }
    return count;
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
          const n = shown(mark, chosen);
          mark.dataset.shown = String(n);
          mark.hidden = n === 0;
          mark.querySelector(".count").textContent = n > 1 ? String(n) : "";
          mark.setAttribute("aria-label", WORDS[mark.dataset.direction] + ": " + phrase(n) + ", "
            + row.dataset.label + ", " + mark.dataset.where);
          if (n) {
            count += n;
            directions.add(mark.dataset.direction);
          }
        }
        row.hidden = count === 0;
        row.querySelector("td.total").textContent = String(count);
        row.querySelector("td.agreement").textContent =
          directions.size === 1 ? AGREEMENTS[[...directions][0]] : (directions.size ? data.mixed : "");
        if (count) {
          shownFindings += count;
          shownRows += 1;
          groupRows += 1;
        }
      }
      group.hidden = groupRows === 0;
    }
    status.textContent = "Showing " + phrase(shownFindings) + " of " + data.total + " on "
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

  // where the findings a mark does not carry are: the published table, filtered as the page is
  function elsewhere(mark, carried, count, chosen) {
    const by = ["molecule_id=" + mark.closest("tr").dataset.molecule,
                "region_id=" + (mark.dataset.region || "(empty)"), "direction=" + mark.dataset.direction];
    if (chosen.population !== "all") by.push("population=" + (chosen.population === "unknown" ? "(empty)" : chosen.population));
    if (chosen.measure !== "all") by.push("measure=" + chosen.measure);
    const note = document.createElement("p");
    note.className = "more";
    note.setAttribute("role", "note");
    note.textContent = "Shown here: " + carried + " of these " + phrase(count) + " (the page carries the first "
      + data.sample_size + " of each mark, in source order). " + (count - carried) + " more: filter " + data.table
      + " by " + by.join(", ") + ".";
    return note;
  }

  function reveal(mark) {
    const chosen = filters();
    const count = Number(mark.dataset.shown);
    const row = mark.closest("tr");
    const sample = data.marks[mark.dataset.mark][1].map(finding)
      .filter((f) => passes(f.population, f.measure, f.direction, chosen));
    title.textContent = mark.querySelector(".symbol").textContent + " " + WORDS[mark.dataset.direction] + ": "
      + row.dataset.label + ", " + mark.dataset.where + " (" + phrase(count) + ")";
    const more = count > sample.length ? [elsewhere(mark, sample.length, count, chosen)] : [];
    body.replaceChildren(...more, ...sample.map(describe));
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
