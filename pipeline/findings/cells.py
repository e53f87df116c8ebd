"""The review table's cell grammar: a direction symbol, an optional qualifier, '(' for a citation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.core.vocab import Vocabulary

CITATION_MARKER = "("
QUALIFIER_RE = re.compile(r"[A-Za-z][A-Za-z0-9 .\-]*")


@dataclass(frozen=True)
class Cell:
    direction: str
    qualifier: str
    cited: bool


def parse_cell(text: str, vocab: Vocabulary) -> Cell:
    """`↑ (` → increase, cited; `mRNA ↑ (` → qualifier mRNA; `↑ Female only (` → qualifier Female only."""
    symbols = vocab.direction_by_symbol
    body = text.strip()
    cited = body.endswith(CITATION_MARKER)
    if cited:
        body = body[: -len(CITATION_MARKER)].strip()
    found = [ch for ch in body if ch in symbols]
    if len(found) != 1:
        if not found:
            raise ValueError(f"no direction symbol in the cell; the legend allows {' '.join(symbols)}")
        raise ValueError("more than one direction symbol in one cell")
    before, _, after = body.partition(found[0])
    qualifier = " ".join(part.strip() for part in (before, after) if part.strip())
    if qualifier and not QUALIFIER_RE.fullmatch(qualifier):
        raise ValueError(f"unexpected text {qualifier!r} beside the direction symbol "
                         f"(an unknown symbol or a citation the export kept?)")
    return Cell(symbols[found[0]], qualifier, cited)


def cell_suggestion(text: str, vocab: Vocabulary) -> str:
    ascii_map = {row["ascii"]: row["symbol"] for row in vocab.directions if row.get("ascii")}
    for ascii_symbol, symbol in ascii_map.items():
        if ascii_symbol in text:
            return f"the legend's symbol is {symbol} ({symbol!r}, not ASCII {ascii_symbol!r})"
    return "a cell holds one of " + " ".join(vocab.direction_by_symbol) + ", an optional qualifier and '(' for a citation"


def default_measure(molecule: dict[str, str], qualifier: str) -> str:
    """The molecule's own measure (schemas/molecules.csv: a 'p-' label is phosphorylation), or mRNA
    when the qualifier says so (`mRNA ↑ (`)."""
    return "mRNA" if "mRNA" in qualifier.split() else molecule["measure"]
