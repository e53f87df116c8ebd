"""The evidence map as a figure for papers and slides: the same grid as SVG and PNG (matplotlib).

Drawn in inches from the top-left corner; no date, no software version, a fixed SVG hash salt, so the
same grid gives the same bytes.
"""

from __future__ import annotations

import io

from pipeline.core.citation import short_citation
from pipeline.report.grid import (DIRECTIONS, LOST, POPULATION_HEADINGS, SYMBOLS, WORDS, EvidenceMap, header_runs,
                                  lost_count, origin, summary, version_words)

# Okabe & Ito's colour-blind-safe palette: vermillion up, blue down; no change is drawn in outline.
COLOURS = {"increase": "#D55E00", "decrease": "#0072B2", "no_change": "#000000"}
# The symbol on each mark: black on vermillion (5.4:1; white would be 3.9:1), white on blue (5.0:1).
TEXT_COLOURS = {"increase": "black", "decrease": "white", "no_change": "black"}
MARGIN, LABEL_W, SLOT_W, TOTAL_W, AGREEMENT_W, LOST_MIN_W = 0.25, 1.9, 0.5, 0.7, 1.3, 1.25
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
                     f"population of {lost} of {emap.counts.total} findings are unknown; they are not placed "
                     "in a guessed region.")
    if any(row.molecule.get("label_truncated") == "true" for row in emap.rows):
        notes.append("\u2020 label truncated in the source export; kept verbatim.")
    notes.append("Agreement is judged per region column: \u201cmixed\u201d only where findings differ in the same "
                 "column (sub-regions in their parent's); \u201cdiffers by region\u201d where columns differ.")
    notes.append(f"Data: {name} {version_words(version)}, CC BY 4.0. Every mark's finding_id, references and "
                 "verbatim source cell: reports/evidence-map.html.")
    return notes


def figure_size(emap: EvidenceMap, name: str, version: str) -> tuple[float, float, dict[str, float]]:
    slots = column_slots(emap)
    widths = {c.key: max(1, len(slots[c.key])) * SLOT_W for c in emap.columns}
    widths[LOST] = max(widths[LOST] + 0.1, LOST_MIN_W)
    width = 2 * MARGIN + LABEL_W + sum(widths.values()) + TOTAL_W + AGREEMENT_W
    height = TITLE_H + 3 * HEAD_H + len(emap.categories) * CATEGORY_H + len(emap.rows) * ROW_H + LEGEND_H + NOTE_H * len(figure_notes(emap, name, version)) + 0.1
    return round(width, 2), round(height, 2), widths


class _Drawing:
    """One figure's axes and layout: where each column starts, and the primitives the grid is drawn with."""

    def __init__(self, ax, emap: EvidenceMap, widths: dict[str, float]):
        from matplotlib.patches import FancyBboxPatch, Rectangle

        self.ax, self.emap, self.widths = ax, emap, widths
        self._fancy, self._rectangle = FancyBboxPatch, Rectangle
        self.slots = column_slots(emap)
        self.x_of: dict[str, float] = {}
        x = MARGIN + LABEL_W
        for column in emap.columns:
            self.x_of[column.key] = x
            x += widths[column.key]
        self.x_total, self.x_agreement = x, x + TOTAL_W
        self.right = self.x_agreement + AGREEMENT_W
        self.top = TITLE_H
        self.body_top = self.top + 3 * HEAD_H
        self.regions = [c for c in emap.columns if c.key != LOST]
        self.marks: dict[str, list[tuple[float, float, float, float, str]]] = {d: [] for d in DIRECTIONS}

    def text(self, x, y, s, **kw):
        kw.setdefault("fontsize", FONT)
        kw.setdefault("va", "center")
        kw.setdefault("parse_math", False)  # a label with $…$ in it is drawn as written, never as mathtext
        self.ax.text(x, y, s, **kw)

    def box(self, x, y, w, h, **kw):
        self.ax.add_artist(self._rectangle((x, y), w, h, **kw))  # add_patch would rescale the fixed axes

    def line(self, xs, ys, **kw):
        self.ax.plot(xs, ys, **kw)

    def mark(self, box_x, box_y, text_x, text_y, direction, label):
        """A direction's rounded mark, filled (outlined for no change), and its symbol: kept, and drawn
        with every other mark of its direction by `draw_marks`."""
        self.marks[direction].append((box_x, box_y, text_x, text_y, label))

    def draw_marks(self):
        """Every mark as a few collections (one per direction for the boxes, one per symbol for the
        labels, as matplotlib's scatter draws its points), not an artist each: a grid of thousands of
        marks then draws in about the time of a few. Boxes are sized in inches, labels in points,
        so both scale with the dpi the figure is saved at (72 for the SVG)."""
        from matplotlib.collections import PathCollection
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextPath
        from matplotlib.transforms import Affine2D

        inches = Affine2D().scale(1, -1) + self.ax.figure.dpi_scale_trans  # the axes run downwards
        points = Affine2D().scale(1 / 72) + self.ax.figure.dpi_scale_trans
        box = self._fancy((0, 0), SLOT_W - 0.08, ROW_H - 0.05, boxstyle="round,pad=0,rounding_size=0.035").get_path()
        bold = FontProperties(family="DejaVu Sans", weight="bold", size=FONT)
        line = _extents(TextPath((0, 0), "lp", size=FONT, prop=bold))  # a line's height, as va="center" uses
        for direction, marks in self.marks.items():
            if not marks:
                continue
            filled = direction != "no_change"
            self.ax.add_collection(PathCollection(
                [box], offsets=[(x, y) for x, y, _, _, _ in marks], offset_transform=self.ax.transData,
                transform=inches, facecolors=COLOURS[direction] if filled else "white",
                edgecolors=COLOURS[direction], linewidths=0.8, zorder=1), autolim=False)
            by_label: dict[str, list[tuple[float, float]]] = {}
            for _, _, x, y, label in marks:
                by_label.setdefault(label, []).append((x, y))
            for label, places in by_label.items():  # a label starts with its direction's symbol: made once
                path = TextPath((0, 0), label, size=FONT, prop=bold)
                x0, _, x1, _ = _extents(path)
                centred = path.transformed(Affine2D().translate(-(x0 + x1) / 2, -(line[1] + line[3]) / 2))
                self.ax.add_collection(PathCollection(
                    [centred], offsets=places, offset_transform=self.ax.transData, transform=points,
                    facecolors=TEXT_COLOURS[direction], edgecolors="none", linewidths=0, zorder=3), autolim=False)


