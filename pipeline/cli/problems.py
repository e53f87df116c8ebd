"""How every command reports problems: rendered once (pipeline.core.problems), exit code from the catalogue."""

from __future__ import annotations

import sys

from pipeline.core.problems import Problem, exit_code, render_json, render_text


def report(problems: list[Problem], output: str = "text") -> int:
    """Print the problems (text on stderr; JSON, a list of problems, on stdout) and return the exit code."""
    if output == "json":
        print(render_json(problems))
    else:
        print(render_text(problems), file=sys.stderr)
    return exit_code(problems)
