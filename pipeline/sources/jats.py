"""jats: a table in an article's JATS XML (PubMed Central, Europe PMC) → findings with region,
population and references.

In JATS a table keeps what the text export lost: each cell's column (`colspan`/`rowspan` in a
`<table>`) and its citations (`<xref ref-type="bibr" rid="B12">` into the `<ref-list>`, whose
`<pub-id pub-id-type="pmid">` and DOI we publish). The table is found by its label, its header
rows are expanded into each column's header path (population → group → region) and checked
against schemas/review-layout.csv, and each body cell is read with the export parser's `parse_cell`.

Element names are matched by local name, so the same code reads Europe PMC's namespace-free
article and PMC OAI's `<OAI-PMH>` envelope whose `<article>` has a default namespace. The XML
is parsed with expat directly, to know each element's line; a document that declares entities
is refused (the entity-expansion attacks that defusedxml guards against need one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element

from pipeline.core.files import check_recorded_sha256
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.vocab import Vocabulary
from pipeline.findings.cells import default_measure, parse_cell
from pipeline.findings.ids import finding_id
from pipeline.findings.record import finding_record
from pipeline.sources.export import check_legend, parse_legend
from pipeline.sources.xml import XmlDocument, children, descendants, first, local, parse_xml, text_of

XLINK = "http://www.w3.org/1999/xlink"
MAX_SPAN = 1000  # HTML caps colspan at 1000; a larger span is a broken (or hostile) table
RANGE_DASHES = {"–", "—", "-"}  # en dash, em dash, hyphen; never U+2212, the table's "no change"
CITATION_OPEN = "([ \t\n"
CITATION_CLOSE = ")] \t\n,;"


@dataclass(frozen=True)
class Reference:
    rid: str
    pmid: str
    doi: str
    first_author: str
    year: str
    line: int | None = None

    @property
    def identifier(self) -> str:
        """What `findings.references` publishes: the PMID when the reference list gives one, else the DOI."""
        return f"PMID:{self.pmid}" if self.pmid else self.doi


@dataclass
class JatsCell:
    text: str  # the cell's text as printed, citation numbers included, whitespace collapsed
    direction: str
    qualifier: str
    regions: list[dict[str, str]]  # one per column the cell spans
    references: list[Reference]
    citation_marker: bool  # a '(' with no linked citation: the number was lost
    ordinal: int  # 1-based among the row's non-empty cells, as in the export
    line: int | None


@dataclass
class JatsRow:
    label: str
    line: int | None
    cells: list[JatsCell]


@dataclass
class JatsTable:
    file: str
    metadata: dict[str, str]
    rows: list[JatsRow]
    legend: dict[str, str]
    references: dict[str, Reference]


def find_article(doc: XmlDocument, file: str) -> Element:
    article = doc.root if local(doc.root.tag) == "article" else first(doc.root, "article")
    if article is None:
        error = first(doc.root, "error")  # an OAI-PMH error answer (idDoesNotExist, …)
        said = f" (the server said: {text_of(error)})" if error is not None else ""
        raise ProblemsFound([Problem("not-jats", f"the file holds no JATS <article>{said}", file=file,
                                     line=doc.line(doc.root), value=local(doc.root.tag),
                                     suggestion="fetch the full text with `ketamap fetch-source`")])
    return article


def article_metadata(article: Element) -> dict[str, str]:
    """Identifiers and bibliographic data from <front>, in the export parser's field names."""
    meta: dict[str, str] = {}
    front = first(article, "front")
    if front is None:
        return meta
    journal = first(front, "journal-meta")
    article_meta = first(front, "article-meta")
    if journal is not None:
        ids = {el.get("journal-id-type", ""): text_of(el) for el in children(journal, "journal-id")}
        meta["journal"] = ids.get("nlm-ta") or ids.get("iso-abbrev") or text_of(first(journal, "journal-title"))
        issns = {(el.get("pub-type") or el.get("publication-format") or ""): text_of(el)
                 for el in descendants(journal, "issn")}
        meta["issn"] = issns.get("epub") or issns.get("electronic") or next(iter(issns.values()), "")
    if article_meta is not None:
        ids = {el.get("pub-id-type", ""): text_of(el) for el in children(article_meta, "article-id")}
        meta["pmid"] = ids.get("pmid", "")
        pmcid = ids.get("pmcid") or ids.get("pmc") or ""
        meta["pmcid"] = ("PMC" + pmcid) if pmcid.isdigit() else pmcid
        meta["doi"] = ids.get("doi", "")
        authors = []
        for contrib in descendants(article_meta, "contrib"):
            if contrib.get("contrib-type", "author") != "author":
                continue
            name = first(contrib, "name")
            if name is not None:
                authors.append(" ".join(filter(None, (text_of(first(name, "given-names")),
                                                      text_of(first(name, "surname"))))))
            elif first(contrib, "collab") is not None:
                authors.append(text_of(first(contrib, "collab")))
        meta["authors"] = ";".join(authors)
        dates = descendants(article_meta, "pub-date")
        preferred = [d for d in dates if (d.get("pub-type") or d.get("date-type")) in ("epub", "pub")]
        meta["year"] = text_of(first((preferred or dates or [None])[0], "year"))
        meta["keywords"] = ";".join(text_of(k) for k in descendants(article_meta, "kwd") if text_of(k))
    return {key: value for key, value in meta.items() if value}


