"""The hostile corpus' big cases (tests/hostile/build.py, `slow=True`), and the issue's bombs, timed.

    python benchmarks/hostile_slow.py            # builds the cases in a temporary folder (~1.5 GB)
    python benchmarks/hostile_slow.py --keep DIR # builds them in DIR and leaves them there

Each case runs as `ketamap validate FILE --no-package --format json` in a fresh process; the
script prints the exit code, the problem codes, wall seconds and peak RSS (from wait4), and
whether the case held (exit code and problem code as promised, no traceback). Also runs the
fast corpus' bombs (1 GiB inflation, 400 MB shared string, 200,000 columns) the same way, and
`check_file` on a 200,000-column CSV with the column limit lifted, to show that the cost is
linear in columns (100,000 vs 200,000).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "hostile"))
from build import WIDE, cases  # noqa: E402

BOMBS = {"inflate-1gib.xlsx", "inflate-1gib.ods", "shared-400mb.xlsx", "columns-200000.csv", "rows-csv-3m.csv"}


def run(*args: str) -> tuple[int, str, str, float, float]:
    """exit code, stdout, stderr, wall seconds, peak RSS in MB of one fresh process (from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=ROOT, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read().decode(), err.read().decode(), wall, usage.ru_maxrss / 1024


def codes_of(stdout: str) -> list[str]:
    try:
        report = json.loads(stdout)
    except ValueError:
        return ["(no JSON)"]
    file = report["files"][0]
    return sorted(file["counts"]) + [f"rows={file['rows']}"]


def measure(folder: Path, chosen) -> None:
    print(f"{'case':34} {'class':15} {'size':>9} {'exit':>4} {'wall s':>7} {'peak MB':>8}  held  codes")
    for case in chosen:
        path = folder / case.name
        size = path.stat().st_size if path.is_file() else 0
        code, out, err, wall, peak = run("validate", str(path), "--no-package", "--format", "json")
        found = codes_of(out)
        held = code == case.exit and "Traceback" not in err and (case.code is None or case.code in found)
        if case.rows is not None:
            held = held and f"rows={case.rows}" in found
        print(f"{case.name:34} {case.klass:15} {size / 1e6:8.1f}M {code:4} {wall:7.2f} {peak:8.0f}  "
              f"{'yes' if held else 'NO'}   {' '.join(found)}")


def columns_are_linear() -> None:
    """check_file with max_columns lifted: seconds for N and 2N columns (a quadratic step shows as 4×)."""
    from dataclasses import replace

    from pipeline.contributions.rules import check_sheet
    from pipeline.contributions.sheets import LIMITS, read_sheet
    from pipeline.core.vocab import Vocabulary

    vocab = Vocabulary()
    with tempfile.TemporaryDirectory() as tmp:
        for width in (WIDE // 2, WIDE):
            path = Path(tmp) / f"w{width}.csv"
            path.write_text("molecule," + ",".join(f"c{i}" for i in range(width)) + "\n"
                            + "BDNF," + ",".join(["x"] * width) + "\n")
            start = time.perf_counter()
            sheet = read_sheet(path, limits=replace(LIMITS, max_columns=width + 10))
            read = time.perf_counter() - start
            checked = check_sheet(sheet, vocab, max_errors=20, with_rows=False)
            print(f"{width:,} columns, limit lifted: read {read:.2f} s, read + check "
                  f"{time.perf_counter() - start:.2f} s, {sum(checked.counts.values()):,} problems")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="build the cases here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ketamap-hostile-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        chosen = [case for case in cases() if case.slow or case.name in BOMBS]
        # built by another process: Linux counts a forked child's peak RSS from its parent's size
        start = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "tests" / "hostile" / "build.py"), str(folder),
                        "--only=" + ",".join(case.name for case in chosen)], check=True, stdout=subprocess.DEVNULL)
        print(f"built {len(chosen)} cases in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        measure(folder, chosen)
    columns_are_linear()


if __name__ == "__main__":
    main()
