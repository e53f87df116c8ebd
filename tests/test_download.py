"""`ketamap download`: real release bundles served by a real HTTP server on 127.0.0.1 (with a fake
Zenodo records API); every hostile or broken download is refused with the target untouched."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hostile.publish import package_files, rehash_descriptor, release_zip, sha256, with_checksums, zip_bytes
from local_http import Handler, serve
from pipeline.cli.app import app
from pipeline.publish.download import Limits, download, exit_code
from pipeline.publish.place import MARKER
from pipeline.core.problems import Problem, ProblemsFound

ROOT = Path(__file__).resolve().parent.parent
NAME, VERSION = "ketamap", "0.1.0"
TOP = f"{NAME}-{VERSION}"
RESOURCES = ("findings", "molecules", "regions", "sources")
NO_SLEEP = lambda seconds: None  # noqa: E731


# ---------------------------------------------------------------------------------------------
# Bundles with the release's shape, built from the package `dvc repro` produced in this repository


def add_entry(archive: bytes, name: str, data: bytes, mode: int = 0o100644) -> bytes:
    buffer = io.BytesIO(archive)
    with zipfile.ZipFile(buffer, "a") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we add on purpose
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.create_system = 3
        info.external_attr = mode << 16
        zf.writestr(info, data)
    return buffer.getvalue()


def bomb_zip(size: int) -> bytes:
    """A good bundle whose README.md (a file whose size nothing declares) is `size` zero bytes."""
    files = with_checksums(package_files())
    buffer = io.BytesIO(zip_bytes({k: v for k, v in files.items() if k != "README.md"}))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(f"{TOP}/README.md", "w", force_zip64=True) as entry:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                entry.write(block)
    return buffer.getvalue()


def patch_sizes(archive: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size that the zip headers declare for entry `name`."""
    data = bytearray(archive)
    # uncompressed size: offset 22 in a local header (name at 30), 24 in a central one (name at 46)
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = data.find(signature)
        while start != -1:
            if data[start + name_at:start + name_at + len(name)] == name.encode():
                data[start + size_at:start + size_at + 4] = struct.pack("<I", size)
            start = data.find(signature, start + 4)
    return bytes(data)


def lying_size_zip() -> bytes:
    """findings.csv's headers declare the size datapackage.json declares; its deflate stream holds 8 MiB."""
    files = with_checksums(package_files())
    declared = len(files["data/findings.csv"])
    files["data/findings.csv"] = bytes(8 << 20)
    return patch_sizes(zip_bytes(files), f"{TOP}/data/findings.csv", declared)


def oversized_resource_zip() -> bytes:
    """findings.csv unpacks to more bytes than datapackage.json declares for it."""
    files = package_files()
    files["data/findings.csv"] += b"x" * 5000
    return zip_bytes(with_checksums(files))


# ---------------------------------------------------------------------------------------------
# A fake Zenodo records API on the real HTTP server (tests/local_http.py)


def zenodo_record(server, record_id: int, version: str, archive: bytes, concept: int = 100,
                  md5: str | None = None, size: int | None = None) -> dict:
    key = f"{NAME}-{version}.zip"
    content = serve(server, f"/api/records/{record_id}/files/{key}/content", archive)
    return {
        "id": record_id, "conceptrecid": str(concept), "doi": f"10.5281/zenodo.{record_id}",
        "conceptdoi": f"10.5281/zenodo.{concept}",
        "metadata": {"title": "ketamap", "version": version},
        "files": [{"id": "f", "key": key, "size": len(archive) if size is None else size,
                   "checksum": f"md5:{md5 or hashlib.md5(archive).hexdigest()}", "links": {"self": content}}],
        "links": {"self": f"{server.base}/api/records/{record_id}",
                  "versions": f"{server.base}/api/records/{record_id}/versions"},
    }