def reference_list(article: Element, doc: XmlDocument) -> dict[str, Reference]:
    """Every <ref> of every <ref-list>, in document order (the order ranges like 12–15 follow)."""
    references: dict[str, Reference] = {}
    for ref_list in descendants(article, "ref-list"):
        for ref in children(ref_list, "ref"):
            rid = ref.get("id", "")
            ids = {el.get("pub-id-type", ""): text_of(el) for el in descendants(ref, "pub-id")}
            doi = ids.get("doi", "")
            if not doi:  # some citations give the DOI only as a link
                link = next((el.get(f"{{{XLINK}}}href", "") for el in descendants(ref, "ext-link")
                             if "doi" in el.get(f"{{{XLINK}}}href", "")), "")
                doi = re.sub(r"^https?://(dx\.)?doi\.org/", "", link) if link else ""
            group = next((g for g in descendants(ref, "person-group")
                          if g.get("person-group-type", "author") == "author"), ref)
            surname = first(group, "surname")
            collab = first(group, "collab")
            references[rid] = Reference(
                rid=rid,
                pmid=ids.get("pmid", ""),
                doi=doi,
                first_author=text_of(surname if surname is not None else collab),
                year=re.sub(r"[^0-9].*$", "", text_of(first(ref, "year"))),
                line=doc.line(ref),
            )
    return references


def find_table_wrap(article: Element, wanted: str, doc: XmlDocument, file: str) -> Element:
    def norm(text: str) -> str:
        return " ".join(text.lower().rstrip(".:").split())

    def label_of(wrap: Element) -> str:  # the wrap's own <label>, not a footnote's
        return text_of(next(iter(children(wrap, "label")), None))

    wraps = descendants(article, "table-wrap")
    for wrap in wraps:
        label = label_of(wrap)
        if norm(label) == norm(wanted) or wrap.get("id", "") == wanted:
            return wrap
    labels = [label_of(w) or w.get("id", "?") for w in wraps]
    raise ProblemsFound([Problem("no-table", f"the article has no table labelled {wanted!r}", file=file,
                                 line=doc.line(article), value=", ".join(labels) or None,
                                 suggestion="set source.jats_table in params.yaml to one of the labels found"
                                 if labels else "this article has no XML tables (it may print them as images)")])


def _span(cell: Element, name: str, doc: XmlDocument, file: str, problems: list[Problem]) -> int:
    raw = cell.get(name, "1").strip() or "1"
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_SPAN:  # '²'.isdigit() is True
        problems.append(Problem("bad-span", f"{name} must be a whole number from 1 to {MAX_SPAN}", file=file,
                                line=doc.line(cell), value=raw))
        return 1
    return int(raw)


def expand_rows(rows: list[Element], doc: XmlDocument, file: str, problems: list[Problem]) -> list[dict[int, Element]]:
    """The grid of a row group: grid[r][c] is the cell element covering row r, column c (HTML's algorithm)."""
    grid: list[dict[int, Element]] = [{} for _ in rows]
    for r, tr in enumerate(rows):
        column = 0
        for cell in (c for c in tr if local(c.tag) in ("td", "th")):
            while column in grid[r]:
                column += 1
            rowspan = _span(cell, "rowspan", doc, file, problems)
            colspan = _span(cell, "colspan", doc, file, problems)
            for dr in range(min(rowspan, len(rows) - r)):  # a span past the group's last row stops there
                for dc in range(colspan):
                    grid[r + dr][column + dc] = cell
            column += colspan
    return grid


def header_paths(grid: list[dict[int, Element]], width: int) -> list[list[Element]]:
    """Each column's header cells from top to bottom, a cell spanning several rows counted once."""
    paths = []
    for column in range(width):
        path: list[Element] = []
        for row in grid:
            cell = row.get(column)
            if cell is not None and (not path or path[-1] is not cell):
                path.append(cell)
        paths.append(path)
    return paths


