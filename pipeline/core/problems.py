"""One problem type, produced by every check and rendered once (text for people, JSON for machines)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from pipeline.core.catalogue import EXIT_STATUS, lookup


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None
    suggestion: str | None = None
    severity: str = "error"

    def __post_init__(self) -> None:
        lookup(self.code)  # every code is declared once, in pipeline/core/catalogue.py (ValueError if not)

    @property
    def exit_class(self) -> str:
        return lookup(self.code).exit_class

    def as_json(self) -> dict:
        """code, message, line, column, value, suggestion (ketamap validate's contract), file and severity."""
        data = asdict(self)
        return {key: data[key] for key in ("code", "message", "line", "column", "value", "suggestion",
                                           "file", "severity")}

    def as_text(self) -> str:
        """One line (and its fix); what came from the input is escaped, so it cannot forge lines."""
        where = printable(self.file or "")
        if self.line is not None:
            where += f":{self.line}"
        head = f"{where}: " if where else ""
        column = f"column '{printable(self.column)}': " if self.column else ""
        value = f" (value {self.value!r})" if self.value is not None else ""
        fix = f"\n    fix: {printable(self.suggestion)}" if self.suggestion else ""
        return f"{head}{self.severity} [{self.code}] {column}{printable(self.message)}{value}{fix}"


@dataclass
class ProblemsFound(Exception):
    """Raised by a stage that found problems; carries all of them, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return render_text(self.problems)


def exit_code(problems: list[Problem]) -> int:
    """The exit code for problems: 2 if any error is of class input (usage error, unreadable input),
    1 if any other error (data invalid, verification failed), else 0 (warnings do not fail)."""
    return max((EXIT_STATUS[p.exit_class] for p in problems if p.severity == "error"), default=0)


def printable(text: str) -> str:
    """The text with every character a terminal would not show as itself (controls, line breaks,
    invisible characters) written as an escape, so a value or a file name cannot forge lines or hide."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def render_text(problems: list[Problem]) -> str:
    return "\n".join(p.as_text() for p in problems)


def render_json(problems: list[Problem]) -> str:
    return json.dumps([p.as_json() for p in problems], ensure_ascii=False, indent=2)