def _extents(path) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of a glyph path's points (its control points included: `Path.get_extents` solves
    every curve, seconds for a few hundred labels, to move a label by less than a pixel)."""
    points = path.vertices if path.codes is None else path.vertices[path.codes != path.CLOSEPOLY]
    return (*points.min(axis=0), *points.max(axis=0))


def _draw_title(d: _Drawing, name: str, version: str) -> None:
    review = d.emap.review
    d.text(MARGIN, 0.25, f"Evidence map: molecular changes induced by ketamine ({name} {version})",
           fontsize=12, weight="bold")
    source = f"Table 1 of {short_citation(review)}, doi:{review.get('doi', '')}" if review else "the package's sources"
    d.text(MARGIN, 0.5, f"{summary(d.emap)}: {origin(d.emap, source)}", fontsize=FONT, color="#333333")


def _draw_header(d: _Drawing) -> None:
    """Animals | Humans → groups → regions; the lost, total and agreement headers span all three rows."""
    top, widths, x_of = d.top, d.widths, d.x_of
    d.box(MARGIN, top, d.right - MARGIN, 3 * HEAD_H, facecolor="#F3F4F6", edgecolor="none")
    d.box(x_of[LOST], top, widths[LOST], 3 * HEAD_H, facecolor="#EDE6D3", edgecolor="none")
    d.text(MARGIN + 0.05, top + 2.5 * HEAD_H, "Molecule", weight="bold")
    for level, key in enumerate((lambda c: c.population, lambda c: (c.population, c.group))):
        first = 0
        for value, span in header_runs(d.regions, key):
            x0 = x_of[d.regions[first].key]
            x1 = x0 + sum(widths[c.key] for c in d.regions[first:first + span])
            label = POPULATION_HEADINGS.get(value, value) if level == 0 else value[1]
            d.text((x0 + x1) / 2, top + (level + 0.5) * HEAD_H, label, ha="center",
                   weight="bold" if level == 0 else "normal")
            d.line([x0 + 0.04, x1 - 0.04], [top + (level + 1) * HEAD_H - 0.03] * 2, color="#777777", lw=0.6)
            first += span
    for c in d.regions:
        d.text(x_of[c.key] + widths[c.key] / 2, top + 2.5 * HEAD_H, c.label, ha="center")
    d.text(x_of[LOST] + widths[LOST] / 2, top + 1.5 * HEAD_H, "Location lost\nin source", ha="center",
           weight="bold", linespacing=1.1)
    d.text(d.x_total + TOTAL_W / 2, top + 1.5 * HEAD_H, "Findings", ha="center", weight="bold")
    d.text(d.x_agreement + AGREEMENT_W / 2, top + 1.5 * HEAD_H, "Agreement", ha="center", weight="bold")


def _draw_body(d: _Drawing) -> float:
    """The categories and their rows of marks; returns the y of the body's bottom edge."""
    emap, widths, x_of, slots = d.emap, d.widths, d.x_of, d.slots
    y = d.body_top
    d.box(x_of[LOST], d.body_top, widths[LOST],
          len(emap.categories) * CATEGORY_H + len(emap.rows) * ROW_H, facecolor="#F5F1E6", edgecolor="none")
    for category, rows in emap.categories:
        d.box(MARGIN, y, d.right - MARGIN, CATEGORY_H, facecolor="#E8EEF5", edgecolor="none")
        d.text(MARGIN + 0.05, y + CATEGORY_H / 2, category, weight="bold", style="italic", color="#222222")
        y += CATEGORY_H
        for row in rows:
            truncated = " \u2020" if row.molecule.get("label_truncated") == "true" else ""
            d.text(MARGIN + 0.12, y + ROW_H / 2, row.molecule["label"] + truncated)
            for key, by_direction in row.cells.items():
                for direction, mark in by_direction.items():
                    slot = slots[key].index(direction)
                    cx = x_of[key] + (widths[key] - len(slots[key]) * SLOT_W) / 2 + (slot + 0.5) * SLOT_W
                    label = SYMBOLS[direction] + (str(mark.count) if mark.count > 1 else "")
                    d.mark(cx - SLOT_W / 2 + 0.04, y + 0.025, cx, y + ROW_H / 2, direction, label)
            d.text(d.x_total + TOTAL_W / 2, y + ROW_H / 2, str(row.total), ha="center")
            d.text(d.x_agreement + AGREEMENT_W / 2, y + ROW_H / 2, row.agreement, ha="center")
            d.line([MARGIN, d.right], [y + ROW_H] * 2, color="#DDDDDD", lw=0.5)
            y += ROW_H
    return y


