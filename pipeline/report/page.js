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
  const {words: WORDS, symbols: SYMBOLS, agreement: AGREEMENT} = data;
  let opener = null;

  const phrase = (n) => n + (n === 1 ? " finding" : " findings");
  const populationOf = (population) => population || "unknown";
  const regionWords = (region) => region.label + " (" + region.name + ")";
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

  // how many of a mark's findings pass the filters, in all and per region (data.regions' index), from its
  // counts per population, measure and region
  function shown(mark, chosen) {
    const byRegion = new Map();
    let count = 0;
    for (const [population, measure, region, n] of data.marks[mark.dataset.mark][0]) {
      if (!passes(data.populations[population], data.measures[measure], mark.dataset.direction, chosen)) continue;
      count += n;
      byRegion.set(region, (byRegion.get(region) || 0) + n);
    }
    return {count, byRegion};
  }

  // the sub-regions of the mark's column its shown findings sit in, as grid.within says them
  function within(mark, byRegion) {
    return [...byRegion.keys()].filter((i) => i >= 0 && data.regions[i].region_id !== mark.dataset.column)
      .sort((a, b) => a - b).map((i) => byRegion.get(i) + " in " + regionWords(data.regions[i]));
  }

  // a row's agreement from its cells (column → set of directions), as grid.agreement judges it
  function agreement(cells) {
    const located = [...cells].filter(([column, set]) => column !== data.lost && set.size).map(([, set]) => set);
    const every = new Set([...located.flatMap((set) => [...set]), ...(cells.get(data.lost) || [])]);
    const mixed = located.filter((set) => set.size > 1).length;
    if (mixed) return AGREEMENT.mixed_in[mixed === 1 ? 0 : 1].replace("{n}", String(mixed));
    if (every.size === 1) return AGREEMENT.all[[...every][0]];
    if (!every.size) return "";
    return new Set(located.flatMap((set) => [...set])).size > 1 ? AGREEMENT.by_region : AGREEMENT.location_lost;
  }

  // a population chosen hides the other populations' columns
  function showColumns(chosen) {
    for (const cell of document.querySelectorAll("#evidence-map [data-population]")) {
      cell.hidden = chosen.population !== "all" && cell.dataset.population !== chosen.population;
    }
  }

  function apply() {
    const chosen = filters();
    showColumns(chosen);
    let shownFindings = 0;
    let shownRows = 0;
    for (const group of document.querySelectorAll("tbody[data-category]")) {
      let groupRows = 0;
      for (const row of group.querySelectorAll("tr[data-molecule]")) {
        const cells = new Map();
        let count = 0;
        for (const mark of row.querySelectorAll("button.mark")) {
          const {count: n, byRegion} = shown(mark, chosen);
          const sub = within(mark, byRegion);
          mark.dataset.shown = String(n);
          mark.hidden = n === 0;
          mark.querySelector(".count").textContent = n > 1 ? String(n) : "";
          mark.setAttribute("aria-label", WORDS[mark.dataset.direction] + ": " + phrase(n) + ", "
            + row.dataset.label + ", " + mark.dataset.where + (sub.length ? "; " + sub.join(", ") : ""));
          if (n) {
            count += n;
            if (!cells.has(mark.dataset.column)) cells.set(mark.dataset.column, new Set());
            cells.get(mark.dataset.column).add(mark.dataset.direction);
          }
        }
        row.hidden = count === 0;
        row.querySelector("td.total").textContent = String(count);
        row.querySelector("td.agreement").textContent = agreement(cells);
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
    references(f).forEach((ref, i) => {
      if (i) span.append("; ");
      span.append(referenceLink(ref));
    });
    return span;
  }

  const references = (f) => (f.references || "").split(";").map((r) => r.trim()).filter(Boolean);

  // a reference as a link: PMID:n to PubMed, a DOI (10.…, or doi:10.…) to doi.org; anything else as text
  function referenceLink(ref) {
    const pmid = /^PMID:(\d+)$/i.exec(ref);
    const doi = /^(?:doi:)?(10\.\d{4,9}\/\S+)$/i.exec(ref);
    if (!pmid && !doi) return ref;
    const link = document.createElement("a");
    link.textContent = ref;
    link.href = pmid ? "https://pubmed.ncbi.nlm.nih.gov/" + pmid[1] + "/"
      : "https://doi.org/" + encodeURIComponent(doi[1]).replace(/%2F/g, "/");
    return link;
  }

  // the references the shown findings cite, each once with how many of them cite it, or why there are none
  function citedBy(sample, complete) {
    const counts = new Map();
    for (const f of sample) for (const ref of references(f)) counts.set(ref, (counts.get(ref) || 0) + 1);
    const note = document.createElement("p");
    note.className = "cited";
    if (!counts.size) {
      note.textContent = "References: none; " + (sample.some((f) => f.citation_status === "reference_lost_in_source")
        ? "the source cites references whose numbers its export lost." : "the source gives none.");
      return note;
    }
    note.append(complete ? "References of these findings: " : "References of the findings shown here: ");
    [...counts].forEach(([ref, n], i) => {
      if (i) note.append("; ");
      note.append(referenceLink(ref), " (" + phrase(n) + ")");
    });
    return note;
  }

  function describe(f, columnOf) {
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
    const column = regions.get(columnOf);
    add(list, "Region", !region ? "unknown (lost in source)" : regionWords(region)
      + (column && f.region_id !== columnOf ? ", within " + regionWords(column) : ""));
    add(list, "Species", f.species);
    add(list, "Qualifier", f.qualifier);
    add(list, "Notes", f.notes);
    add(list, "References", referenceList(f));
    add(list, "location_status", f.location_status);
    add(list, "citation_status", f.citation_status);
    article.append(heading, list);
    return article;
  }

  // where the findings a mark does not carry are: the published table, filtered as the page is
  function elsewhere(mark, carried, count, chosen) {
    const ids = [...shown(mark, chosen).byRegion.keys()].sort((a, b) => a - b)
      .map((i) => (i >= 0 ? data.regions[i].region_id : "(empty)"));
    const by = ["molecule_id=" + mark.closest("tr").dataset.molecule,
                "region_id=" + (ids.length ? ids.join(" or ") : "(empty)"), "direction=" + mark.dataset.direction];
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
    const sub = within(mark, shown(mark, chosen).byRegion);
    const parts = sub.length ? [Object.assign(document.createElement("p"), {className: "within",
      textContent: "Within this column: " + sub.join(", ") + "."})] : [];
    body.replaceChildren(...more, ...parts, citedBy(sample, count === sample.length),
      ...sample.map((f) => describe(f, mark.dataset.column)));
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
