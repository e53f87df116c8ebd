"""How a DVC stage reports: every problem on stderr, exit 1, no traceback, outputs untouched."""

from __future__ import annotations

import os
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
    except Exception as error:  # a bug, not bad input: say so briefly; KETAMAP_DEBUG=1 shows the traceback
        if os.environ.get("KETAMAP_DEBUG"):
            raise
        print(f"{name}: internal error ({type(error).__name__}: {error}). Nothing was published. "
              "Please report it; KETAMAP_DEBUG=1 shows the details.", file=sys.stderr)
        sys.exit(1)
