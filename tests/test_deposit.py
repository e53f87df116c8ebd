"""`ketamap deposit` against a fake Zenodo on 127.0.0.1 (tests/fake_zenodo.py)."""

from __future__ import annotations

import json
import socket
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipeline.publish.zenodo as zenodo
from pipeline.cli.app import app
from fake_zenodo import FakeZenodo

TOKEN = "tok-Zq81xN3vPp0sECRET-7c41"
# Typer runs a lone command without its name; once cli.py has several, the name is needed.
COMMAND = ["deposit"] if len(app.registered_commands) > 1 or app.registered_callback else []


def metadata_for(version: str, **extra) -> dict:
    return {
        "upload_type": "dataset",
        "title": "ketamap: molecular changes induced by ketamine",
        "description": "<p>Findings digitised from Table 1 of Kang, Hawken &amp; Vazquez (2022).</p>",
        "creators": [{"name": "Doe, Jane", "orcid": "0000-0002-1694-233X"}],
        "license": "cc-by-4.0",
        "version": version,
        "publication_date": "2026-11-28",
        "keywords": ["ketamine", "neuroplasticity"],
        "related_identifiers": [{"identifier": "10.3389/fpsyt.2022.860882", "relation": "isDerivedFrom",
                                 "scheme": "doi"}],
        "notes": "Table 1 by Kang, Hawken and Vazquez (2022), CC BY 4.0.",
        "language": "eng",
        **extra,
    }


class Release:
    """A working directory with a bundle, .zenodo.json and the state file, as a maintainer has."""

    def __init__(self, root: Path):
        self.root = root
        self.state = root / "release" / "zenodo-deposits.json"
        self.metadata = root / ".zenodo.json"
        self.outputs: list[str] = []

    def prepare(self, version: str, **extra) -> Path:
        bundle = self.root / "dist" / f"ketamap-{version}.zip"
        bundle.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(bundle, "w") as zf:
            info = zipfile.ZipInfo("datapackage.json", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, json.dumps({"name": "ketamap", "version": version}))
        self.metadata.write_text(json.dumps(metadata_for(version, **extra)), encoding="utf-8")
        return bundle

    def run(self, api: str, version: str, *args: str, token: str | None = TOKEN):
        env = {"KETAMAP_ZENODO_API": api, "ZENODO_TOKEN": token or ""}
        bundle = self.root / "dist" / f"ketamap-{version}.zip"
        result = CliRunner().invoke(app, [*COMMAND, *args, "--bundle", str(bundle), "--metadata",
                                          str(self.metadata), "--state", str(self.state)], env=env)
        self.outputs.append(result.output)
        return result

    def entry(self, environment: str = "sandbox") -> dict:
        return json.loads(self.state.read_text(encoding="utf-8"))[environment]


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(zenodo, "default_sleep", slept.append)
    return slept


@pytest.fixture
def fake():
    with FakeZenodo(TOKEN) as server:
        yield server


@pytest.fixture
def release(tmp_path) -> Release:
    return Release(tmp_path)


def published_release(fake: FakeZenodo, release: Release, version: str = "0.1.0") -> dict:
    release.prepare(version)
    result = release.run(fake.api, version, "--publish")
    assert result.exit_code == 0, result.output
    return release.entry()


def calls(fake: FakeZenodo, method: str, fragment: str) -> list[str]:
    return [path for m, path in fake.requests if m == method and fragment in path]


# -- the happy paths ------------------------------------------------------------------------------


def test_first_deposit_creates_uploads_metadata_and_publishes(fake, release, sleeps):
    bundle = release.prepare("0.1.0")
    result = release.run(fake.api, "0.1.0", "--publish")

    assert result.exit_code == 0, result.output
    [record] = fake.published()
    assert fake.drafts() == []
    assert [f.filename for f in record.files] == ["ketamap-0.1.0.zip"]
    assert record.files[0].data == bundle.read_bytes()
    assert record.metadata == metadata_for("0.1.0")
    assert len(calls(fake, "POST", "/api/deposit/depositions")) == 2  # create + publish
    assert calls(fake, "PUT", f"/api/files/{record.bucket}/ketamap-0.1.0.zip")
    assert f"DOI 10.5072/zenodo.{record.id}" in result.stdout
    assert sleeps == []


