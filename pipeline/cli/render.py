"""How `ketamap validate` reads in a terminal: each file's verdict, its problems by
line, counts.

Each line is built as segments of text and style, never as markup. What comes from the input
(file and sheet names, values, messages that quote them) is only ever text, with what a terminal
would not show as itself (line breaks, controls, invisible characters) escaped, so a value or a
file name cannot colour, hide or forge a line; markup (`[red]`) and emoji codes (`:x:`) show
literally. In a terminal rich colours the segments; written to a pipe or a file they are plain
text, and rich is not loaded (it is a tenth of a small check's time).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.contributions.rules import CheckedFile
from pipeline.contributions.text import printable

Line = list[tuple[str, str | None]]  # (text, rich style or None) segments


def shown_value(value: str) -> str:
    """A value quoted as Python would (repr escapes controls and invisible characters)."""
    return repr(value)


def report_lines(files: list[CheckedFile], max_errors: int | None = None) -> Iterator[Line]:
    """Each file's verdict, its problems by line, then counts per problem code."""
    totals: dict[str, int] = {}
    for f in files:
        sheet = f" (sheet {printable(repr(f.sheet))})" if f.sheet else ""
        yield [(printable(f.path), "bold"), (f"{sheet}: {f.row_count} row{'' if f.row_count == 1 else 's'}, ", None),
               ("valid", "green") if f.valid else ("invalid", "red")]
        for p in f.problems:
            where = f"line {p.line}" if p.line is not None else "file"
            column = f", {printable(p.column)}" if p.column else ""
            line: Line = [("  ", None), (p.severity, "red" if p.severity == "error" else "yellow"),
                          (f" {where}{column}: {printable(p.message)}", None)]
            if p.value is not None:
                line += [(" ", None), (f"(value {printable(shown_value(p.value))})", "dim")]
            yield line + [(" ", None), (f"[{printable(p.code)}]", "dim")]
            if p.suggestion:
                yield [("      ", None), (f"→ {printable(p.suggestion)}", "cyan")]
        if f.omitted:
            yield [(f"  … {f.omitted} more not listed (--max-errors {max_errors}; 0 lists all)", None)]
        for code, count in f.counts.items():
            totals[code] = totals.get(code, 0) + count
    valid = sum(1 for f in files if f.valid)
    yield [("", None)]
    yield [(f"{len(files)} file(s): {valid} valid, {len(files) - valid} invalid", None)]
    if totals:
        yield [("problems by code: " + ", ".join(f"{printable(code)} {count}" for code, count in sorted(totals.items())),
                None)]


def render_text(files: list[CheckedFile], stream, max_errors: int | None = None, colour: bool = False) -> None:
    """The report to `stream`: coloured by rich when `colour` (a terminal), else plain text."""
    lines = report_lines(files, max_errors)
    if not colour:
        stream.write("".join("".join(text for text, _ in line) + "\n" for line in lines))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
    for line in lines:
        console.print(Text.assemble(*[(text, style) if style else text for text, style in line]))
