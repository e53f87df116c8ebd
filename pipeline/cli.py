"""`ketamap`: a thin command line over the `pipeline` library.

Every command is a short function that calls the library; heavy libraries are imported inside
the commands so that `ketamap --help` starts fast. Exit codes everywhere: 0 success, 1 the
data is invalid or verification failed, 2 usage error or unreadable input.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(
    name="ketamap",
    help="Validate, build, diff, download and deposit the ketamap data package.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
