"""`ketamap validate`: the package to compare with, the checks (pipeline.publish.verify), the report
in the chosen format, and the exit code: 0 valid, 1 problems found, 2 a file missing or unreadable."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pipeline.cli.problems import report
from pipeline.contributions.package_index import PackageIndex
from pipeline.contributions.table import LIMITS
from pipeline.core.problems import Problem
from pipeline.core.vocab import Vocabulary
from pipeline.publish.verify import exit_code, findings_path, is_package, validate_files


def validate_command(paths: list[Path], format: str, max_errors: int, package: Path | None, no_package: bool,
                     curation: bool, max_rows: int) -> int:
    """`ketamap validate`: prints the report, returns the exit code."""
    findings = None
    if not no_package and not all(is_package(p) for p in paths):  # a package is checked on its own
        source = findings_path(package) if package else Path("data/findings.csv")
        if package and (source is None or not source.is_file()):
            return report([Problem("not-found", "no findings table found for --package", file=str(package))], format)
        if source.is_file():
            try:
                findings = PackageIndex.read(source)  # the key columns only (cached): fast at any package size
            except (OSError, UnicodeDecodeError, ValueError) as error:
                return report([Problem("unreadable-file", f"cannot read the package's findings: {error}",
                                       file=str(source))], format)
    progress = None
    if sys.stderr.isatty():  # big packages take seconds: say what is being checked, on a terminal only
        progress = lambda text: typer.echo(f"ketamap validate: {text}", err=True)  # noqa: E731
    files = validate_files(paths, findings, Vocabulary(), max_errors or None, curation, progress,
                           LIMITS.for_rows(max_rows))
    if format == "json":
        import json

        from pipeline.contributions.rules import report_json

        typer.echo(json.dumps(report_json(files), ensure_ascii=False, indent=2))
    elif format in ("html", "markdown"):
        from pipeline.contributions.validation_report import report_html, report_markdown

        render = report_html if format == "html" else report_markdown
        typer.echo(render(files, max_errors or None), nl=False)
    else:
        import os

        from pipeline.cli.render import render_text

        colour = sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))  # (rich reads NO_COLOR itself)
        render_text(files, sys.stdout, max_errors, colour)
    return exit_code(files)
