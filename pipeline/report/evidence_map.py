"""report: the published tables → the evidence map, `reports/evidence-map.{html,svg,png}`.

The flow: `grid` reads the tables and lays out the grid (molecules × region columns), `page` draws it
as one self-contained HTML page (page.css, page.js), `figure` as SVG and PNG. Reads only the published
tables, the vocabulary under schemas/ and `params.yaml`, never the clock: the same tables give the
same bytes.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.files import atomic_write_bytes
from pipeline.core.problems import Problem, ProblemsFound
from pipeline.core.settings import read_params
from pipeline.report.figure import render_figure
from pipeline.report.grid import evidence_map, read_tables
from pipeline.report.page import render_html

REPORT_DIR = "reports"
HTML_FILE, SVG_FILE, PNG_FILE = "evidence-map.html", "evidence-map.svg", "evidence-map.png"
DEFAULT_DPI = 150


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
