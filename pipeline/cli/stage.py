"""How a DVC stage reports: `python -m pipeline.cli.stage NAME` (dvc.yaml) runs pipeline.stages.NAME.

Every problem on stderr, exit 1, no traceback, outputs untouched; warnings printed, not fatal.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from pipeline.core.problems import ProblemsFound, exit_code, render_text
from pipeline.stages import STAGES


def run_stage(name: str, root: Path = Path(".")) -> int:
    stage = importlib.import_module(f"pipeline.stages.{name}")
    try:
        warnings = stage.run(root)
    except ProblemsFound as found:
        errors = [p for p in found.problems if p.severity == "error"]
        print(render_text(found.problems), file=sys.stderr)
        print(f"\n{name}: {len(errors)} problem(s); nothing was published. "
              "Fix them and run `dvc repro` again.", file=sys.stderr)
        return exit_code(errors)  # 2 for an input refused unread (catalogue class input), else 1
    except Exception as error:  # a bug, not bad input: say so briefly; KETAMAP_DEBUG=1 shows the traceback
        if os.environ.get("KETAMAP_DEBUG"):
            raise
        print(f"{name}: internal error ({type(error).__name__}: {error}). Nothing was published. "
              "Please report it; KETAMAP_DEBUG=1 shows the details.", file=sys.stderr)
        return 1
    if warnings:
        print(render_text(warnings), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in STAGES:
        print(f"usage: python -m pipeline.cli.stage {{{','.join(STAGES)}}}", file=sys.stderr)
        sys.exit(2)
    sys.exit(run_stage(args[0]))


if __name__ == "__main__":
    main()
