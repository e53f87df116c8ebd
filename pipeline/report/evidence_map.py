"""report: the published tables → the evidence map, `reports/evidence-map.{html,svg,png}`.

The flow: `grid` reads the tables and lays out the grid (molecules × region columns, `anatomy` says
which column a region's findings sit in), `page` draws it as one self-contained HTML page (page.css,
page.js), `figure` as SVG and PNG. Reads only the published tables, the datapackage.json that
describes them (for the version they were built as), the vocabulary under schemas/ and `params.yaml`,
never the clock: the same tables give the same bytes.
"""

from __future__ import annotations

import json
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


def built_version(tables: Path, version: str) -> str:
    """The version the tables were built as: that of the datapackage.json beside their folder when it
    describes them (a resource's path leads to their findings.csv), e.g. `0.1.0+unreleased`; else `version`
    (params.yaml's), for a folder no descriptor describes."""
    descriptor = tables.parent / "datapackage.json"
    try:
        package = json.loads(descriptor.read_text(encoding="utf-8"))
        paths = [(descriptor.parent / r["path"]).resolve() for r in package["resources"] if isinstance(r["path"], str)]
        described = (tables / "findings.csv").resolve() in paths
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return version
    built = package.get("version")
    return built if described and isinstance(built, str) and built else version


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
    version = built_version(root / published, version)
    emap = evidence_map(read_tables(root / published), published)
    svg, png = render_figure(emap, name, version, dpi)
    return {
        out / HTML_FILE: render_html(emap, name, version).encode("utf-8"),
        out / SVG_FILE: svg,
        out / PNG_FILE: png,
    }


def draw(root: Path = Path("."), out: Path | None = None, data: Path | None = None) -> list[Path]:
    """Build and write the three files; `out` defaults to reports/, `data` to paths.published.
    A folder `out` that cannot be made is said before anything is drawn; folders made for a run
    that then fails are removed again."""
    params = read_params(root)
    made = _make_folder(out) if out is not None else []
    try:
        outputs = build(root, params, out, data)
        for path, data_bytes in outputs.items():
            atomic_write_bytes(path, data_bytes)
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    return list(outputs)


def _make_folder(out: Path) -> list[Path]:
    """Make `out` and its missing parents; the folders made, deepest first."""
    missing = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProblemsFound([Problem("unwritable-file", f"the folder cannot be made: {error.strerror or error}",
                                     file=str(out), suggestion="give a folder this user can write (--out)")]) from None
    return missing
