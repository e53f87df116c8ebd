"""Whole-package validation at size: `ketamap validate datapackage.json` against `frictionless validate`.

A package of S findings is made from this repository's own package in a temporary folder: its
findings rows repeated with fresh finding ids (fnd- + 12 hex digits), the other tables as they
are, hash and bytes rewritten in datapackage.json, so the package is valid and every check runs.
Each command is a fresh process (wall seconds, CPU seconds, peak RSS from wait4); the load
average is printed before and after.

    python benchmarks/bench_package.py                      # 1k, 10k, 100k, 1M findings
    python benchmarks/bench_package.py --sizes 1000 100000 --no-frictionless
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks")]

from bench_validate import measure  # noqa: E402

BIN = Path(sys.executable).parent


def make_package(folder: Path, size: int) -> None:
    shutil.copy(ROOT / "datapackage.json", folder / "datapackage.json")
    (folder / "data").mkdir()
    for name in ("molecules", "regions", "sources"):
        shutil.copy(ROOT / "data" / f"{name}.csv", folder / "data" / f"{name}.csv")
    lines = (ROOT / "data" / "findings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    with open(folder / "data" / "findings.csv", "w", encoding="utf-8", newline="") as out:
        out.write(header)
        for number in range(size):
            row = body[number % len(body)]
            out.write(f"fnd-{number:012x}" + row[row.index(","):])
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    for resource in descriptor["resources"]:
        data = (folder / resource["path"]).read_bytes()
        resource.update(hash="sha256:" + hashlib.sha256(data).hexdigest(), bytes=len(data))
    (folder / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")


def validation_series(sizes: list[int], frictionless: bool = True) -> None:
    """One line per size: ketamap and (optionally) frictionless on a made package of that size."""
    commands = {"ketamap validate": [str(BIN / "ketamap"), "validate", "datapackage.json", "--format", "json"]}
    if frictionless:
        commands["frictionless validate"] = [str(BIN / "frictionless"), "validate", "datapackage.json", "--json"]
    print(f"{'findings':>10} {'MB':>7}  " + "  ".join(f"{label:>36}" for label in commands))
    with tempfile.TemporaryDirectory(prefix="ketamap-package-") as tmp:
        for size in sizes:
            folder = Path(tmp) / f"pkg-{size}"
            folder.mkdir()
            make_package(folder, size)
            mb = (folder / "data" / "findings.csv").stat().st_size / 1e6
            cells = []
            for command in commands.values():
                wall, rss, status, _, cpu = measure(command, cwd=folder)
                cells.append(f"{wall:7.2f} s {cpu:7.2f} s CPU {rss:6.0f} MB exit {status}")
            print(f"{size:>10,} {mb:>7.1f}  " + "  ".join(f"{c:>36}" for c in cells), flush=True)
            shutil.rmtree(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--no-frictionless", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    validation_series(args.sizes, not args.no_frictionless)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
