"""The hostile corpus of the publish layer (tests/hostile/publish.py), run case by case: each gets its
promised exit code and problem code, no traceback, and leaves every folder as it was."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from fake_zenodo import FakeZenodo
from hostile.publish import (
    ROOT,
    TOP,
    all_cases,
    extra_file_zip,
    package_files,
    release_zip,
    remote_edit,
    with_checksums,
    zip_bytes,
)
from local_http import serve
from pipeline.cli.app import app
from pipeline.core.problems import ProblemsFound
from pipeline.publish.download import Limits, download

CASES = {case.klass: [] for case in all_cases()}
for _case in all_cases():
    CASES[_case.klass].append(_case)


def ids(klass: str) -> list[str]:
    return [case.name for case in CASES[klass]]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


def run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def promised(result, case) -> None:
    assert result.exit_code == case.exit, result.output
    if case.code:
        assert f"[{case.code}]" in result.output, result.output


# -- undeclared files: refused before anything is placed, listed in SHA256SUMS or not ---------------


@pytest.mark.parametrize("case", CASES["undeclared files"], ids=ids("undeclared files"))
def test_undeclared_file_in_a_bundle_is_refused(server, tmp_path, case):
    route, name, data, listed = case.data
    archive = extra_file_zip(name, data, listed)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"{TOP}.zip").write_bytes(archive)
    before = snapshot(tmp_path)
    if route == "validate zip":
        result = run("validate", str(tmp_path / "in" / f"{TOP}.zip"))
    else:
        source = serve(server, f"/{TOP}.zip", archive) if route == "download zip url" else str(tmp_path / "in" / f"{TOP}.zip")
        result = run("download", source, "--to", str(tmp_path / "out"))
    promised(result, case)
    assert name in result.output
    assert snapshot(tmp_path) == before


# -- nothing remote is fetched during verification -------------------------------------------------


@pytest.mark.parametrize("case", CASES["remote references"], ids=ids("remote references"))
def test_remote_schema_or_dialect_is_refused_and_never_fetched(server, tmp_path, case):
    route, kind, where = case.data
    remote = serve(server, "/remote/thing.json", json.dumps({"fields": []}).encode())
    files = with_checksums(package_files(descriptor_edit=remote_edit(kind, where or remote)))
    before_hits = len(server.hits)
    if route == "validate folder":
        for name, data in files.items():
            (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "pkg" / name).write_bytes(data)
        result = run("validate", str(tmp_path / "pkg" / "datapackage.json"))
    elif route == "download descriptor url":
        for name, data in files.items():
            serve(server, f"/pkg/{name}", data)
        result = run("download", f"{server.base}/pkg/datapackage.json", "--to", str(tmp_path / "out"))
    else:
        result = run("download", serve(server, f"/{TOP}.zip", zip_bytes(files)), "--to", str(tmp_path / "out"))
    promised(result, case)
    assert not any(hit.startswith("/remote/") for hit in server.hits[before_hits:])
    assert not (tmp_path / "out").exists()


def test_verification_never_involves_frictionless(server, tmp_path):
    """Nothing remote can be fetched while a download is verified: the descriptor's remote references are
    refused first (above), and the package is validated from the staged files alone; frictionless, which
    would fetch a remote schema, dialect or profile, is never even imported."""
    files = with_checksums(package_files(descriptor_edit=remote_edit("schema", server.base + "/remote/s.json")))
    good, bad = serve(server, f"/{TOP}.zip", release_zip()), serve(server, f"/bad/{TOP}.zip", zip_bytes(files))
    script = ("import sys\nfrom pathlib import Path\nfrom pipeline.core.problems import ProblemsFound\n"
              "from pipeline.publish.download import download\n"
              f"download({good!r}, Path({str(tmp_path / 'good')!r}))\n"
              f"try:\n    download({bad!r}, Path({str(tmp_path / 'bad')!r}))\n"
              "except ProblemsFound as refused:\n    print(refused.problems[0].code)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'frictionless'))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["remote-reference", "[]"]
    assert (tmp_path / "good" / "datapackage.json").is_file() and not (tmp_path / "bad").exists()
    assert not any(hit.startswith("/remote/") for hit in server.hits)


# -- transfers: one deadline per transfer; one Retry-After parser -----------------------------------


@pytest.mark.parametrize("case", CASES["transfers"], ids=ids("transfers"))
def test_hostile_server(server, tmp_path, case):
    started = time.monotonic()
    if case.code == "deadline-exceeded":
        *headers, how = case.data.split()
        url = serve(server, f"/{TOP}.zip", release_zip(), drip=2.0, drip_headers=bool(headers))
        if how == "library":
            with pytest.raises(ProblemsFound) as refused:
                download(url, tmp_path / "out", limits=Limits(deadline=3.0))
            assert refused.value.problems[0].code == case.code
        else:
            args = ["download", url, "--to", str(tmp_path / "out")]
            env = {"KETAMAP_DOWNLOAD_DEADLINE": "3"} if how == "env" else None
            promised(run(*args, *(["--deadline", "3"] if how == "cli" else []), env=env), case)
        assert time.monotonic() - started < 8
        assert list(tmp_path.iterdir()) == []
        return
    if case.exit == 2:  # a server that always asks to wait longer than the cap
        url = serve(server, f"/{TOP}.zip", status=429, headers={"Retry-After": case.data})
        result = run("download", url, "--to", str(tmp_path / "out"))
        promised(result, case)
        assert "asking to wait" in result.output and time.monotonic() - started < 5
        return
    url = serve(server, f"/{TOP}.zip", release_zip(), fail=[429], fail_headers={"Retry-After": case.data})
    slept: list[float] = []
    download(url, tmp_path / "out", sleep=slept.append)
    assert slept == [0.5]  # the backoff: a date in the past or an unreadable value asks for no longer wait


# -- --replace replaces only what ketamap placed ------------------------------------------------------


def _placed(tmp_path: Path, folder: Path) -> None:
    (tmp_path / "old.zip").write_bytes(release_zip("0.0.9"))
    assert run("download", str(tmp_path / "old.zip"), "--to", str(folder)).exit_code == 0
    (tmp_path / "old.zip").unlink()


@pytest.mark.parametrize("case", CASES["replace"], ids=ids("replace"))
def test_replace_never_deletes_what_ketamap_did_not_place(server, tmp_path, case, monkeypatch):
    url = serve(server, f"/{TOP}.zip", release_zip())
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    to = str(work / "out")
    if case.data == "cwd":
        monkeypatch.chdir(work)
        to = "."
    elif case.data == "parent":
        monkeypatch.chdir(work / "sub")
        to = ".."
    elif case.data == "foreign":
        (work / "out").mkdir()
        (work / "out" / "analysis.R").write_text("my work")
    elif case.data in ("gained", "gained-nested", "placed"):
        _placed(tmp_path, work / "out")
        if case.data == "gained":
            (work / "out" / "analysis.R").write_text("my work")
        elif case.data == "gained-nested":
            (work / "out" / "mine").mkdir()
            (work / "out" / "mine" / "x.txt").write_text("my work")
    elif case.data == "symlink":
        _placed(tmp_path, work / "real")
        (work / "out").symlink_to(work / "real")
    before = snapshot(tmp_path)
    result = run("download", url, "--to", to, "--replace")
    promised(result, case)
    if case.exit:
        assert snapshot(tmp_path) == before
    else:
        assert json.loads((work / "out" / ".ketamap-download.json").read_text())["version"] == "0.1.0"
        assert not list(work.glob(".*"))


# -- staging folders: removed on SIGTERM, swept when left by a killed run ----------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("case", CASES["staging"], ids=ids("staging"))
def test_staging_folders_do_not_stay_behind(server, tmp_path, case):
    if case.data == "sigterm":
        url = serve(server, f"/{TOP}.zip", release_zip(), drip=0.5)
        ketamap = Path(sys.executable).with_name("ketamap")
        process = subprocess.Popen([str(ketamap), "download", url, "--to", str(tmp_path / "out")],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".ketamap-download-*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(tmp_path.glob(".ketamap-download-*")), "the download never started"
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == case.exit, stderr
        assert b"Traceback" not in stderr
        assert list(tmp_path.iterdir()) == []
        return
    pid = _dead_pid() if case.data == "stale" else 1
    left = tmp_path / f".ketamap-download-{pid}-abc123"
    (left / "package").mkdir(parents=True)
    (left / "release.zip").write_bytes(b"partial")
    (tmp_path / f"{TOP}.zip").write_bytes(release_zip())
    result = run("download", str(tmp_path / f"{TOP}.zip"), "--to", str(tmp_path / "out"))
    promised(result, case)
    assert left.exists() == (case.data == "live")


# -- the token: checked before use, never shown ---------------------------------------------------


def _deposit_release(root: Path, creators: list[dict] | None = None) -> tuple[Path, Path, Path]:
    bundle = root / "dist" / "ketamap-0.1.0.zip"
    bundle.parent.mkdir(parents=True)
    bundle.write_bytes(release_zip())
    metadata = json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))
    metadata["version"] = "0.1.0"
    if creators is not None:
        metadata["creators"] = creators
    (root / ".zenodo.json").write_text(json.dumps(metadata), encoding="utf-8")
    return bundle, root / ".zenodo.json", root / "release" / "zenodo-deposits.json"


@pytest.mark.parametrize("case", CASES["token"], ids=ids("token"))
def test_malformed_token_is_refused_unseen(tmp_path, case):
    token = case.data
    bundle, metadata, state = _deposit_release(tmp_path, [{"name": "Doe, Jane"}])
    with FakeZenodo(token) as fake:
        result = run("deposit", "--publish", "--bundle", str(bundle), "--metadata", str(metadata), "--state",
                     str(state), env={"KETAMAP_ZENODO_API": fake.api, "ZENODO_TOKEN": token})
        assert fake.requests == []
    promised(result, case)
    for form in (token, repr(token), json.dumps(token), quote(token), quote(token, safe=""), "Pp0sECRET"):
        assert form not in result.output
    assert not state.exists()


# -- diff --format markdown shows values literally ------------------------------------------------


def _package_folder(folder: Path, label: str | None = None) -> Path:
    files = package_files()
    if label is not None:
        rows = list(csv.DictReader(io.StringIO(files["data/findings.csv"].decode("utf-8"))))
        rows[0]["molecule_label"] = label
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        files["data/findings.csv"] = out.getvalue().encode("utf-8")
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("case", CASES["markdown"], ids=ids("markdown"))
def test_diff_markdown_shows_links_images_and_html_literally(tmp_path, case):
    from markdown_it import MarkdownIt

    old = _package_folder(tmp_path / "old")
    new = _package_folder(tmp_path / "new", case.data)
    result = run("diff", str(old), str(new), "--format", "markdown")
    promised(result, case)
    html = MarkdownIt("commonmark").enable("table").render(result.output)
    for tag in ("<a ", "<img", "<script", "<b>"):
        assert tag not in html, html
    assert "Changed:" in result.output


# -- deposit metadata: a production record names real people ---------------------------------------


@pytest.mark.parametrize("case", CASES["deposit metadata"], ids=ids("deposit metadata"))
def test_placeholder_creator_is_refused_in_production(tmp_path, case):
    flags = [a for a in case.data if a.startswith("--")]
    name = next((a for a in case.data if not a.startswith("--")), "Maintainers, ketamap")
    bundle, metadata, state = _deposit_release(tmp_path, [{"name": name}])
    with FakeZenodo("tok-good") as fake:
        result = run("deposit", *flags, "--bundle", str(bundle), "--metadata", str(metadata), "--state", str(state),
                     env={"KETAMAP_ZENODO_API": fake.api, "ZENODO_TOKEN": "tok-good"})
        assert fake.requests == []
    promised(result, case)
    assert "release.creators" in result.output and "params.yaml" in result.output
    if case.exit == 0:
        assert "warning [placeholder-creator]" in result.output


def test_corpus_covers_every_class():
    assert {klass: len(cases) for klass, cases in CASES.items()} == {
        "undeclared files": 30, "remote references": 24, "transfers": 10, "replace": 7, "staging": 3,
        "token": 8, "markdown": 9, "deposit metadata": 4}


def test_the_builder_writes_the_bundle_cases(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "hostile" / "publish.py"), str(tmp_path)],
                          capture_output=True, text=True, check=True)
    assert "undeclared files: 30" in done.stdout
    assert len(list(tmp_path.glob("*.zip"))) == 18
