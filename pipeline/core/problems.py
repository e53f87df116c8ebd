"""One problem type, produced by every check and rendered once (text for people, JSON for machines)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


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

    def as_json(self) -> dict:
        data = asdict(self)
        data.pop("file")
        data.pop("severity")
        return data

    def as_text(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}"
        head = f"{where}: " if where else ""
        column = f"column '{self.column}': " if self.column else ""
        value = f" (value {self.value!r})" if self.value is not None else ""
        fix = f"\n    fix: {self.suggestion}" if self.suggestion else ""
        return f"{head}{self.severity} [{self.code}] {column}{self.message}{value}{fix}"


@dataclass
class ProblemsFound(Exception):
    """Raised by a stage that found problems; carries all of them, not just the first."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return render_text(self.problems)


def render_text(problems: list[Problem]) -> str:
    return "\n".join(p.as_text() for p in problems)


def render_json(problems: list[Problem]) -> str:
    return json.dumps([p.as_json() for p in problems], ensure_ascii=False, indent=2)
