"""How long the evidence map takes, and how big its files get, as the package grows.

Run: python benchmarks/report_scale.py [N ...]   (default: 1000 10000 100000 1000000 findings)

For each size it writes a package folder (in a temporary directory) whose findings.csv holds the
published findings repeated with new ids, each copy but one in (regions + 1) placed in one of the
regions of regions.csv (a package with curated locations and contributions), the rest lost in source; molecules,
regions and sources are the published tables. Then, in a fresh Python process per size, it times the
report's steps on it: reading the tables, the grid, the page, the figure (SVG + PNG), and prints the
process's CPU time (all threads, imports included), the sizes of the page, the SVG and the PNG and the
process's peak RSS.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_package(folder: Path, size: int) -> None:
    """ROOT/data's tables with `size` findings, as described above."""
    import polars as pl

    for name in ("molecules", "regions", "sources"):
        shutil.copy(ROOT / "data" / f"{name}.csv", folder / f"{name}.csv")
    published = pl.read_csv(ROOT / "data" / "findings.csv", infer_schema=False)
    regions = pl.read_csv(ROOT / "data" / "regions.csv", infer_schema=False)
    number = pl.int_range(0, size, eager=True).alias("number")
    base = pl.DataFrame({"number": number}).with_columns(
        (pl.col("number") % published.height).alias("template"),
        (pl.col("number") % (regions.height + 1)).alias("slot"))
    rows = base.join(published.with_row_index("template").with_columns(pl.col("template").cast(pl.Int64)),
                     on="template", how="left")
    located = regions.with_row_index("slot").select(
        pl.col("slot").cast(pl.Int64), pl.col("region_id").alias("r_id"), pl.col("population").alias("r_pop"))
    rows = rows.join(located, on="slot", how="left").with_columns(
        placed=(pl.col("number") >= published.height) & pl.col("r_id").is_not_null())
    rows = rows.with_columns(
        finding_id=pl.format("fnd-{}", pl.col("number").map_elements(lambda n: f"{n:012x}", return_dtype=pl.String)),
        region_id=pl.when("placed").then("r_id").otherwise("region_id"),
        population=pl.when("placed").then("r_pop").otherwise("population"),
        location_status=pl.when("placed").then(pl.lit("curated")).otherwise("location_status"))
    rows.select(published.columns).write_csv(folder / "findings.csv")


def measure(folder: Path) -> dict:
    """Time the report's steps on the package in `folder` (run in a fresh process)."""
    from pipeline.report.figure import render_figure
    from pipeline.report.grid import evidence_map, read_tables
    from pipeline.report.page import render_html

    times = {}
    started = time.perf_counter()
    tables = read_tables(folder)
    times["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    emap = evidence_map(tables)
    times["grid"] = time.perf_counter() - mark
    mark = time.perf_counter()
    page = render_html(emap, "ketamap", "bench").encode("utf-8")
    times["page"] = time.perf_counter() - mark
    mark = time.perf_counter()
    svg, png = render_figure(emap, "ketamap", "bench", 150)
    times["figure"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024  # KiB → MiB on Linux
    cpu = usage.ru_utime + usage.ru_stime  # every thread's, imports included
    return {"times": times, "cpu": cpu, "html": len(page), "svg": len(svg), "png": len(png), "peak_mib": peak}


def main(sizes: list[int]) -> None:
    print(f"{'findings':>9} {'read s':>7} {'grid s':>7} {'page s':>7} {'figure s':>8} {'total s':>8} "
          f"{'cpu s':>7} {'html KiB':>9} {'svg KiB':>8} {'png KiB':>8} {'peak MiB':>9}")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="ketamap-report-") as tmp:
            write_package(Path(tmp), size)
            done = subprocess.run([sys.executable, __file__, "--measure", tmp], capture_output=True, text=True)
            if done.returncode:
                sys.exit(done.stderr)
            r = json.loads(done.stdout)
        t = r["times"]
        print(f"{size:>9} {t['read']:>7.2f} {t['grid']:>7.2f} {t['page']:>7.2f} {t['figure']:>8.2f} {t['total']:>8.2f} "
              f"{r['cpu']:>7.2f} {r['html'] / 1024:>9.0f} {r['svg'] / 1024:>8.0f} {r['png'] / 1024:>8.0f} {r['peak_mib']:>9.0f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(Path(sys.argv[2]))))
    else:
        main([int(arg) for arg in sys.argv[1:]] or [1000, 10_000, 100_000, 1_000_000])
