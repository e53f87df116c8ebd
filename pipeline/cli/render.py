"""How `ketamap validate` reads in a terminal (rich): each file's verdict, its problems by line, counts."""

from __future__ import annotations

from pipeline.contributions.rules import CheckedFile


def render_text(files: list[CheckedFile], console, max_errors: int | None = None) -> None:
    """For a terminal: each file's verdict, its problems by line, then counts per problem code."""
    from rich.markup import escape

    totals: dict[str, int] = {}
    for f in files:
        verdict = "[green]valid[/]" if f.valid else "[red]invalid[/]"
        sheet = f" (sheet {escape(repr(f.sheet))})" if f.sheet else ""
        console.print(f"[bold]{escape(f.path)}[/]{sheet}: {f.row_count} row{'' if f.row_count == 1 else 's'}, {verdict}")
        for p in f.problems:
            where = f"line {p.line}" if p.line is not None else "file"
            column = f", {escape(p.column)}" if p.column else ""
            value = f" [dim](value {escape(repr(p.value))})[/]" if p.value is not None else ""
            colour = "red" if p.severity == "error" else "yellow"
            console.print(f"  [{colour}]{p.severity}[/] {where}{column}: {escape(p.message)}{value} "
                          f"[dim]\\[{p.code}][/]")
            if p.suggestion:
                console.print(f"      [cyan]→ {escape(p.suggestion)}[/]")
        if f.omitted:
            console.print(f"  … {f.omitted} more not listed (--max-errors {max_errors}; 0 lists all)")
        for code, count in f.counts.items():
            totals[code] = totals.get(code, 0) + count
    valid = sum(1 for f in files if f.valid)
    console.print(f"\n{len(files)} file(s): {valid} valid, {len(files) - valid} invalid")
    if totals:
        console.print("problems by code: " + ", ".join(f"{code} {count}" for code, count in sorted(totals.items())))