def _draw_grid_lines(d: _Drawing, body_bottom: float) -> None:
    """A heavier line between Animals and Humans and around the lost column."""
    columns, top = d.emap.columns, d.top
    for previous, column in zip(columns, columns[1:]):
        heavy = column.key == LOST or column.population != previous.population
        starts = top if heavy else top + (HEAD_H if column.group != previous.group else 2 * HEAD_H)
        d.line([d.x_of[column.key]] * 2, [starts, body_bottom],
               color="#555555" if heavy else "#D0D0D0", lw=1.0 if heavy else 0.5)
    for xv in (MARGIN + LABEL_W, d.x_total, d.x_agreement):
        d.line([xv] * 2, [top, body_bottom], color="#555555", lw=1.0)
    d.line([MARGIN, d.right], [d.body_top] * 2, color="#555555", lw=1.0)
    d.line([MARGIN, d.right], [body_bottom] * 2, color="#555555", lw=1.0)


def _draw_legend(d: _Drawing, body_bottom: float, name: str, version: str) -> None:
    y = body_bottom + 0.25
    x = MARGIN
    for direction in DIRECTIONS:
        d.mark(x, y - ROW_H / 2 + 0.025, x + (SLOT_W - 0.08) / 2, y, direction, SYMBOLS[direction])
        d.text(x + SLOT_W, y, WORDS[direction])
        x += SLOT_W + 0.95
    d.text(x, y, "A number beside a symbol counts the findings it stands for.", color="#333333")
    for number, note in enumerate(figure_notes(d.emap, name, version)):
        d.text(MARGIN, y + 0.3 + number * NOTE_H, note, fontsize=FONT - 0.5, color="#333333")


def render_figure(emap: EvidenceMap, name: str, version: str, dpi: int) -> tuple[bytes, bytes]:
    """The grid as (SVG, PNG) bytes; no date, no software version, fixed hash salt."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height, widths = figure_size(emap, name, version)
    with matplotlib.rc_context({"svg.hashsalt": "ketamap-evidence-map", "svg.fonttype": "path",
                                "font.family": "DejaVu Sans", "path.simplify": False}):
        figure = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
        FigureCanvasAgg(figure)
        ax = figure.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.axis("off")
        drawing = _Drawing(ax, emap, widths)
        _draw_title(drawing, name, version)
        _draw_header(drawing)
        body_bottom = _draw_body(drawing)
        _draw_grid_lines(drawing, body_bottom)
        _draw_legend(drawing, body_bottom, name, version)
        drawing.draw_marks()
        svg, png = io.BytesIO(), io.BytesIO()
        figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None, "Title": f"{name} evidence map"})
        figure.savefig(png, format="png", dpi=dpi, metadata={"Software": None, "Title": f"{name} evidence map"})
    return svg.getvalue(), png.getvalue()
