"""What accepted contributions and curation cost the build: the stages, whole processes, in a copy.

In a temporary copy of the repository, times `ketamap add` of a generated valid contribution of
--rows rows, then each stage as `dvc repro` runs it (`python -m pipeline.sources.export`, `.validate`,
`.package`) three ways: with empty data/contrib and data/curation (today's build), with the
contribution, and with the contribution plus a curation file assigning a region and a reference
to every review finding. Prints wall seconds, CPU seconds and peak memory of each process.

    python benchmarks/bench_build.py                # 100,000 contributed rows
    python benchmarks/bench_build.py --rows 1000000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_validate import generate, measure  # noqa: E402
from conftest import copy_project  # noqa: E402
from pipeline.core.files import read_csv  # noqa: E402

STAGES = ["extract", "validate", "package"]


def curation_csv(findings: list[dict]) -> str:
    rows = [f"{f['finding_id']},HPC,animal,PMID:{30_000_000 + n},bench," for n, f in enumerate(findings)
            if f["source_id"] == "kang-2022"]
    return "finding_id,region,population,references,curator,notes\n" + "\n".join(rows) + "\n"


def run_stages(project: Path, label: str) -> None:
    for stage in STAGES:
        seconds, rss, status, _, cpu = measure([sys.executable, "-m", "pipeline.cli.stage", stage], cwd=project)
        print(f"  {label:<31} {stage:<9} {seconds:7.2f} s  {cpu:7.2f} s CPU  {rss:7.0f} MB peak  exit {status}")
        if status != 0:
            raise SystemExit(f"{stage} failed in {label}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_project(Path(tmp) / "ketamap")
        bulk = Path(tmp) / "bulk.csv"
        generate(bulk, args.rows, 0.0)
        print(f"{args.rows:,} contributed rows ({bulk.stat().st_size / 1e6:.1f} MB)")
        run_stages(project, "empty contrib/ and curation/")
        seconds, rss, status, _, cpu = measure([sys.executable, "-m", "pipeline", "add", str(bulk)], cwd=project)
        print(f"  {'ketamap add':<41} {seconds:7.2f} s  {cpu:7.2f} s CPU  {rss:7.0f} MB peak  exit {status}")
        if status != 0:
            shutil.copy(bulk, project / "data" / "contrib" / bulk.name)
        run_stages(project, "with the contribution")
        findings = read_csv(project / "data" / "findings.csv")
        (project / "data" / "curation" / "all.csv").write_text(curation_csv(findings), encoding="utf-8")
        run_stages(project, "+ curation of every review row")
        curated = sum(f["location_status"] == "curated" for f in read_csv(project / "data" / "findings.csv"))
        print(f"findings published: {len(findings):,} ({curated} curated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
