"""`ketamap download`: the library call (pipeline.publish.download), what was checked, and the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.cli.progress import progress_bar, wanted
from pipeline.core.problems import Problem, ProblemsFound, exit_code, render_text
from pipeline.publish.download import Limits, deadline_from_environment, download


def _failed(problems: list[Problem], code: int) -> int:
    print(render_text(problems), file=sys.stderr)
    verb = "stopped" if code == 2 else "verification failed"
    print(f"\ndownload: {verb}; nothing was written to the target folder.", file=sys.stderr)
    return code


def download_command(source: str, to: Path | None, version: str | None, api: str | None, replace: bool,
                     quiet: bool = False, deadline: float | None = None) -> int:
    """CLI entry: download, print what was checked, return the exit code. No traceback for any input."""
    try:
        limits = deadline_from_environment(Limits())
        if deadline is not None:
            limits = deadline_from_environment(limits, {"KETAMAP_DOWNLOAD_DEADLINE": str(deadline)})
        with progress_bar(wanted(quiet)) as progress:
            result = download(source, to, version, api=api, replace=replace, progress=progress, limits=limits)
    except ProblemsFound as found:
        return _failed(found.problems, exit_code(found.problems))
    except OSError as error:
        problems = [Problem("unreadable-file", str(error.strerror or error), file=error.filename)]
        return _failed(problems, exit_code(problems))
    except Exception as error:  # never a traceback: say what broke
        problems = [Problem("internal-error", f"{type(error).__name__}: {error}")]
        return _failed(problems, exit_code(problems))
    for check in result.checks:
        print(f"ok  {check}")
    if result.status == "identical":
        print(f"{result.name} {result.version} is already in {result.path} (identical); nothing changed")
    else:
        print(f"{result.name} {result.version} verified and {'placed in' if result.status == 'new' else 'replaced'} "
              f"{result.path}")
    return 0
