"""`ketamap download`: the library call (pipeline.publish.download), what was checked, and the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.core.problems import Problem, ProblemsFound, exit_code, render_text
from pipeline.publish.download import download


def download_command(source: str, to: Path | None, version: str | None, api: str | None, replace: bool,
        progress: bool | None = None) -> int:
    """CLI entry: download, print what was checked, return the exit code. No traceback for any input."""
    if progress is None:
        progress = sys.stdout.isatty() and sys.stderr.isatty()
    try:
        result = download(source, to, version, api=api, replace=replace, progress=progress)
    except ProblemsFound as found:
        code = exit_code(found.problems)
        print(render_text(found.problems), file=sys.stderr)
        verb = "stopped" if code == 2 else "verification failed"
        print(f"\ndownload: {verb}; nothing was written to the target folder.", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        raise
    except OSError as error:
        return _nothing_written([Problem("unreadable-file", str(error.strerror or error), file=error.filename)])
    except Exception as error:  # never a traceback: say what broke
        return _nothing_written([Problem("internal-error", f"{type(error).__name__}: {error}")])
    for check in result.checks:
        print(f"ok  {check}")
    if result.status == "identical":
        print(f"{result.name} {result.version} is already in {result.path} (identical); nothing changed")
    else:
        print(f"{result.name} {result.version} verified and {'placed in' if result.status == 'new' else 'replaced'} "
              f"{result.path}")
    return 0


def _nothing_written(problems: list[Problem]) -> int:
    print(render_text(problems) + "\n\ndownload: nothing was written to the target folder.", file=sys.stderr)
    return exit_code(problems)