@pytest.fixture
def zenodo(server):
    """Concept 100 with versions 0.1.0 (record 101) and 0.2.0 (record 102, latest)."""
    records = {101: zenodo_record(server, 101, "0.1.0", release_zip("0.1.0")),
               102: zenodo_record(server, 102, "0.2.0", release_zip("0.2.0"))}
    publish(server, records)
    return records


def publish(server, records: dict) -> None:
    latest = records[max(records)]
    for record_id, record in records.items():
        serve(server, f"/api/records/{record_id}", json.dumps(record).encode(),
              headers={"Content-Type": "application/json"})
        serve(server, f"/api/records/{record_id}/versions", json.dumps(
            {"hits": {"hits": list(records.values()), "total": len(records)}, "links": {}}).encode())
    serve(server, "/api/records/100/versions/latest", json.dumps(latest).encode())


# ---------------------------------------------------------------------------------------------
# Helpers


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's bytes and every folder (None) under `folder`, hidden ones included."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, ["download", *args], env=env)


def fetch(source: str, to: Path, **kwargs) -> tuple[int, list[Problem]]:
    """`download` with no real sleeping; (exit code, problems)."""
    try:
        download(source, to, sleep=kwargs.pop("sleep", NO_SLEEP), **kwargs)
    except ProblemsFound as found:
        return exit_code(found.problems), found.problems
    return 0, []


def assert_is_release(folder: Path, version: str = VERSION) -> None:
    expected = with_checksums(package_files(version))
    placed = snapshot(folder)
    marker = json.loads(placed.pop(MARKER))
    assert placed == {**{name: data for name, data in expected.items()}, "data": None}
    assert marker["files"] == sorted(expected) and marker["version"] == version


# ---------------------------------------------------------------------------------------------
# Good releases


