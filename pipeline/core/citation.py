"""The review as it is cited: one citation text for the descriptor, the data README, the map and the release."""

from __future__ import annotations


def split_list(value: str | None) -> list[str]:
    """A `;`-separated cell of the sources table as its parts."""
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def review_authors(review: dict[str, str]) -> list[tuple[str, str]]:
    """(family, given) of each author as the export prints them ('Melody J Y Kang')."""
    out = []
    for name in split_list(review.get("authors")):
        given, _, family = name.rpartition(" ")
        out.append((family, given))
    return out


def review_citation(review: dict[str, str]) -> str:
    """'Kang, Hawken & Vazquez (2022). <title>. <journal>. doi:<doi>'."""
    families = [family for family, _ in review_authors(review)]
    names = ", ".join(families[:-1]) + f" & {families[-1]}" if len(families) > 1 else "".join(families)
    return (f"{names} ({review.get('year')}). {review.get('title')}. {review.get('journal')}. "
            f"doi:{review.get('doi')}")


def short_citation(review: dict[str, str]) -> str:
    """'Kang, Hawken & Vazquez (2022), Front Psychiatry': the review as a figure or a heading names it."""
    return review_citation(review).split(". ")[0] + f", {review.get('journal', '')}".rstrip(", ")