def test_state_file_records_concept_record_doi_and_version_deterministically(fake, release):
    entry = published_release(fake, release)
    [record] = fake.published()

    assert entry == {
        "concept_doi": f"10.5072/zenodo.{record.conceptrecid}",
        "concept_record_id": record.conceptrecid,
        "doi": f"10.5072/zenodo.{record.id}",
        "files": ["ketamap-0.1.0.zip"],
        "record_id": record.id,
        "record_url": f"{fake.base}/records/{record.id}",
        "version": "0.1.0",
    }
    text = release.state.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert list(release.state.parent.iterdir()) == [release.state]  # no temp file left behind


def test_second_release_is_a_new_version_without_the_inherited_zip(fake, release, sleeps):
    first = published_release(fake, release, "0.1.0")
    release.prepare("0.2.0")
    result = release.run(fake.api, "0.2.0", "--publish")

    assert result.exit_code == 0, result.output
    assert calls(fake, "POST", f"/deposit/depositions/{first['record_id']}/actions/newversion")
    assert len(calls(fake, "DELETE", "/files/")) == 1  # the inherited ketamap-0.1.0.zip
    old, new = sorted(fake.published(), key=lambda d: d.id)
    assert new.conceptrecid == old.conceptrecid
    assert [f.filename for f in new.files] == ["ketamap-0.2.0.zip"]
    assert [f.filename for f in old.files] == ["ketamap-0.1.0.zip"]
    assert new.metadata["publication_date"] == "2026-11-28"  # a new draft lacks it; we PUT it
    assert new.metadata["version"] == "0.2.0"
    entry = release.entry()
    assert entry["record_id"] == new.id and entry["doi"] == f"10.5072/zenodo.{new.id}"
    assert entry["concept_record_id"] == first["concept_record_id"]
    assert entry["version"] == "0.2.0" and "open_draft" not in entry


def test_without_publish_the_draft_stays_unpublished(fake, release):
    release.prepare("0.1.0")
    result = release.run(fake.api, "0.1.0")

    assert result.exit_code == 0, result.output
    [draft] = fake.drafts()
    assert fake.published() == []
    assert calls(fake, "POST", "/actions/publish") == []
    assert [f.filename for f in draft.files] == ["ketamap-0.1.0.zip"]
    assert release.entry()["open_draft"] == {"id": draft.id, "version": "0.1.0"}
    assert "not published" in result.stdout


def test_publishing_later_resumes_the_reviewed_draft(fake, release):
    release.prepare("0.1.0")
    assert release.run(fake.api, "0.1.0").exit_code == 0
    [draft] = fake.drafts()
    result = release.run(fake.api, "0.1.0", "--publish")

    assert result.exit_code == 0, result.output
    assert [d.id for d in fake.published()] == [draft.id]
    assert len(calls(fake, "PUT", "/api/files/")) == 1  # same md5 already there: not re-sent
    assert "open_draft" not in release.entry()


# -- failures, retries and resuming ------------------------------------------------------------------


def test_production_is_recorded_apart_from_the_sandbox(fake, release):
    sandbox = published_release(fake, release, "0.1.0")
    result = release.run(fake.api, "0.1.0", "--production", "--publish")

    assert result.exit_code == 0, result.output
    assert "published version 0.1.0 on production" in result.stdout
    assert calls(fake, "POST", "/actions/newversion") == []  # a first deposit there, not a new version
    state = json.loads(release.state.read_text())
    assert state["sandbox"] == sandbox
    assert state["production"]["record_id"] != sandbox["record_id"]


def test_failed_upload_exits_1_and_the_next_run_resumes_the_same_draft(fake, release, sleeps):
    published_release(fake, release, "0.1.0")
    release.prepare("0.2.0")
    fake.fail(500, method="PUT", path_contains="/api/files/", times=5)

    failed = release.run(fake.api, "0.2.0", "--publish")
    assert failed.exit_code == 1
    assert "uploading ketamap-0.2.0.zip failed (HTTP 500" in failed.output
    assert "gave up after 5 tries" in failed.output
    [draft] = fake.drafts()
    assert release.entry()["open_draft"]["id"] == draft.id
    assert sleeps == [1, 2, 4, 8]

    resumed = release.run(fake.api, "0.2.0", "--publish")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming the open draft" in resumed.output
    assert len(fake.depositions) == 2  # no second draft was made
    assert len(calls(fake, "POST", "/actions/newversion")) == 1
    assert release.entry()["record_id"] == draft.id
    assert [f.filename for f in fake.depositions[draft.id].files] == ["ketamap-0.2.0.zip"]


