"""How long the evidence map takes, and how big the page gets, as the package grows.

Run: python benchmarks/report_scale.py [N ...]   (default: 93 1000 10000 findings)

Findings are the published ones, repeated with new ids and spread over the 14 region columns (a package
with curated locations and contributions); molecules, regions and sources are the published tables.
Prints one line per size: findings, seconds for the grid + page, for the figure (SVG + PNG), page size.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.report.figure import render_figure  # noqa: E402
from pipeline.report.grid import evidence_map, read_tables  # noqa: E402
from pipeline.report.page import render_html  # noqa: E402


def grown(tables: dict, size: int) -> dict:
    regions = tables["regions"]
    findings = []
    for number in range(size):
        finding = dict(tables["findings"][number % len(tables["findings"])])
        slot = number % (len(regions) + 1)  # one slot in 15 stays lost in source
        region = regions[slot] if number >= len(tables["findings"]) and slot < len(regions) else None
        finding["finding_id"] = f"fnd-{number:012x}"
        if region is not None:  # located: a curated finding in one of the 14 columns
            finding.update(region_id=region["region_id"], population=region["population"], location_status="curated")
        findings.append(finding)
    return {**tables, "findings": findings}


def main(sizes: list[int]) -> None:
    tables = read_tables(ROOT / "data")
    print(f"{'findings':>9} {'grid+page s':>12} {'figure s':>9} {'page KiB':>9}")
    for size in sizes:
        started = time.perf_counter()
        emap = evidence_map(grown(tables, size))
        page = render_html(emap, "ketamap", "bench").encode("utf-8")
        middle = time.perf_counter()
        render_figure(emap, "ketamap", "bench", 150)
        done = time.perf_counter()
        print(f"{size:>9} {middle - started:>12.2f} {done - middle:>9.2f} {len(page) / 1024:>9.0f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [93, 1000, 10000])
