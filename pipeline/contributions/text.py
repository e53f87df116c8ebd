"""Text that looks right and is not: invisible characters, lookalike letters, formulas, identifiers.

A zero-width space (U+200B) in a DOI or a species, or a Cyrillic 'е' (U+0435) in `molеcule`,
prints exactly like the intended text; the checks find them with one regular expression over
every cell, and the message names each such character by its code point and Unicode name,
with the text the contributor most likely meant.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.core.problems import printable  # noqa: F401  (re-exported: how values are shown)

# Unicode format characters (category Cf: zero-width spaces and joiners, bidi controls, BOMs, …) and
# control characters (Cc) other than tab and line breaks, which a cell may hold.
INVISIBLE = r"[\p{Cf}\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
# The columns whose values come from a vocabulary: a letter from another script there is a lookalike.
VOCABULARY_COLUMNS = ("molecule", "direction", "population", "region", "measure", "species")
# Letters of other scripts drawn like Latin ones (Unicode's confusables.txt, the common cases).
LOOKALIKES = {
    # Cyrillic
    "а": "a", "е": "e", "і": "i", "ї": "ï", "ј": "j", "о": "o", "р": "p", "с": "c",
    "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "З": "3", "І": "I", "Ј": "J", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "h",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ϲ": "c",
    # Armenian and Latin look-alikes outside ASCII
    "օ": "o", "ս": "u", "ı": "i", "ℓ": "l", "ɡ": "g",
}
# Fullwidth ASCII (U+FF01–U+FF5E) is a lookalike too: NFKC maps it to ASCII.
FULLWIDTH = "\uff01-\uff5e"
LOOKALIKE = "[" + "".join(sorted(set(LOOKALIKES))) + FULLWIDTH + "]"
# A cell a spreadsheet would run as a formula (OWASP's CSV injection list: = + - @ tab CR).
FORMULA_START = "=+-@\t\r"
PMID = r"PMID:[1-9][0-9]*"
# Crossref's pattern, with ';' left out (it separates references) and no '.' as the last character.
DOI = r"10\.[0-9]{4,9}/[-._()/:A-Za-z0-9]*[-_()/:A-Za-z0-9]"
REFERENCES = f"({PMID}|{DOI})(;({PMID}|{DOI}))*"


def code_point(character: str) -> str:
    """'U+0435 CYRILLIC SMALL LETTER IE'."""
    fallback = "CONTROL CHARACTER" if unicodedata.category(character) == "Cc" else "UNNAMED CHARACTER"
    return f"U+{ord(character):04X} {unicodedata.name(character, fallback)}"


def is_invisible(character: str) -> bool:
    category = unicodedata.category(character)
    return category == "Cf" or (category == "Cc" and character not in "\t\n\r")


def is_lookalike(character: str) -> bool:
    return character in LOOKALIKES or "\uff01" <= character <= "\uff5e"


def intended(value: str) -> str:
    """The text as it was most likely meant: invisible characters dropped, lookalikes in Latin letters."""
    kept = "".join(LOOKALIKES.get(c, c) for c in value if not is_invisible(c))
    return unicodedata.normalize("NFKC", kept) if re.search(f"[{FULLWIDTH}]", kept) else kept


def _named(value: str, which) -> str:
    found = list(dict.fromkeys(c for c in value if which(c)))
    return ", ".join(code_point(c) for c in found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")


def describe_invisible(value: str) -> tuple[str, str]:
    return (f"the text holds an invisible character ({_named(value, is_invisible)}), which is published "
            "unseen and makes the value differ from the one it shows",
            f"write {intended(value)!r} (the same text without it)" if intended(value) else "delete the cell's content")


def describe_lookalike(value: str) -> tuple[str, str]:
    return (f"the text holds a letter from another script that looks like a Latin one ({_named(value, is_lookalike)})",
            f"write {intended(value)!r} (in Latin letters)")


def describe_formula(value: str) -> tuple[str, str]:
    first = value[:1]
    shown = repr(first) if not first.isprintable() else f"'{first}'"
    return (f"the text starts with {shown}, which a spreadsheet runs as a formula",
            "reword it so it starts with a letter or a digit")


def canonical_reference(item: str) -> str | None:
    """One reference in canonical spelling, or None when there is no safe guess: `PMID:` + a positive
    integer without leading zeros, or a DOI without a `doi:`/doi.org prefix and trailing punctuation."""
    item = item.strip()
    if re.fullmatch(r"\d{1,9}", item):
        item = f"PMID:{item}"
    if match := re.fullmatch(r"(?i)pmid[\s:#]*0*(\d+)", item):
        return f"PMID:{match[1]}" if match[1] != "0" and int(match[1]) > 0 else None
    if match := re.fullmatch(r"(?i)(?:doi:\s*|https?://(?:dx\.)?doi\.org/)?(10\.\S+)", item):
        doi = match[1]
        while doi and (doi[-1] in ".," or (doi[-1] == ")" and doi.count("(") < doi.count(")"))):
            doi = doi[:-1]
        return doi if re.fullmatch(DOI, doi) else None
    return None


def unbalanced_parenthesis(references: str) -> bool:
    """An item ends in ')' that it never opened: the parenthesis of the sentence around it, copied along."""
    return any(item.endswith(")") and item.count("(") < item.count(")") for item in references.split(";"))