def column_regions(paths: list[list[Element]], vocab: Vocabulary, doc: XmlDocument, file: str,
                   problems: list[Problem]) -> dict[int, dict[str, str]]:
    """Columns after the first (the molecule label) → regions, by their header path Population › Group › Region."""
    regions: dict[int, dict[str, str]] = {}
    seen: dict[str, int] = {}
    known = ", ".join(f"{r['population_header']} › {r['group_header']} › {r['region_header']}" for r in vocab.layout)
    for column, path in enumerate(paths[1:], 2):
        texts = [text_of(cell).rstrip(",:").strip() for cell in path]
        region = vocab.layout_region(*texts) if len(texts) == 3 else None
        if region is None:
            problems.append(Problem("unexpected-header", f"column {column}'s header is not a known region "
                                    "(expected Population › Group › Region)", file=file,
                                    line=doc.line(path[-1]) if path else None, value=" › ".join(texts),
                                    suggestion=f"known: {known}; the review's columns are listed in schemas/review-layout.csv"))
            continue
        if region["region_id"] in seen:
            problems.append(Problem("duplicate-column", f"columns {seen[region['region_id']]} and {column} both "
                                    f"have the header {' › '.join(texts)}", file=file, line=doc.line(path[-1]),
                                    value=region["region_id"]))
            continue
        seen[region["region_id"]] = column
        regions[column - 1] = region
    return regions


def _tokens(element: Element):
    """The element's content in document order: ('text', str) and ('xref', bibliographic xref element)."""
    if element.text:
        yield "text", element.text
    for child in element:
        if local(child.tag) == "xref" and child.get("ref-type") == "bibr":
            yield "xref", child
        elif local(child.tag) == "xref" and child.get("ref-type") == "table-fn":
            pass  # a footnote marker: kept in the cell's text, not read as a qualifier
        elif local(child.tag) == "break":
            yield "text", " "
        else:
            yield from _tokens(child)
        if child.tail:
            yield "text", child.tail


def read_citations(cell: Element, references: dict[str, Reference], order: list[str], doc: XmlDocument,
                   file: str, problems: list[Problem]) -> tuple[str, list[Reference]]:
    """(the cell's text without its citations, the references it cites, ranges like 12–15 expanded)."""
    tokens = list(_tokens(cell))
    xref_at = [i for i, (kind, _) in enumerate(tokens) if kind == "xref"]
    if not xref_at:
        return "".join(value for _, value in tokens), []
    before = "".join(v for _, v in tokens[:xref_at[0]]).rstrip(CITATION_OPEN)
    after = "".join(v for _, v in tokens[xref_at[-1] + 1:]).lstrip(CITATION_CLOSE)
    rids: list[str] = []
    kept_between: list[str] = []
    for position, index in enumerate(xref_at):
        xref = tokens[index][1]
        ids = xref.get("rid", "").split()
        if not ids:
            problems.append(Problem("broken-citation", "a citation link has no rid", file=file, line=doc.line(xref),
                                    value=text_of(xref), suggestion="give the <xref> the id of its <ref>"))
        if position + 1 < len(xref_at):
            between = "".join(v for _, v in tokens[index + 1:xref_at[position + 1]])
            following = tokens[xref_at[position + 1]][1].get("rid", "").split()
            if between.strip() in RANGE_DASHES and ids and following:
                start, end = ids[-1], following[0]
                if start in order and end in order and order.index(start) < order.index(end):
                    rids.extend(ids[:-1] + order[order.index(start):order.index(end)])
                    continue
                problems.append(Problem("broken-citation", f"the citation range {start}{between.strip()}{end} does "
                                        "not run forwards through the reference list", file=file,
                                        line=doc.line(xref), value=text_of(cell)))
            elif between.strip(" \t\n,;"):
                kept_between.append(between.strip(CITATION_CLOSE).rstrip(CITATION_OPEN))
        rids.extend(ids)
    cited: list[Reference] = []
    for rid in dict.fromkeys(rids):
        if rid not in references:
            problems.append(Problem("broken-citation", f"the citation {rid!r} is not in the reference list",
                                    file=file, line=doc.line(cell), value=text_of(cell),
                                    suggestion="check the <ref id> in <back><ref-list>"))
        elif not references[rid].identifier:
            reference = references[rid]
            problems.append(Problem("reference-without-identifier", f"reference {rid} ({reference.first_author} "
                                    f"{reference.year}) has neither a PMID nor a DOI", file=file,
                                    line=reference.line, value=rid,
                                    suggestion="add its <pub-id pub-id-type=\"pmid\"> or build from the export"))
        else:
            cited.append(references[rid])
    return " ".join(part for part in (before, *kept_between, after) if part.strip()), cited