def test_release_zip_url_downloads_verifies_and_lands_byte_for_byte(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    result = cli(url, "--to", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "SHA256SUMS: 9 files match" in result.output
    assert "sha256 and byte size of 4 resources match" in result.output
    assert "ketamap validate: no problems" in result.output
    assert_is_release(tmp_path / "out")


def test_downloaded_data_matches_the_package_dvc_repro_built(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    assert fetch(url, tmp_path / "out") == (0, [])
    descriptor = json.loads((ROOT / "datapackage.json").read_text())
    for resource in descriptor["resources"]:
        data = (tmp_path / "out" / resource["path"]).read_bytes()
        assert f"sha256:{sha256(data)}" == resource["hash"]
        assert data == (ROOT / resource["path"]).read_bytes()


def test_default_target_is_name_dash_version_in_the_current_folder(server, tmp_path, monkeypatch):
    url = serve(server, f"/{TOP}.zip", release_zip())
    monkeypatch.chdir(tmp_path)
    result = cli(url)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [TOP]
    assert_is_release(tmp_path / TOP)


def test_datapackage_url_fetches_each_resource_relative_to_it(server, tmp_path):
    for name, data in package_files().items():
        serve(server, f"/releases/v0.1.0/{name}", data)
    result = cli(f"{server.base}/releases/v0.1.0/datapackage.json", "--to", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(tmp_path / "out")) == [MARKER, "data", *sorted(f"data/{r}.csv" for r in RESOURCES),
                                                   "datapackage.json"]
    assert "/releases/v0.1.0/data/findings.csv" in server.hits


def test_zenodo_doi_resolves_through_the_records_api_and_checks_md5(server, zenodo, tmp_path):
    result = cli("10.5281/zenodo.101", "--to", str(tmp_path / "out"), env={"KETAMAP_ZENODO_API": server.base + "/api"})
    assert result.exit_code == 0, result.output
    assert "Zenodo record 101: md5 and size of ketamap-0.1.0.zip match" in result.output
    assert_is_release(tmp_path / "out", "0.1.0")


def test_concept_doi_gives_the_latest_version(server, zenodo, tmp_path):
    code, problems = fetch("https://doi.org/10.5281/zenodo.100", tmp_path / "out", api=server.base + "/api")
    assert (code, problems) == (0, [])
    assert json.loads((tmp_path / "out" / "datapackage.json").read_text())["version"] == "0.2.0"


def test_version_option_picks_that_version_among_the_concepts_versions(server, zenodo, tmp_path):
    result = cli("https://zenodo.org/records/102", "--version", "v0.1.0", "--to", str(tmp_path / "out"),
                 "--zenodo-api", server.base + "/api")
    assert result.exit_code == 0, result.output
    assert_is_release(tmp_path / "out", "0.1.0")
    assert "/api/records/101/files/ketamap-0.1.0.zip/content" in server.hits


def test_unknown_version_is_exit_2_and_lists_the_versions(server, zenodo, tmp_path):
    result = cli("10.5281/zenodo.101", "--version", "9.9.9", "--to", str(tmp_path / "out"),
                 "--zenodo-api", server.base + "/api")
    assert result.exit_code == 2
    assert "version-not-found" in result.output and "0.1.0, 0.2.0" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("form", ["zip", "folder", "descriptor"])
def test_local_zip_folder_or_descriptor_is_verified_and_copied(tmp_path, form):
    archive = tmp_path / f"{TOP}.zip"
    archive.write_bytes(release_zip())
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "unpacked")
    source = {"zip": archive, "folder": tmp_path / "unpacked",
              "descriptor": tmp_path / "unpacked" / TOP / "datapackage.json"}[form]
    result = cli(str(source), "--to", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    files = snapshot(tmp_path / "out")
    assert files["data/findings.csv"] == (ROOT / "data/findings.csv").read_bytes()
    assert (tmp_path / "out" / "SHA256SUMS").exists() == (form == "zip")


def test_downloaded_package_loads_with_frictionless_and_pandas(server, tmp_path):
    import frictionless
    import pandas as pd

    url = serve(server, f"/{TOP}.zip", release_zip())
    assert fetch(url, tmp_path / "out") == (0, [])
    report = frictionless.Package(str(tmp_path / "out" / "datapackage.json")).validate()
    assert report.valid, report.flatten(["type", "message"])
    findings = pd.read_csv(tmp_path / "out" / "data" / "findings.csv", dtype=str, keep_default_na=False)
    published = pd.read_csv(ROOT / "data" / "findings.csv", dtype=str, keep_default_na=False)
    assert findings.equals(published)
    assert set(findings["direction"]) <= {"increase", "decrease", "no_change"}


def test_same_release_again_is_exit_0_and_changes_nothing(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    assert cli(url, "--to", str(tmp_path / "out")).exit_code == 0
    before = snapshot(tmp_path)
    result = cli(url, "--to", str(tmp_path / "out"))
    assert result.exit_code == 0 and "(identical); nothing changed" in result.output
    assert snapshot(tmp_path) == before


def test_other_content_in_target_is_refused_even_with_replace(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    result = cli(url, "--to", str(tmp_path / "out"))
    assert result.exit_code == 2 and "target-exists" in result.output
    assert snapshot(tmp_path) == before
    result = cli(url, "--to", str(tmp_path / "out"), "--replace")
    assert result.exit_code == 2 and "[target-foreign]" in result.output
    assert snapshot(tmp_path) == before


def test_replace_replaces_a_folder_an_earlier_download_placed(server, tmp_path):
    (tmp_path / "old.zip").write_bytes(release_zip("0.0.9"))
    assert cli(str(tmp_path / "old.zip"), "--to", str(tmp_path / "out")).exit_code == 0
    url = serve(server, f"/{TOP}.zip", release_zip())
    assert cli(url, "--to", str(tmp_path / "out")).exit_code == 2
    result = cli(url, "--to", str(tmp_path / "out"), "--replace")
    assert result.exit_code == 0, result.output
    assert_is_release(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.zip", "out"]


def test_replace_refuses_a_placed_folder_that_gained_a_file(server, tmp_path):
    (tmp_path / "old.zip").write_bytes(release_zip("0.0.9"))
    assert cli(str(tmp_path / "old.zip"), "--to", str(tmp_path / "out")).exit_code == 0
    (tmp_path / "out" / "analysis.R").write_text("my work")
    before = snapshot(tmp_path)
    result = cli(serve(server, f"/{TOP}.zip", release_zip()), "--to", str(tmp_path / "out"), "--replace")
    assert result.exit_code == 2 and "[target-foreign]" in result.output and "analysis.R" in result.output
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------------------
# Hostile or broken downloads: exit 1, the target exactly as before


def tampered_data_zip() -> bytes:
    files = package_files()
    files["data/findings.csv"] = files["data/findings.csv"].replace(b"increase", b"decrease", 1)
    return zip_bytes(with_checksums(files))  # SHA256SUMS recomputed, datapackage.json not


def tampered_data_stale_checksums_zip() -> bytes:
    files = with_checksums(package_files())
    files["data/findings.csv"] = files["data/findings.csv"].replace(b"increase", b"decrease", 1)
    return zip_bytes(files)


def invalid_but_consistent_zip() -> bytes:
    files = package_files()
    files["data/findings.csv"] = files["data/findings.csv"].replace(b",increase,", b",sideways,", 1)
    return zip_bytes(with_checksums(rehash_descriptor(files)))


HOSTILE = {
    # name: (archive bytes, the problem code expected, a text the message must contain)
    "tampered data file": (tampered_data_zip, "checksum-mismatch", "data/findings.csv"),
    "tampered data file, stale SHA256SUMS": (tampered_data_stale_checksums_zip, "checksum-mismatch",
                                             "sha256 differs from SHA256SUMS"),
    "hashes consistent, data invalid": (invalid_but_consistent_zip, "constraint-error", "sideways"),
    "zip slip": (lambda: add_entry(release_zip(), f"{TOP}/../../evil.txt", b"pwned"), "unsafe-path", ".."),
    "absolute path": (lambda: add_entry(release_zip(), "/tmp/evil.txt", b"pwned"), "unsafe-path", "absolute"),
    "backslash path": (lambda: add_entry(release_zip(), f"{TOP}\\..\\evil.txt", b"pwned"), "unsafe-path", "backslash"),
    "drive letter": (lambda: add_entry(release_zip(), "C:/evil.txt", b"pwned"), "unsafe-path", "absolute"),
    "symlink entry": (lambda: add_entry(release_zip(), f"{TOP}/data/link.csv", b"/etc/passwd",
                                        mode=stat.S_IFLNK | 0o777), "symlink-entry", "symbolic link"),
    "duplicate names": (lambda: add_entry(release_zip(), f"{TOP}/data/findings.csv", b"x,y\n"),
                        "duplicate-entry", "same name"),
    "names differing in case": (lambda: add_entry(release_zip(), f"{TOP}/DATA/FINDINGS.CSV", b"x\n"),
                                "duplicate-entry", "case"),
    "not a zip": (lambda: b"<html>Service moved</html>", "not-a-zip", "not a zip"),
    "zip bomb": (lambda: bomb_zip(300 << 20), "zip-bomb", "expands"),
    "declared sizes lie": (lying_size_zip, "corrupt-zip", "damaged"),
    "resource larger than declared": (oversized_resource_zip, "zip-bomb", "datapackage.json declares"),
}


@pytest.fixture(scope="module")
def hostile_archives():
    return {}


@pytest.mark.parametrize("previous", [False, True], ids=["empty target", "previous good download"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_release_is_refused_and_target_unchanged(server, tmp_path, hostile_archives, case, previous):
    make, code, text = HOSTILE[case]
    if case not in hostile_archives:
        hostile_archives[case] = make()
    archive = hostile_archives[case]
    target = tmp_path / "out"
    if previous:
        (tmp_path / "good.zip").write_bytes(release_zip())
        assert cli(str(tmp_path / "good.zip"), "--to", str(target)).exit_code == 0
    before = snapshot(tmp_path)
    url = serve(server, f"/{TOP}.zip", archive)
    result = cli(url, "--to", str(target))
    assert result.exit_code == 1, result.output
    assert f"[{code}]" in result.output and text in result.output
    assert "nothing was written" in result.output
    assert snapshot(tmp_path) == before


def test_zip_bomb_stays_small_on_the_wire(hostile_archives):
    archive = hostile_archives.get("zip bomb") or HOSTILE["zip bomb"][0]()
    assert len(archive) < 2 << 20
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert zf.getinfo(f"{TOP}/README.md").file_size == 300 << 20


def test_tampered_zip_fails_zenodo_md5_before_anything_is_unpacked(server, tmp_path):
    good = release_zip()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    records = {101: zenodo_record(server, 101, "0.1.0", bytes(bad), md5=hashlib.md5(good).hexdigest())}
    publish(server, records)
    before = snapshot(tmp_path)
    code, problems = fetch("10.5281/zenodo.101", tmp_path / "out", api=server.base + "/api")
    assert code == 1
    assert [p.code for p in problems] == ["checksum-mismatch"]
    assert f"expected {hashlib.md5(good).hexdigest()}, got {hashlib.md5(bad).hexdigest()}" in problems[0].message
    assert snapshot(tmp_path) == before


def test_size_different_from_zenodo_record_is_refused(server, tmp_path):
    archive = release_zip()
    publish(server, {101: zenodo_record(server, 101, "0.1.0", archive, size=len(archive) - 1)})
    code, problems = fetch("10.5281/zenodo.101", tmp_path / "out", api=server.base + "/api")
    assert code == 1 and problems[0].code == "size-mismatch"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("previous", [False, True], ids=["empty target", "previous good download"])
def test_truncated_transfer_is_retried_then_refused(server, tmp_path, previous):
    target = tmp_path / "out"
    if previous:
        (tmp_path / "good.zip").write_bytes(release_zip())
        assert cli(str(tmp_path / "good.zip"), "--to", str(target)).exit_code == 0
    url = serve(server, f"/{TOP}.zip", release_zip(), truncate=500)
    before = snapshot(tmp_path)
    slept = []
    code, problems = fetch(url, target, sleep=slept.append, limits=Limits(retries=2))
    assert code == 1
    assert problems[0].code == "truncated-transfer" and "gave up after 3 attempts" in problems[0].message
    assert server.hits.count(f"/{TOP}.zip") == 3 and slept == [0.5, 1.0]
    assert snapshot(tmp_path) == before


def test_server_error_then_success_is_retried_with_backoff(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip(), fail=[500, 503, 429])
    slept = []
    assert fetch(url, tmp_path / "out", sleep=slept.append) == (0, [])
    assert slept == [0.5, 1.0, 2.0]
    assert_is_release(tmp_path / "out")


def test_retry_after_is_honoured_within_the_cap(server, tmp_path):
    serve(server, f"/{TOP}.zip", release_zip())
    server.routes[f"/{TOP}.zip"].fail = [429]
    original = Handler._answer

    def answer(self, status, body, headers=None, truncate=0):
        if status == 429:
            headers = {"Retry-After": "3"}
        original(self, status, body, headers, truncate)

    Handler._answer = answer
    try:
        slept = []
        assert fetch(f"{server.base}/{TOP}.zip", tmp_path / "out", sleep=slept.append) == (0, [])
    finally:
        Handler._answer = original
    assert slept == [3.0]


def test_not_found_is_exit_2_without_retrying(server, tmp_path):
    result = cli(f"{server.base}/nothing-here.zip", "--to", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "[not-found]" in result.output and "404" in result.output
    assert server.hits == ["/nothing-here.zip"]
    assert list(tmp_path.iterdir()) == []


def test_unknown_zenodo_record_is_exit_2(server, tmp_path):
    result = cli("10.5281/zenodo.999", "--to", str(tmp_path / "out"), "--zenodo-api", server.base + "/api")
    assert result.exit_code == 2 and "Zenodo has no record 999" in result.output


def test_persistent_server_errors_give_up_with_exit_2(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip(), fail=[502] * 10)
    slept = []
    code, problems = fetch(url, tmp_path / "out", sleep=slept.append)
    assert code == 2 and "HTTP 502" in problems[0].message
    assert slept == [0.5, 1.0, 2.0, 4.0]


def test_timeout_is_retried_then_exit_2(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip(), delay=1.0)
    code, problems = fetch(url, tmp_path / "out", limits=Limits(retries=1, timeout=(2.0, 0.2)))
    assert code == 2 and problems[0].code == "unreachable" and "in time" in problems[0].message


def test_redirect_off_https_is_refused(server, tmp_path):
    url = serve(server, "/moved.zip", status=302, headers={"Location": "http://example.com/ketamap.zip"})
    code, problems = fetch(url, tmp_path / "out")
    assert code == 1 and problems[0].code == "insecure-redirect"
    assert problems[0].value == "http://example.com/ketamap.zip"


def test_redirect_within_loopback_is_followed(server, tmp_path):
    serve(server, f"/{TOP}.zip", release_zip())
    url = serve(server, "/latest.zip", status=302, headers={"Location": f"/{TOP}.zip"})
    assert fetch(url, tmp_path / "out") == (0, [])


def test_plain_http_to_another_host_is_refused_before_connecting(tmp_path):
    result = cli("http://example.com/ketamap-0.1.0.zip", "--to", str(tmp_path / "out"))
    assert result.exit_code == 2 and "[insecure-url]" in result.output


def test_oversized_transfer_is_stopped(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    code, problems = fetch(url, tmp_path / "out", limits=Limits(max_download_bytes=1000))
    assert code == 1 and problems[0].code == "size-mismatch"


def test_version_option_on_a_url_must_match_the_package(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    result = cli(url, "--version", "0.2.0", "--to", str(tmp_path / "out"))
    assert result.exit_code == 1 and "[version-mismatch]" in result.output
    assert not (tmp_path / "out").exists()


def test_hostile_package_name_cannot_choose_the_target(server, tmp_path, monkeypatch):
    files = package_files()
    descriptor = json.loads(files["datapackage.json"])
    descriptor["name"] = "../../escape"
    files["datapackage.json"] = json.dumps(descriptor).encode()
    url = serve(server, f"/{TOP}.zip", zip_bytes(with_checksums(files)))
    monkeypatch.chdir(tmp_path)
    result = cli(url)
    assert result.exit_code == 1 and "bad-descriptor" in result.output
    assert list(tmp_path.iterdir()) == []


def test_descriptor_resource_path_cannot_escape(server, tmp_path):
    files = package_files()
    descriptor = json.loads(files["datapackage.json"])
    descriptor["resources"][0]["path"] = "../../etc/passwd"
    serve(server, "/pkg/datapackage.json", json.dumps(descriptor).encode())
    code, problems = fetch(f"{server.base}/pkg/datapackage.json", tmp_path / "out")
    assert code == 1 and problems[0].code == "unsafe-path"
    assert server.hits == ["/pkg/datapackage.json"]


def test_validator_is_injectable_and_its_errors_block_the_download(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    seen = []

    def validator(descriptor: Path) -> list[Problem]:
        seen.append(descriptor.name)
        return [Problem("rule-violation", "breaks a rule", file=str(descriptor.parent / "data/findings.csv"), line=2)]

    code, problems = fetch(url, tmp_path / "out", validator=validator)
    assert code == 1 and seen == ["datapackage.json"]
    assert problems[0].file == "data/findings.csv"
    assert not (tmp_path / "out").exists()


def test_progress_reports_each_step_and_does_not_change_the_result(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    events = []
    assert fetch(url, tmp_path / "out", progress=lambda *event: events.append(event)) == (0, [])
    assert_is_release(tmp_path / "out")
    labels = list(dict.fromkeys(label for label, _, _ in events))
    assert labels == [f"{TOP}.zip", "unpacking", "validating the package"]
    assert sum(moved for label, _, moved in events if label == f"{TOP}.zip") == len(release_zip())


def test_invenio_rdm_shaped_record_files_are_understood():
    from pipeline.publish.download import release_file

    record = {"id": 7, "files": {"enabled": True, "entries": {"ketamap-0.1.0.zip": {
        "key": "ketamap-0.1.0.zip", "size": 10, "checksum": "md5:" + "a" * 32,
        "links": {"self": "https://zenodo.org/api/records/7/files/ketamap-0.1.0.zip",
                  "content": "https://zenodo.org/api/records/7/files/ketamap-0.1.0.zip/content"}}}}}
    assert release_file(record, "https://zenodo.org/api") == {
        "key": "ketamap-0.1.0.zip", "url": "https://zenodo.org/api/records/7/files/ketamap-0.1.0.zip/content",
        "md5": "a" * 32, "size": 10}


def test_record_without_a_single_zip_is_exit_2(server, tmp_path):
    record = zenodo_record(server, 101, "0.1.0", release_zip())
    record["files"].append({**record["files"][0], "key": "other.zip"})
    publish(server, {101: record})
    code, problems = fetch("10.5281/zenodo.101", tmp_path / "out", api=server.base + "/api")
    assert code == 2 and problems[0].code == "no-release-file" and "other.zip" in problems[0].value


def test_empty_target_folder_is_filled(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    (tmp_path / "out").mkdir()
    assert fetch(url, tmp_path / "out") == (0, [])
    assert_is_release(tmp_path / "out")


def test_target_under_missing_folders_is_created_only_on_success(server, tmp_path):
    good = serve(server, f"/{TOP}.zip", release_zip())
    serve(server, "/bad.zip", b"not a zip")
    assert fetch(f"{server.base}/bad.zip", tmp_path / "a" / "b" / "out")[0] == 1
    assert list(tmp_path.iterdir()) == []
    assert fetch(good, tmp_path / "a" / "b" / "out") == (0, [])
    assert_is_release(tmp_path / "a" / "b" / "out")


def test_release_bundle_built_by_dvc_repro_downloads_and_matches_the_package(tmp_path):
    bundles = sorted((ROOT / "dist").glob("*.zip"))
    if not bundles:
        pytest.skip("no release bundle under dist/ (the release stage builds it)")
    assert fetch(str(bundles[-1]), tmp_path / "out") == (0, [])
    descriptor = json.loads((ROOT / "datapackage.json").read_text())
    for resource in descriptor["resources"]:
        assert sha256((tmp_path / "out" / resource["path"]).read_bytes()) == resource["hash"].split(":", 1)[1]


def _download_on_a_terminal(url: str, to: Path, *extra: str) -> bytes:
    """Run `ketamap download` with stderr on a pseudo-terminal; what it drew there."""
    import os
    import pty
    import subprocess
    import sys

    import threading

    master, slave = pty.openpty()
    ketamap = Path(sys.executable).with_name("ketamap")
    drawn = bytearray()

    def drain() -> None:  # a terminal nobody reads fills up and blocks the writer
        while True:
            try:
                block = os.read(master, 65536)
            except OSError:
                return
            if not block:
                return
            drawn.extend(block)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    done = subprocess.run([str(ketamap), "download", url, "--to", str(to), *extra], stdout=subprocess.PIPE,
                          stderr=slave, timeout=120)
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    assert done.returncode == 0, bytes(drawn)
    return bytes(drawn)


def test_progress_is_drawn_on_a_terminal_and_silent_with_quiet(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    drawn = _download_on_a_terminal(url, tmp_path / "a")
    assert b"validating the package" in drawn or b"unpacking" in drawn or TOP.encode() in drawn
    assert _download_on_a_terminal(url, tmp_path / "b", "--quiet") == b""


def test_progress_is_silent_when_stderr_is_not_a_terminal(server, tmp_path):
    url = serve(server, f"/{TOP}.zip", release_zip())
    result = cli(url, "--to", str(tmp_path / "out"))
    assert result.exit_code == 0 and "\x1b[" not in result.output
