"""A release of N findings (default 10^6), built synthetically from this repository's package,
served from 127.0.0.1 and fetched with `ketamap download`: it must download and verify.

    python benchmarks/bench_download.py [ROWS]

The findings table repeats the review's rows under fresh finding_ids (the other tables are the
package's own), so every check runs on real shapes: the archive, SHA256SUMS, each resource's
sha256 and size, and the whole-package validation. Prints the size, the time per step and the
peak RSS. tests/test_download_large.py runs it (at 10^6 rows with KETAMAP_SLOW=1).
"""

from __future__ import annotations

import hashlib
import io
import json
import resource
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME, VERSION = "ketamap", "9.9.9"
TOP = f"{NAME}-{VERSION}"


def findings_table(rows: int, pad: int = 7) -> bytes:
    """`rows` findings: the package's rows over and over, each under its own finding_id, its
    source_text lengthened by `pad` × 64 hex characters that compress like text (a release of
    10^6 findings then unpacks to about 580 MB, as the real one would)."""
    import csv

    source = list(csv.reader(io.StringIO((ROOT / "data" / "findings.csv").read_text(encoding="utf-8"))))
    header, body = source[0], source[1:]
    text = header.index("source_text")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for index in range(rows):
        row = list(body[index % len(body)])
        row[0] = f"fnd-{index:012x}"
        seed = hashlib.sha256(index.to_bytes(8, "little")).hexdigest()
        row[text] = f"{row[text]} {seed * pad}" if pad else row[text]
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def release_files(rows: int) -> dict[str, bytes]:
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["version"] = VERSION
    files = {r["path"]: (ROOT / r["path"]).read_bytes() for r in descriptor["resources"]}
    findings = next(r for r in descriptor["resources"] if r["name"] == "findings")
    files[findings["path"]] = findings_table(rows)
    for r in descriptor["resources"]:
        data = files[r["path"]]
        r["hash"], r["bytes"] = f"sha256:{hashlib.sha256(data).hexdigest()}", len(data)
    files["datapackage.json"] = (json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n").encode()
    files.update({"README.md": b"# ketamap\n", "LICENSE": b"CC-BY-4.0\n", "CHANGELOG.md": b"## 9.9.9\n",
                  "CITATION.cff": b"cff-version: 1.2.0\n"})
    files["SHA256SUMS"] = "".join(f"{hashlib.sha256(files[p]).hexdigest()}  {p}\n" for p in sorted(files)).encode()
    return files


def release_zip(rows: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, data in sorted(release_files(rows).items()):
            archive.writestr(zipfile.ZipInfo(f"{TOP}/{name}", date_time=(2026, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        view = memoryview(body)
        for start in range(0, len(body), 1 << 20):
            self.wfile.write(view[start:start + (1 << 20)])


def serve(body: bytes):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.body = body
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{TOP}.zip"


def run(rows: int, work: Path) -> dict:
    from pipeline.publish.download import download

    started = time.monotonic()
    archive = release_zip(rows)
    built = time.monotonic() - started
    unpacked = sum(len(d) for d in release_files(rows).values()) if rows <= 10_000 else None
    server, url = serve(archive)
    try:
        steps: dict[str, float] = {}
        last = [time.monotonic(), None]

        def progress(label: str, total, moved: int) -> None:
            now = time.monotonic()
            if label != last[1]:
                if last[1] is not None:
                    steps[last[1]] = steps.get(last[1], 0.0) + now - last[0]
                last[:] = [now, label]

        started = time.monotonic()
        result = download(url, work / "out", progress=progress)
        total = time.monotonic() - started
        steps[last[1]] = steps.get(last[1], 0.0) + time.monotonic() - last[0]
    finally:
        server.shutdown()
        server.server_close()
    return {"rows": rows, "zip_bytes": len(archive), "unpacked_bytes": unpacked or sum(
        p.stat().st_size for p in (work / "out").rglob("*") if p.is_file()), "build_s": round(built, 1),
        "download_s": round(total, 1), "steps_s": {k: round(v, 1) for k, v in steps.items()},
        "status": result.status, "checks": result.checks,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-download-") as work:
        print(json.dumps(run(rows, Path(work)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
