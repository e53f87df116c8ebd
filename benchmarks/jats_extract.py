"""How fast the JATS reader is: the Table-1-like fixture, and synthetic tables of growing size.

Prints seconds per parse (best of 5). Run from the repository root:

    python benchmarks/jats_extract.py
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from pipeline.sources.jats import jats_findings, parse_jats
from pipeline.core.vocab import Vocabulary

FIXTURE = Path("tests/fixtures/jats/table1-like.xml")


def best_of(runs: int, action) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def grown(data: bytes, copies: int) -> bytes:
    """The fixture's body rows repeated (as a stress of the grid and citation code, not valid data)."""
    text = data.decode("utf-8")
    body = re.search(r"<tbody>\n(.*)\n</tbody>", text, re.S).group(1)
    return text.replace(body, "\n".join([body] * copies)).encode("utf-8")


def main() -> None:
    vocab = Vocabulary()
    data = FIXTURE.read_bytes()
    seconds = best_of(5, lambda: jats_findings(parse_jats(data, "f.xml", vocab), vocab, "kang-2022"))
    print(f"table1-like.xml ({len(data)} bytes, 53 rows, 93 findings): {seconds * 1000:.1f} ms per parse + findings")
    for copies in (10, 100):
        big = grown(data, copies)
        # duplicate labels make parse_jats refuse the table at the end; the time is the full read
        def parse():
            try:
                parse_jats(big, "big.xml", vocab)
            except Exception:
                pass
        print(f"{copies * 53} body rows ({len(big) // 1024} KiB): {best_of(3, parse) * 1000:.0f} ms per parse")


if __name__ == "__main__":
    main()