def body_rows(body: list[dict[int, Element]], width: int, regions: dict[int, dict[str, str]],
              references: dict[str, Reference], vocab: Vocabulary, doc: XmlDocument, file: str,
              problems: list[Problem]) -> list[JatsRow]:
    """Molecule rows: grid rows sharing one label cell (a label spanning rows) form one row."""
    order = list(references)
    rows: list[JatsRow] = []
    groups: list[list[dict[int, Element]]] = []
    for grid_row in body:
        label_cell = grid_row.get(0)
        if groups and label_cell is not None and groups[-1][0].get(0) is label_cell:
            groups[-1].append(grid_row)
        else:
            groups.append([grid_row])
    for group in groups:
        label_cell = group[0].get(0)
        distinct = list(dict.fromkeys(row[column] for row in group for column in sorted(row)))
        if all(not text_of(cell) for cell in distinct):
            continue  # an empty spacer row
        if len(distinct) == 1 and len(group[0]) == width and width > 1:
            continue  # a section heading spanning the whole table, e.g. "Glutamatergic signalling"
        label = text_of(label_cell)
        line = doc.line(label_cell) or doc.line(distinct[0])
        if not label:
            problems.append(Problem("missing-label", "the row has no molecule label in its first cell", file=file,
                                    line=line, value=" | ".join(text_of(c) for c in distinct)))
            continue
        cells: list[JatsCell] = []
        for cell in distinct:
            if cell is label_cell:
                continue
            columns = sorted({c for row in group for c, el in row.items() if el is cell})
            text = text_of(cell)
            if not text:
                continue
            unplaced = [c + 1 for c in columns if c not in regions]
            if unplaced:
                problems.append(Problem("cell-outside-columns", f"the cell sits in column(s) {unplaced} that have "
                                        "no region header", file=file, line=doc.line(cell), value=text))
                continue
            direction_text, cited = read_citations(cell, references, order, doc, file, problems)
            try:
                parsed = parse_cell(direction_text, vocab)
            except ValueError as error:
                problems.append(Problem("unknown-symbol" if "symbol" in str(error) else "malformed-cell", str(error),
                                        file=file, line=doc.line(cell), column=f"cell {len(cells) + 1}", value=text,
                                        suggestion="a cell holds a direction symbol, an optional qualifier and its "
                                        "citations as <xref ref-type=\"bibr\" rid=\"…\"> links"))
                continue
            cells.append(JatsCell(text=text, direction=parsed.direction, qualifier=parsed.qualifier,
                                  regions=[regions[c] for c in columns], references=cited,
                                  citation_marker=parsed.cited and not cited, ordinal=len(cells) + 1,
                                  line=doc.line(cell)))
        rows.append(JatsRow(label=label, line=line, cells=cells))
    return rows


def read_legend(wrap: Element, vocab: Vocabulary, doc: XmlDocument, file: str,
                problems: list[Problem]) -> dict[str, str]:
    foot = first(wrap, "table-wrap-foot")
    paragraphs = descendants(foot, "p") if foot is not None else []
    legend_p = next((p for p in paragraphs if "ndicates" in text_of(p)), None)
    if legend_p is None:
        problems.append(Problem("missing-legend", "the table has no legend ('↑ Indicates increase, …') in its "
                                "<table-wrap-foot>", file=file, line=doc.line(wrap),
                                suggestion="check that this is the article's Table 1"))
        return {}
    legend = parse_legend(text_of(legend_p))
    problems.extend(check_legend(legend, vocab, file, doc.line(legend_p)))
    return legend


