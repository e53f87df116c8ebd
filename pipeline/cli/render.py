"""How `ketamap validate` reads in a terminal: each file's verdict, its problems by
line, counts.

Every text that comes from the input (file and sheet names, values, messages that quote them) is
shown inert: rich markup (`[red]`) and emoji codes (`:x:`) literally, line breaks and invisible
characters as escapes, so a value or a file name cannot colour, hide or forge a line.
"""

from __future__ import annotations

from pipeline.contributions.rules import CheckedFile
from pipeline.contributions.text import printable


def inert(text: str) -> str:
    """For rich: escapes for what a terminal would not show as itself, then markup escaped."""
    from rich.markup import escape

    return escape(printable(text))


def shown_value(value: str) -> str:
    """A value quoted as Python would (repr escapes controls and invisible characters)."""
    return repr(value)


def render_text(files: list[CheckedFile], console, max_errors: int | None = None) -> None:
    """For a terminal: each file's verdict, its problems by line, then counts per problem code."""
    totals: dict[str, int] = {}

    def say(markup: str) -> None:
        console.print(markup, emoji=False, highlight=False)

    for f in files:
        verdict = "[green]valid[/]" if f.valid else "[red]invalid[/]"
        sheet = f" (sheet {inert(repr(f.sheet))})" if f.sheet else ""
        say(f"[bold]{inert(f.path)}[/]{sheet}: {f.row_count} row{'' if f.row_count == 1 else 's'}, {verdict}")
        for p in f.problems:
            where = f"line {p.line}" if p.line is not None else "file"
            column = f", {inert(p.column)}" if p.column else ""
            value = f" [dim](value {inert(shown_value(p.value))})[/]" if p.value is not None else ""
            colour = "red" if p.severity == "error" else "yellow"
            say(f"  [{colour}]{p.severity}[/] {where}{column}: {inert(p.message)}{value} [dim]\\[{inert(p.code)}][/]")
            if p.suggestion:
                say(f"      [cyan]→ {inert(p.suggestion)}[/]")
        if f.omitted:
            say(f"  … {f.omitted} more not listed (--max-errors {max_errors}; 0 lists all)")
        for code, count in f.counts.items():
            totals[code] = totals.get(code, 0) + count
    valid = sum(1 for f in files if f.valid)
    say(f"\n{len(files)} file(s): {valid} valid, {len(files) - valid} invalid")
    if totals:
        say("problems by code: " + ", ".join(f"{inert(code)} {count}" for code, count in sorted(totals.items())))
