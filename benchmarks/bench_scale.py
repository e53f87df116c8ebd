"""How the build and the contributor's check grow with the dataset: many files, and a big package.

Two series, each in a temporary copy of the repository, whole processes started fresh (wall
seconds, CPU seconds, peak RSS from wait4):

- many files: N contribution files of R rows in data/contrib/ (N = 10, 100, 1000; R = 100), every
  stage as `dvc repro -f` runs it, against one file of N × R rows (the same findings), the pair back
  to back; the extract stage's ratio beside the whole build's;
- package size: a package of S findings (S = 1k, 10k, 100k, 1M), built by every stage
  (each stage's share printed), then `ketamap validate` of a 100-row contribution against it,
  `ketamap validate datapackage.json`, `frictionless validate datapackage.json`, and the size of
  the evidence map page and of the release zip;
- package validation only (`--series package`): packages of S findings made directly from the
  repository's package (bench_package.py, no stage run), `ketamap validate datapackage.json`
  against `frictionless validate datapackage.json`.

    python benchmarks/bench_scale.py                       # both series, default sizes (~20 min)
    python benchmarks/bench_scale.py --files 10 100 --sizes 1000 10000
    python benchmarks/bench_scale.py --series files
    python benchmarks/bench_scale.py --series package --sizes 1000 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_package import validation_series  # noqa: E402
from bench_validate import generate, measure  # noqa: E402
from conftest import copy_project  # noqa: E402

STAGES = ["extract", "validate", "package", "report", "release"]
BIN = Path(sys.executable).parent


def stage(project: Path, name: str) -> tuple[float, float, float]:
    seconds, rss, status, _, cpu = measure([sys.executable, "-m", "pipeline.cli.stage", name], cwd=project)
    if status != 0:
        raise SystemExit(f"stage {name} failed in {project}")
    return seconds, cpu, rss


def split_rows(bulk: Path, folder: Path, files: int, rows: int) -> None:
    """`files` contribution files of `rows` rows each, cut from one generated file (distinct findings)."""
    lines = bulk.read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    for number in range(files):
        part = body[number * rows:(number + 1) * rows]
        (folder / f"bench-{number:05d}.csv").write_text(header + "".join(part), encoding="utf-8")


def build(project: Path) -> tuple[float, float, float, dict[str, float]]:
    """Every stage in turn, as `dvc repro -f` runs them: (wall, CPU, peak RSS of the largest stage, wall per stage)."""
    walls, cpu, peak = {}, 0.0, 0.0
    for name in STAGES:
        wall, stage_cpu, rss = stage(project, name)
        walls[name], cpu, peak = wall, cpu + stage_cpu, max(peak, rss)
    return sum(walls.values()), cpu, peak, walls


def shares(walls: dict[str, float]) -> str:
    total = sum(walls.values())
    return " ".join(f"{name} {wall / total:.0%}" for name, wall in walls.items())


def many_files(counts: list[int], rows: int, work: Path) -> None:
    print(f"\n## many files of {rows} rows: the whole build (every stage), N files against one file of the same rows")
    print(f"{'files':>6} {'rows':>9} {'N files: wall':>14} {'CPU':>8} {'peak':>8} {'extract':>8} {'1 file: wall':>13} "
          f"{'CPU':>8} {'extract':>8} {'ratio':>6} {'extract ratio':>14} {'load':>10}")
    for files in counts:
        bulk = work / f"bulk-{files}.csv"
        generate(bulk, files * rows, 0.0)
        split = copy_project(work / f"split-{files}")
        split_rows(bulk, split / "data" / "contrib", files, rows)
        one = copy_project(work / f"one-{files}")
        shutil.copy(bulk, one / "data" / "contrib" / "bench-all.csv")
        before = os.getloadavg()[0]
        n_wall, n_cpu, n_rss, n_stages = build(split)  # the pair back to back, so both see the same load
        o_wall, o_cpu, _, o_stages = build(one)
        print(f"{files:>6} {files * rows:>9} {n_wall:>12.2f} s {n_cpu:>6.2f} s {n_rss:>5.0f} MB "
              f"{n_stages['extract']:>6.2f} s {o_wall:>11.2f} s {o_cpu:>6.2f} s {o_stages['extract']:>6.2f} s "
              f"{n_wall / o_wall:>5.2f}× {n_stages['extract'] / o_stages['extract']:>13.2f}× "
              f"{before:>4.1f}→{os.getloadavg()[0]:.1f}")
        print(f"{'':>16} shares, N files: {shares(n_stages)}; one file: {shares(o_stages)}")
        shutil.rmtree(split)
        shutil.rmtree(one)


def package_size(sizes: list[int], work: Path) -> None:
    print("\n## package size: forced rebuild, the contributor's check, package validation")
    sample = work / "sample-100.csv"
    generate(sample, 100, 0.0, seed=7)
    for size in sizes:
        project = copy_project(work / f"pkg-{size}")
        generate(project / "data" / "contrib" / "bench-bulk.csv", size, 0.0)
        print(f"\n### {size:,} contributed findings (+ the review's); load average {os.getloadavg()[0]:.2f}")
        measured, total, cpu_total, peak = [], 0.0, 0.0, 0.0
        for name in STAGES:
            wall, cpu, rss = stage(project, name)
            measured.append((name, wall, cpu, rss))
            total, cpu_total, peak = total + wall, cpu_total + cpu, max(peak, rss)
        for name, wall, cpu, rss in measured:
            print(f"  {name:<9} {wall:7.2f} s ({wall / total:4.0%})  {cpu:7.2f} s CPU  {rss:6.0f} MB peak")
        print(f"  {'all':<9} {total:7.2f} s         {cpu_total:7.2f} s CPU  {peak:6.0f} MB peak (largest stage); "
              f"load average {os.getloadavg()[0]:.2f}")
        checks = {
            "validate 100 rows": [str(BIN / "ketamap"), "validate", str(sample), "--format", "json"],
            "validate package": [str(BIN / "ketamap"), "validate", "datapackage.json", "--format", "json"],
            "frictionless package": [str(BIN / "frictionless"), "validate", "datapackage.json", "--json"],
        }
        for label, command in checks.items():
            wall, rss, status, _, cpu = measure(command, cwd=project)
            print(f"  {label:<21} {wall:7.2f} s  {cpu:7.2f} s CPU  {rss:6.0f} MB peak  exit {status}")
        page = project / "reports" / "evidence-map.html"
        zips = sorted((project / "dist").glob("*.zip"))
        print(f"  evidence map page {page.stat().st_size / 1e6:8.2f} MB; release zip "
              f"{sum(z.stat().st_size for z in zips) / 1e6:8.2f} MB")
        shutil.rmtree(project)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", choices=["files", "size", "package", "both"], default="both")
    parser.add_argument("--files", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rows", type=int, default=100, help="rows per file in the many-files series")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="ketamap-scale-") as tmp:
        work = Path(tmp)
        if args.series in ("files", "both"):
            many_files(args.files, args.rows, work)
        if args.series in ("size", "both"):
            package_size(args.sizes, work)
        if args.series == "package":
            print("\n## package validation: ketamap against frictionless (packages made, not built)")
            validation_series(args.sizes)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
