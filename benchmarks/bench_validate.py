"""How fast `ketamap validate` checks a bulk contribution, against its peers and a bare read.

Generates a valid contribution of --rows rows and a copy with --bad-share of its rows broken (five
kinds of error), then times whole processes, back to back: `ketamap validate`, the same checks in
DuckDB SQL (`benchmarks/duckdb_checks.py`), a bare polars read of the same file and (unless
--skip-frictionless, the default past 2,000,000 rows) `frictionless validate` with the equivalent
Table Schema (schemas/contribution.schema.json with the vocabularies as enums). Prints seconds,
CPU seconds, peak memory (max RSS of each process), the ratios and whether the targets hold
(issue 16): ketamap ≤ DuckDB's time, ≤ 2× the bare read, ≤ 1 GB; `ketamap --help` and the check
of a one-row file < 0.5 s. With --package-rows N it also times the check (and `ketamap add`) of
a 100-row file against a package of N findings, twice: the first run builds the package index's
cache, the second uses it.

    python benchmarks/bench_validate.py                 # 1,000,000 rows, 5% bad
    python benchmarks/bench_validate.py --rows 10000000 --repeat 1
    python benchmarks/bench_validate.py --rows 1000 --package-rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from pipeline.contributions.rules import contribution_schema  # noqa: E402
from pipeline.core.vocab import Vocabulary  # noqa: E402

COLUMNS = ["molecule", "measure", "direction", "population", "region", "species", "reference", "qualifier", "notes"]
BREAKAGES = [("region", "Hippocampus"), ("direction", "up-regulated"), ("reference", "12345"),
             ("notes", "=HYPERLINK(\"x\")"), ("molecule", "BDNFF")]


def generate(path: Path, rows: int, bad_share: float, seed: int = 20221) -> dict[str, int]:
    """A contribution of `rows` distinct findings; `bad_share` of them broken in turn by BREAKAGES."""
    vocab = Vocabulary()
    rng = random.Random(seed)
    molecules = [m["label"] for m in vocab.molecules if m["label_truncated"] == "false"]
    regions = [(r["population"], r["label"]) for r in vocab.regions]
    directions = ["increase", "decrease", "no_change", "↑", "↓", "−"]
    species = {"animal": ["rat", "mouse"], "human": ["human"]}
    broken: dict[str, int] = {}
    every = round(1 / bad_share) if bad_share else 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for index in range(rows):
            population, region = regions[index % len(regions)]
            row = {"molecule": rng.choice(molecules), "measure": "", "direction": rng.choice(directions),
                   "population": population, "region": region, "species": rng.choice(species[population]),
                   "reference": f"PMID:{10_000_000 + index}", "qualifier": "Female only" if index % 50 == 0 else "",
                   "notes": "bulk import" if index % 7 == 0 else ""}
            if every and index % every == every - 1:
                column, value = BREAKAGES[(index // every) % len(BREAKAGES)]
                row[column] = value
                broken[column] = broken.get(column, 0) + 1
            writer.writerow([row[c] for c in COLUMNS])
    return broken


def measure(command: list[str], cwd: Path = ROOT, extra: dict | None = None) -> tuple[float, float, int, str, float]:
    """Wall seconds, peak RSS in MB, exit status and stdout of one whole process, and its CPU seconds
    (user + system, all threads: steadier than wall time on a busy machine)."""
    env = {k: v for k, v in dict(os.environ, DVC_NO_ANALYTICS="1", **(extra or {})).items() if v is not None}
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return (seconds, usage.ru_maxrss / 1024, process.returncode, out.read().decode("utf-8", "replace"),
                usage.ru_utime + usage.ru_stime)


def best(command: list[str], repeat: int, cwd: Path = ROOT) -> tuple[float, float, int, str, float]:
    runs = [measure(command, cwd) for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def startup(ketamap: str, tmp: Path) -> bool:
    """`ketamap --help` and `ketamap validate` of a one-row file, fastest of 5 each; True when both are < 0.5 s."""
    one = tmp / "one.csv"
    generate(one, 1, 0)
    failed = False
    for label, command in (("ketamap --help", [ketamap, "--help"]),
                           ("ketamap validate one.csv", [ketamap, "validate", str(one), "--no-package"])):
        caches = {"PYTHONDONTWRITEBYTECODE": None, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}  # as installed
        runs = [measure(command, tmp, caches) for _ in range(6)][1:]  # the first run writes the byte-code caches
        wall, rss, _, _, cpu = min(runs, key=lambda r: r[0])
        print(f"{label:<26} {wall:5.2f} s  {cpu:5.2f} s CPU  {rss:5.0f} MB (target < 0.5 s)")
        failed |= wall >= 0.5
    return failed


def against_package(ketamap: str, tmp: Path, package_rows: int) -> None:
    """`ketamap validate` and `ketamap add` of a 100-row file against a package of `package_rows` findings."""
    from bench_package import make_package

    project = tmp / "project"
    project.mkdir()
    make_package(project, package_rows)
    shutil.copy(ROOT / "params.yaml", project / "params.yaml")
    shutil.copytree(ROOT / "schemas", project / "schemas")
    (project / "data" / "contrib").mkdir()
    hundred = tmp / "hundred.csv"
    generate(hundred, 100, 0)
    size = (project / "data" / "findings.csv").stat().st_size / 1e6
    print(f"\n100 rows against a package of {package_rows:,} findings ({size:.0f} MB findings.csv):")
    cache = tmp / "cache"
    env = {"KETAMAP_CACHE": str(cache)}
    for label in ("first (builds the index cache)", "again (cache)", "again (cache)"):
        wall, rss, status, _, cpu = measure([ketamap, "validate", str(hundred), "--format", "json"], project, env)
        print(f"  validate, {label:<31} {wall:5.2f} s  {cpu:5.2f} s CPU  {rss:5.0f} MB  exit {status}")
    for label in ("add (cache)",):
        wall, rss, status, _, cpu = measure([ketamap, "add", str(hundred), "--contributor", "Doe, Jane"], project, env)
        print(f"  {label:<41} {wall:5.2f} s  {cpu:5.2f} s CPU  {rss:5.0f} MB  exit {status}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad-share", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the fastest counts")
    parser.add_argument("--max-errors", type=int, default=20)
    parser.add_argument("--skip-frictionless", action="store_true")
    parser.add_argument("--package-rows", type=int, default=0, help="also time 100 rows against a package this big")
    args = parser.parse_args()
    skip_frictionless = args.skip_frictionless or args.rows > 2_000_000

    bin_dir = Path(sys.executable).parent
    ketamap, frictionless = str(bin_dir / "ketamap"), str(bin_dir / "frictionless")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="ketamap-bench-") as tmp:
        tmp = Path(tmp)
        failed = startup(ketamap, tmp)
        if args.package_rows:
            against_package(ketamap, tmp, args.package_rows)
        schema = tmp / "contribution.schema.json"
        schema.write_text(json.dumps(contribution_schema(Vocabulary()), ensure_ascii=False), encoding="utf-8")
        for label, share in (("valid", 0.0), (f"{args.bad_share:.0%} bad", args.bad_share)):
            path = tmp / f"contribution-{'valid' if not share else 'bad'}.csv"
            broken = generate(path, args.rows, share)
            size = path.stat().st_size / 1e6
            print(f"\n{label}: {args.rows:,} rows, {size:.0f} MB" + (f", broken: {broken}" if broken else "")
                  + f"; load average {os.getloadavg()[0]:.2f}")
            failed |= compare(path, args, share, broken, ketamap, None if skip_frictionless else frictionless, tmp)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    print("\nall targets met" if not failed else "\nSOME TARGETS MISSED")
    return 1 if failed else 0


def compare(path: Path, args, share: float, broken: dict, ketamap: str, frictionless: str | None, tmp: Path) -> bool:
    """Time the commands on one file, back to back; print them and the ratios; True when a target is missed."""
    commands = {
        "ketamap validate": [ketamap, "validate", str(path), "--format", "json", "--no-package",
                             "--max-errors", str(args.max_errors), "--max-rows", str(args.rows + 10)],
        "DuckDB SQL": [sys.executable, str(ROOT / "benchmarks" / "duckdb_checks.py"), str(path), str(args.max_errors)],
        "polars read": [sys.executable, "-c", "import sys, polars as pl; "
                        "pl.read_csv(sys.argv[1], infer_schema=False)", str(path)],
    }
    if frictionless:  # relative paths: frictionless refuses absolute ones as unsafe
        commands["frictionless validate"] = [frictionless, "validate", path.name, "--schema", "contribution.schema.json",
                                             "--json", "--limit-errors", str(10 * args.rows)]
    results = {name: best(command, args.repeat, ROOT) if name != "frictionless validate"
               else best(command, 1, tmp) for name, command in commands.items()}
    for name, (seconds, rss, status, _, cpu) in results.items():
        print(f"  {name:<22} {seconds:7.2f} s  {cpu:7.2f} s CPU  {rss:7.0f} MB peak  exit {status}")
    seconds, rss, status, out, _ = results["ketamap validate"]
    report = json.loads(out)["files"][0]
    print(f"  ketamap counts: {report['counts']}; listed {len(report['errors'])} errors")
    for error in report["errors"][:3]:
        print(f"    line {error['line']}, {error['column']}: {error['message']} ({error['value']!r})")
    duck = json.loads(results["DuckDB SQL"][3])
    print(f"  DuckDB counts: {duck['counts']}")
    ratio_read = seconds / results["polars read"][0]
    ratio_duck = seconds / results["DuckDB SQL"][0]
    print(f"  ketamap / polars read: {ratio_read:.2f}× (target ≤ 2×); ketamap / DuckDB: {ratio_duck:.2f}× (target ≤ 1×);"
          f" peak {rss:.0f} MB (target ≤ 1024 MB)")
    failed = ratio_read > 2 or ratio_duck > 1 or rss > 1024 or status != (1 if share else 0)
    if "frictionless validate" in results:
        found = json.loads(results["frictionless validate"][3])
        print(f"  frictionless: valid={found['valid']}, {found['stats']['errors']} errors; "
              f"frictionless / ketamap: {results['frictionless validate'][0] / seconds:.1f}×")
        failed |= found["valid"] != (not share)
    if share:
        expected = {"region": "unknown-region", "direction": "unknown-direction",
                    "reference": "bad-reference", "notes": "formula-like", "molecule": "unknown-molecule"}
        failed |= {expected[c]: n for c, n in broken.items()} != report["counts"]
    return failed


if __name__ == "__main__":
    sys.exit(main())
