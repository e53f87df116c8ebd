"""How fast `ketamap validate` checks a bulk contribution, against `frictionless validate` and a bare read.

Generates a valid contribution of --rows rows and a copy with --bad-share of its rows broken (five
kinds of error), then times whole processes, each in one run: `ketamap validate`, `frictionless
validate` with the equivalent Table Schema (schemas/contribution.schema.json with the vocabularies
as enums: `pipeline.contrib.contribution_schema`), and a bare polars read of the same file. Prints
seconds, peak memory (max RSS of each process), the ratios and whether the targets hold:
ketamap ≥ 10× faster than frictionless, ≤ 3× the bare read, < 2 GB; and `ketamap --help` < 1 s.

    python benchmarks/bench_validate.py                 # 1,000,000 rows, 5% bad
    python benchmarks/bench_validate.py --rows 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def measure(command: list[str], cwd: Path = ROOT) -> tuple[float, float, int, str, float]:
    """Wall seconds, peak RSS in MB, exit status and stdout of one whole process, and its CPU seconds
    (user + system, all threads: steadier than wall time on a busy machine)."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONDONTWRITEBYTECODE="1")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad-share", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the fastest counts")
    parser.add_argument("--max-errors", type=int, default=20)
    parser.add_argument("--skip-frictionless", action="store_true")
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    ketamap, frictionless = str(bin_dir / "ketamap"), str(bin_dir / "frictionless")
    failed = False
    with tempfile.TemporaryDirectory(prefix="ketamap-bench-") as tmp:
        tmp = Path(tmp)
        schema = tmp / "contribution.schema.json"
        schema.write_text(json.dumps(contribution_schema(Vocabulary()), ensure_ascii=False), encoding="utf-8")
        help_seconds = min(measure([ketamap, "--help"])[0] for _ in range(3))
        print(f"ketamap --help: {help_seconds:.2f} s (target < 1 s)")
        failed |= help_seconds >= 1.0
        for label, share in (("valid", 0.0), (f"{args.bad_share:.0%} bad", args.bad_share)):
            path = tmp / f"contribution-{'valid' if not share else 'bad'}.csv"
            broken = generate(path, args.rows, share)
            size = path.stat().st_size / 1e6
            print(f"\n{label}: {args.rows:,} rows, {size:.0f} MB" + (f", broken: {broken}" if broken else ""))
            commands = {
                "ketamap validate": [ketamap, "validate", str(path), "--format", "json",
                                     "--max-errors", str(args.max_errors)],
                "polars read": [sys.executable, "-c", "import sys, polars as pl; "
                                "pl.read_csv(sys.argv[1], infer_schema=False)", str(path)],
            }
            if not args.skip_frictionless:  # relative paths: frictionless refuses absolute ones as unsafe
                commands["frictionless validate"] = [frictionless, "validate", path.name, "--schema", schema.name,
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
            expected_status = 1 if share else 0
            ratio_read = seconds / results["polars read"][0]
            print(f"  ketamap / polars read: {ratio_read:.2f}× (target ≤ 3×)")
            failed |= ratio_read > 3 or rss >= 2048 or status != expected_status
            if "frictionless validate" in results:
                found = json.loads(results["frictionless validate"][3])
                print(f"  frictionless: valid={found['valid']}, {found['stats']['errors']} errors")
                failed |= found["valid"] != (not share)
                speedup = results["frictionless validate"][0] / seconds
                print(f"  frictionless / ketamap: {speedup:.1f}× (target ≥ 10×)")
                failed |= speedup < 10
            if share:
                expected = {"region": "unknown-region", "direction": "unknown-direction",
                            "reference": "bad-reference", "notes": "formula-like", "molecule": "unknown-molecule"}
                failed |= {expected[c]: n for c, n in broken.items()} != report["counts"]
    print("\nall targets met" if not failed else "\nSOME TARGETS MISSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