def parse_jats(data: bytes, file: str, vocab: Vocabulary, table_label: str = "Table 1") -> JatsTable:
    """Parse one table of a JATS article; raise ProblemsFound listing every structural problem at once."""
    doc = parse_xml(data, file)
    article = find_article(doc, file)
    wrap = find_table_wrap(article, table_label, doc, file)
    table = first(wrap, "table")
    if table is None:
        raise ProblemsFound([Problem("no-table", f"{table_label} has no XML <table> (only an image?)", file=file,
                                     line=doc.line(wrap))])
    problems: list[Problem] = []
    all_rows = descendants(table, "tr")
    head = [tr for section in descendants(table, "thead") for tr in children(section, "tr")]
    if not head:  # some tables mark header rows by <th> cells only
        for tr in all_rows:
            cells = [c for c in tr if local(c.tag) in ("td", "th")]
            if not cells or any(local(c.tag) != "th" for c in cells):
                break
            head.append(tr)
    foot = [tr for section in descendants(table, "tfoot") for tr in children(section, "tr")]
    body = [tr for tr in all_rows if tr not in head and tr not in foot]
    head_grid = expand_rows(head, doc, file, problems)
    body_grid = expand_rows(body, doc, file, problems)
    width = max((max(row) + 1 for row in head_grid + body_grid if row), default=0)
    if not head:
        problems.append(Problem("missing-header", f"{table_label} has no header rows (<thead>)", file=file,
                                line=doc.line(table)))
        raise ProblemsFound(problems)
    regions = column_regions(header_paths(head_grid, width), vocab, doc, file, problems)
    if problems:  # a table of another shape: say so once per column, not once per cell
        raise ProblemsFound(problems)
    references = reference_list(article, doc)
    rows = body_rows(body_grid, width, regions, references, vocab, doc, file, problems)
    legend = read_legend(wrap, vocab, doc, file, problems)

    seen: dict[str, JatsRow] = {}
    for row in rows:
        molecule = molecule_for(row.label, vocab)
        if molecule is None:
            problems.append(Problem("unknown-molecule", "the molecule label is not in schemas/molecules.csv",
                                    file=file, line=row.line, value=row.label,
                                    suggestion="a new molecule enters by adding a row to schemas/molecules.csv"))
        elif molecule["molecule_id"] in seen:
            problems.append(Problem("duplicate-row", f"the molecule repeats the row on line "
                                    f"{seen[molecule['molecule_id']].line}", file=file, line=row.line, value=row.label))
        else:
            seen[molecule["molecule_id"]] = row
    if problems:
        raise ProblemsFound(problems)
    return JatsTable(file, article_metadata(article), rows, legend, references)


def molecule_for(label: str, vocab: Vocabulary) -> dict[str, str] | None:
    """The vocabulary's molecule; a label the export truncated (`AMPAR/`) also matches its full form."""
    if label in vocab.molecule_by_label:
        return vocab.molecule_by_label[label]
    truncated = [m for m in vocab.molecules if m["label_truncated"] == "true" and label.startswith(m["label"])]
    return truncated[0] if len(truncated) == 1 else None


def jats_findings(table: JatsTable, vocab: Vocabulary, source_id: str,
                  ids: dict[tuple[str, int], str] | None = None) -> list[dict]:
    """One finding per cell and column; ids as the export gives them (or as `ids` maps (label, ordinal))."""
    findings = []
    for row in table.rows:
        molecule = molecule_for(row.label, vocab)
        assert molecule is not None  # parse_jats refused unknown labels
        for cell in row.cells:
            base_id = (ids or {}).get((row.label, cell.ordinal)) or finding_id(source_id, molecule["label"], cell.ordinal)
            measure = default_measure(molecule, cell.qualifier)
            for position, region in enumerate(cell.regions):
                findings.append(finding_record(
                    # A cell spanning columns is one cell of the export: its first column keeps the id.
                    finding_id=base_id if position == 0 else finding_id(base_id, region["region_id"]),
                    source_id=source_id,
                    molecule_label=row.label,
                    molecule=molecule,
                    measure=measure,
                    direction=cell.direction,
                    population=region["population"],
                    region_id=region["region_id"],
                    location_status="reported",
                    species="",
                    qualifier=cell.qualifier,
                    references=";".join(dict.fromkeys(r.identifier for r in cell.references)),
                    citation_status="cited" if cell.references else (
                        "reference_lost_in_source" if cell.citation_marker else "no_citation_in_source"),
                    label_truncated=row.label == molecule["label"] and molecule["label_truncated"] == "true",
                    source_row=cell.line,
                    source_cell=cell.ordinal,
                    source_text=cell.text,
                ))
    return findings


def read_jats(path: Path, root: Path, vocab: Vocabulary, table_label: str) -> tuple[JatsTable, bytes, str]:
    relative = path.resolve().relative_to(root.resolve()).as_posix() if path.resolve().is_relative_to(
        root.resolve()) else str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProblemsFound([Problem("missing-source", f"cannot read the JATS file: {error.strerror}", file=relative,
                                     suggestion="run `ketamap fetch-source` (needs internet) or set source.kind: "
                                     "export in params.yaml")]) from None
    check_recorded_sha256(path, raw, relative, "fetch it again with `ketamap fetch-source --force`")
    return parse_jats(raw, relative, vocab, table_label), raw, relative
