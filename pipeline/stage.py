"""How a DVC stage reports: every problem on stderr, exit 1, no traceback, outputs untouched."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from pipeline.problems import ProblemsFound, render_text


def run_stage(name: str, stage: Callable[[Path], None]) -> None:
    try:
        stage(Path("."))
    except ProblemsFound as found:
        errors = [p for p in found.problems if p.severity == "error"]
        print(render_text(found.problems), file=sys.stderr)
        print(f"\n{name}: {len(errors)} problem(s); nothing was published. "
              "Fix them and run `dvc repro` again.", file=sys.stderr)
        sys.exit(1)