def test_open_draft_is_found_by_concept_when_the_state_file_lost_it(fake, release, sleeps):
    first = published_release(fake, release, "0.1.0")
    release.prepare("0.2.0")
    fake.fail(500, method="PUT", path_contains="/api/files/", times=5)
    assert release.run(fake.api, "0.2.0").exit_code == 1
    [draft] = fake.drafts()
    state = json.loads(release.state.read_text())
    del state["sandbox"]["open_draft"]  # e.g. the state file was restored from git
    release.state.write_text(json.dumps(state))

    result = release.run(fake.api, "0.2.0", "--publish")
    assert result.exit_code == 0, result.output
    assert f"found the open draft {draft.id} of concept {first['concept_record_id']}" in result.output
    assert len(fake.depositions) == 2
    assert release.entry()["record_id"] == draft.id


def test_latest_draft_link_that_points_to_the_record_falls_back_to_a_search(fake, release):
    published_release(fake, release, "0.1.0")
    fake.stale_latest_draft = True  # zenodo/zenodo-rdm#858: the link names the published record
    release.prepare("0.2.0")
    result = release.run(fake.api, "0.2.0", "--publish")

    assert result.exit_code == 0, result.output
    assert calls(fake, "GET", "q=conceptrecid")
    assert len(fake.published()) == 2 and fake.drafts() == []


def test_rate_limit_429_waits_as_told_then_succeeds(fake, release, sleeps):
    release.prepare("0.1.0")
    fake.fail(429, method="POST", path_contains="/api/deposit/depositions", retry_after="7")

    result = release.run(fake.api, "0.1.0", "--publish")
    assert result.exit_code == 0, result.output
    assert sleeps == [7]
    assert "HTTP 429 Too many requests; retrying in 7 s (try 2 of 5)" in result.output
    assert len(fake.published()) == 1 and fake.drafts() == []


def test_server_error_500_mid_upload_is_retried_with_backoff(fake, release, sleeps):
    bundle = release.prepare("0.1.0")
    fake.fail(500, method="PUT", path_contains="/api/files/")

    result = release.run(fake.api, "0.1.0", "--publish")
    assert result.exit_code == 0, result.output
    assert sleeps == [1]
    [record] = fake.published()
    assert [f.data for f in record.files] == [bundle.read_bytes()]


def test_zenodo_refusal_names_the_step_status_and_message(fake, release, sleeps):
    release.prepare("0.1.0")
    fake.fail(403, method="POST", path_contains="/api/deposit/depositions")

    result = release.run(fake.api, "0.1.0", "--publish")
    assert result.exit_code == 1
    assert "creating the deposition failed (HTTP 403)" in result.output
    assert "deposit:actions" in result.output  # says which scopes the token needs
    assert sleeps == []  # a 4xx other than 429 is not retried


def test_publish_refusal_shows_zenodos_field_errors(fake, release):
    published_release(fake, release, "0.1.0")
    client = zenodo.ZenodoClient(fake.api, TOKEN, sleep=lambda s: None)
    record = client.new_version(release.entry()["record_id"])
    draft = client.get_link("reading the new draft", record["links"]["latest_draft"])
    assert "publication_date" not in draft["metadata"]

    with pytest.raises(zenodo.ZenodoError) as refused:
        client.publish(draft["id"])
    assert refused.value.status == 400
    assert "metadata.publication_date: Missing data for required field." in str(refused.value)


def test_unknown_metadata_keys_dropped_by_zenodo_are_reported(fake, release):
    release.prepare("0.1.0", ketamap_internal="x")
    result = release.run(fake.api, "0.1.0")

    assert result.exit_code == 0, result.output
    assert "dropped these metadata keys: ketamap_internal" in result.output


# -- dry run, usage errors, and the token ------------------------------------------------------------


def test_dry_run_prints_the_plan_and_touches_no_network(fake, release):
    bundle = release.prepare("0.1.0")
    result = release.run(fake.api, "0.1.0", "--dry-run", token=None)

    assert result.exit_code == 0, result.output
    assert fake.requests == []
    assert not release.state.exists()
    assert "create a new deposition" in result.stdout
    assert f"ketamap-0.1.0.zip  {bundle.stat().st_size} bytes  sha256 " in result.stdout
    assert '"publication_date": "2026-11-28"' in result.stdout


def test_dry_run_of_a_second_release_names_the_concept_and_the_files_to_delete(fake, release):
    first = published_release(fake, release, "0.1.0")
    release.prepare("0.2.0")
    before = len(fake.requests)
    result = release.run("http://127.0.0.1:9/api", "0.2.0", "--dry-run", "--publish")

    assert result.exit_code == 0, result.output
    assert len(fake.requests) == before
    assert (f"new version of concept {first['concept_record_id']} "
            f"(from latest published record {first['record_id']})") in result.stdout
    assert "delete inherited files not in this release: ketamap-0.1.0.zip" in result.stdout


