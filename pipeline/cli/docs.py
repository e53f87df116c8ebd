"""Generated documentation: `python -m pipeline.cli.docs problems > docs/problems.md`."""

from __future__ import annotations

import sys

from pipeline.core.catalogue import problems_markdown

PAGES = {"problems": problems_markdown}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in PAGES:
        print(f"usage: python -m pipeline.cli.docs {{{','.join(PAGES)}}}", file=sys.stderr)
        return 2
    sys.stdout.write(PAGES[args[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
