"""Generated documentation: `python -m pipeline.cli.docs cli > docs/cli.md` (the CLI reference) and
`python -m pipeline.cli.docs problems > docs/problems.md` (the problem catalogue).

The reference is `ketamap --help` and each command's `--help`, rendered at a fixed width
without colour, so the file is the same on every machine; tests/test_docs.py and tests/test_catalogue.py
fail when a page is stale.
"""

from __future__ import annotations

import sys

from pipeline.core.catalogue import problems_markdown

WIDTH = 100


def _help(args: list[str]) -> str:
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    env = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="ketamap", env=env, color=False)
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def cli_reference() -> str:
    """docs/cli.md: every command's help, in the order `ketamap --help` lists them."""
    from pipeline.cli.app import app

    lines = ["# CLI reference", "",
             "Generated from `ketamap --help` by `python -m pipeline.cli.docs cli > docs/cli.md`; do not edit.",
             "Exit codes everywhere: 0 success, 1 the data is invalid or verification failed, 2 usage error",
             "or unreadable input.", "", "```text", "$ ketamap --help", _help([]), "```"]
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        lines += ["", f"## ketamap {name}", "", "```text", f"$ ketamap {name} --help", _help([name]), "```"]
    return "\n".join(lines) + "\n"


GENERATORS = {"cli": cli_reference, "problems": problems_markdown}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in GENERATORS:
        print(f"usage: python -m pipeline.cli.docs {{{','.join(GENERATORS)}}}", file=sys.stderr)
        sys.exit(2)
    sys.stdout.write(GENERATORS[args[0]]())


if __name__ == "__main__":
    main()