def test_missing_token_exits_2_and_says_how_to_create_one(fake, release):
    release.prepare("0.1.0")
    result = release.run(fake.api, "0.1.0", "--publish", token=None)

    assert result.exit_code == 2
    assert "ZENODO_TOKEN is not set" in result.output
    assert "deposit:write and deposit:actions" in result.output
    assert fake.requests == []


def test_missing_bundle_exits_2(fake, release):
    release.prepare("0.1.0")
    result = release.run(fake.api, "9.9.9")

    assert result.exit_code == 2
    assert "bundle-missing" in result.output and "dvc repro" in result.output
    assert fake.requests == []


def test_depositing_a_published_version_again_is_refused(fake, release):
    published_release(fake, release, "0.1.0")
    before = len(fake.requests)
    result = release.run(fake.api, "0.1.0", "--publish")

    assert result.exit_code == 2
    assert "version 0.1.0 is already published" in result.output
    assert len(fake.requests) == before


def test_token_is_never_sent_over_plain_http_to_another_host(release):
    release.prepare("0.1.0")
    result = release.run("http://zenodo.example.org/api", "0.1.0", "--publish")

    assert result.exit_code == 2
    assert "https" in result.output


def test_token_only_travels_in_the_bearer_header(fake, release):
    published_release(fake, release, "0.1.0")

    assert fake.headers_seen and all(h["authorization"] == f"Bearer {TOKEN}" for h in fake.headers_seen)
    assert not any(TOKEN in path for _, path in fake.requests)


def test_token_never_appears_in_output_state_or_any_written_file(fake, release, sleeps):
    published_release(fake, release, "0.1.0")
    release.prepare("0.2.0")
    fake.fail(429, retry_after="1")
    fake.fail(500, method="PUT", path_contains="/api/files/", times=5)
    release.run(fake.api, "0.2.0", "--publish")  # fails mid-upload
    release.run(fake.api, "0.2.0", "--publish")  # resumes
    release.run(fake.api, "0.2.0", "--publish")  # refused: already published
    with socket.socket() as s:  # a port nobody listens on: connection errors carry URLs
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    release.prepare("0.3.0")
    refused = release.run(f"http://127.0.0.1:{closed}/api", "0.3.0", "--publish")
    wrong = release.run(fake.api, "0.3.0", "--publish", token="tok-wrong")

    assert refused.exit_code == 1 and "could not reach Zenodo" in refused.output
    assert wrong.exit_code == 1 and "HTTP 401" in wrong.output
    assert len(release.outputs) == 6
    for output in release.outputs:
        assert TOKEN not in output
    for path in release.root.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_new_version_of_an_outdated_record_explains_what_to_fix(fake, release):
    published_release(fake, release, "0.1.0")
    release.prepare("0.2.0")
    assert release.run(fake.api, "0.2.0", "--publish").exit_code == 0
    state = json.loads(release.state.read_text())
    state["sandbox"]["record_id"] -= 1  # points at 0.1.0, no longer the latest version
    release.state.write_text(json.dumps(state))
    release.prepare("0.3.0")
    result = release.run(fake.api, "0.3.0", "--publish")

    assert result.exit_code == 1
    assert "HTTP 400" in result.output and "only be made of the latest version" in result.output
    assert "sandbox.record_id" in result.output


@pytest.mark.parametrize("header, expected", [("7", 7.0), ("²", None), ("soon", None), ("", None)])
def test_retry_after_header_is_read_as_seconds_or_ignored(header, expected):
    # '²' is a digit to str.isdigit but not to float(): a server sending it must not crash the deposit
    from pipeline.core.http import retry_after

    assert retry_after(header) == expected


def test_upload_reports_progress_through_the_callback(fake, release):
    from pipeline.publish.deposition import prepare
    from pipeline.publish.zenodo import run_deposit

    bundle = release.prepare("0.1.0")
    prepared = prepare(production=False, publish=True, bundle=bundle, metadata=release.metadata,
                       state=release.state, api=fake.api)
    events = []
    outcome = run_deposit(prepared, TOKEN, log=lambda text: None, progress=lambda *event: events.append(event))
    assert outcome.published
    uploads = [e for e in events if e[0] == f"uploading {bundle.name}"]
    assert uploads[0] == (f"uploading {bundle.name}", bundle.stat().st_size, 0)
    assert sum(moved for _, _, moved in uploads) == bundle.stat().st_size
