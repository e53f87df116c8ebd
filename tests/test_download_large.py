"""Downloads of any size: verification limits follow the sizes and hashes the bundle declares,
so a release far beyond any fixed cap downloads and verifies (benchmarks/bench_download.py builds
it and serves it from 127.0.0.1). The 10^6-finding run is slow: KETAMAP_SLOW=1 runs it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_download  # noqa: E402

from pipeline.publish.download import Limits, download  # noqa: E402


def test_declared_resources_are_bounded_by_their_declaration_not_by_a_cap(tmp_path):
    # Undeclared files may be at most 1 KiB here; the findings table (declared) is far bigger.
    archive = bench_download.release_zip(5_000)
    server, url = bench_download.serve(archive)
    try:
        result = download(url, tmp_path / "out", limits=Limits(max_other_bytes=1024, max_ratio=2.0))
    finally:
        server.shutdown()
        server.server_close()
    assert result.status == "new"
    assert (tmp_path / "out" / "data" / "findings.csv").stat().st_size > 1_000_000


@pytest.mark.skipif(os.environ.get("KETAMAP_SLOW") != "1", reason="slow (minutes): set KETAMAP_SLOW=1")
def test_a_release_of_a_million_findings_downloads_and_verifies(tmp_path):
    measured = bench_download.run(1_000_000, tmp_path)
    assert measured["status"] == "new"
    assert measured["unpacked_bytes"] > 256 * 1024 * 1024  # beyond the fixed cap there used to be
    assert "ketamap validate: no problems" in measured["checks"]
