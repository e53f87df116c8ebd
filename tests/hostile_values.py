"""A hostile corpus of cell values, built from the vocabularies: text that looks right and is not.

Each case is one contribution row (a good row with one cell changed) and what the checks must say:
the problem code, the column, and a fragment that the message or the suggestion must hold (the
code point of the hidden character, the intended text). Run it to see the count per class:

    python tests/hostile_values.py
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.contributions.text import LOOKALIKES  # noqa: E402

GOOD = {"molecule": "BDNF", "measure": "", "direction": "increase", "population": "animal", "region": "HPC",
        "species": "rat", "reference": "PMID:12345678", "qualifier": "", "notes": ""}
# Format characters (Unicode category Cf) people paste without seeing them.
INVISIBLE = {"\u200b": "U+200B ZERO WIDTH SPACE", "\u200c": "U+200C ZERO WIDTH NON-JOINER",
             "\u200d": "U+200D ZERO WIDTH JOINER", "\u2060": "U+2060 WORD JOINER",
             "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE", "\u00ad": "U+00AD SOFT HYPHEN",
             "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE", "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
             "\x1b": "U+001B CONTROL CHARACTER", "\x07": "U+0007 CONTROL CHARACTER"}
# A valid value per column, which the cases spoil.
VALID = {"molecule": "BDNF", "direction": "increase", "population": "animal", "region": "HPC", "species": "rat",
         "reference": "PMID:12345678", "qualifier": "Female only", "notes": "dose 10 mg/kg", "measure": "level"}
# Valid spellings whose letters have lookalikes in other scripts.
LOOKALIKE_TARGETS = {"molecule": ["BDNF", "mTOR", "Glutamate", "p-mTOR"], "direction": ["increase", "decrease"],
                     "population": ["animal", "human"], "region": ["HPC", "PFC", "AMY", "Serum"],
                     "measure": ["level", "phosphorylation"], "species": ["rat", "mouse"]}
FORMULAS = ['=HYPERLINK("http://example.org/x","click")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)",
            "=1+1", '=IMPORTXML("http://example.org","//a")']
FREE_TEXT = ("species", "qualifier", "notes")
REFERENCES = [  # (written, suggestion fragment or None when there is no safe guess)
    ("PMID:0", None), ("PMID:00", None), ("0", None), ("PMID:0012345678", "PMID:12345678"),
    ("pmid:012", "PMID:12"), ("PMID: 0001", "PMID:1"), ("10.1038/nature17998.", "10.1038/nature17998"),
    ("10.1038/nature17998,", "10.1038/nature17998"), ("10.1038/nature17998)", "10.1038/nature17998"),
    ("(10.1038/nature17998)", None), ("https://doi.org/10.1038/nature17998.", "10.1038/nature17998"),
    ("doi:10.1038/nature17998", "10.1038/nature17998"), ("PMID:12345678.", None),
    ("PMID:12345678;10.1038/x.", "PMID:12345678;10.1038/x"), ("10.1038/a b", None), ("10.12/x", None),
    ("10.1038/nature\u00e9", None), ("PMID:-5", None),
]
VALID_REFERENCES = ["PMID:1", "PMID:12345678", "10.1016/S0006-3223(02)01546-9", "10.1038/NATURE17998",
                    "10.1002/(SICI)1097-4547(19980101)51:1_x", "PMID:12345678;10.1038/nature17998"]


@dataclass(frozen=True)
class Case:
    kind: str                     # the hostile class
    column: str
    value: str
    code: str | None              # the problem the row must raise (None: the row is valid)
    says: tuple[str, ...] = field(default=())  # fragments the message + suggestion must hold

    @property
    def row(self) -> dict[str, str]:
        return {**GOOD, self.column: self.value}

    def __str__(self) -> str:
        return f"{self.kind}:{self.column}:{self.value!r}"


def invisible_cases() -> list[Case]:
    cases = []
    for character, name in INVISIBLE.items():
        for column, valid in VALID.items():
            spoiled = valid[:1] + character + valid[1:]
            cases.append(Case("invisible", column, spoiled, "invisible-character", (name, repr(valid))))
    return cases


def lookalike_cases() -> list[Case]:
    back = {}
    for other, latin in LOOKALIKES.items():
        back.setdefault(latin, other)
    cases = []
    for column, values in LOOKALIKE_TARGETS.items():
        for valid in values:
            for position, letter in enumerate(valid):
                if letter in back:
                    spoiled = valid[:position] + back[letter] + valid[position + 1:]
                    cases.append(Case("lookalike", column, spoiled, "lookalike-character",
                                      (f"U+{ord(back[letter]):04X}", repr(valid))))
            wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in valid)
            cases.append(Case("lookalike", column, wide, "lookalike-character", ("FULLWIDTH", repr(valid))))
    return cases


def formula_cases() -> list[Case]:
    return [Case("formula", column, formula, "formula-like", ("formula",))
            for column in FREE_TEXT for formula in FORMULAS]


def reference_cases() -> list[Case]:
    cases = [Case("identifier", "reference", written, "bad-reference", (f"write '{fix}'",) if fix else ())
             for written, fix in REFERENCES]
    return cases + [Case("identifier", "reference", valid, None) for valid in VALID_REFERENCES]


def corpus() -> list[Case]:
    return invisible_cases() + lookalike_cases() + formula_cases() + reference_cases()


if __name__ == "__main__":
    from collections import Counter

    for kind, count in Counter(case.kind for case in corpus()).items():
        print(f"{kind}: {count}")
