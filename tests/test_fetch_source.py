"""`ketamap fetch-source`: real HTTP on 127.0.0.1; offline it fails clearly and changes nothing."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, tool_env
from local_http import serve

JATS = FIXTURES / "jats"
TARGET = "data/raw/PMC9082546.xml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What fetch-source reads: params.yaml and the export (for the PMCID)."""
    (tmp_path / "data" / "raw").mkdir(parents=True)
    shutil.copy2(ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copy2(ROOT / "data" / "raw" / "literature-db-pmid35546951.txt", tmp_path / "data" / "raw")
    return tmp_path


def fetch(project: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "fetch-source", *args], cwd=project, env=tool_env(),
                          capture_output=True, text=True, timeout=timeout)


def snapshot(project: Path) -> dict[str, bytes]:
    return {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fetch_writes_the_article_and_its_sha256_record(project: Path, server):  # noqa: F811
    body = (JATS / "table1-like.xml").read_bytes()
    serve(server, "/rest/PMC9082546/fullTextXML", body)
    result = fetch(project, "--europepmc-url", server.base + "/rest")
    assert result.returncode == 0, result.stderr
    assert (project / TARGET).read_bytes() == body
    digest = hashlib.sha256(body).hexdigest()
    assert (project / (TARGET + ".sha256")).read_text() == f"{digest}  PMC9082546.xml\n"
    again = fetch(project, "--europepmc-url", server.base + "/rest")
    assert again.returncode == 0 and "already up to date" in again.stdout


def test_falls_back_to_pmc_oai_when_europe_pmc_fails(project: Path, server):  # noqa: F811
    serve(server, "/rest/PMC9082546/fullTextXML", b"busy", status=503)
    body = (JATS / "awkward.xml").read_bytes()  # PMC OAI's envelope around a namespaced <article>
    serve(server, "/oai", body)
    result = fetch(project, "--europepmc-url", server.base + "/rest", "--pmc-url", server.base + "/oai")
    assert result.returncode == 0, result.stderr
    assert (project / TARGET).read_bytes() == body
    assert "/oai?verb=GetRecord&identifier=oai:pubmedcentral.nih.gov:9082546&metadataPrefix=pmc" in server.hits


def test_error_answers_are_not_saved(project: Path, server):  # noqa: F811
    before = snapshot(project)
    serve(server, "/rest/PMC9082546/fullTextXML", b"<html><body>Maintenance<br></body></html>")
    serve(server, "/oai", b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><error code="idDoesNotExist">'
                          b'unknown identifier</error></OAI-PMH>')
    result = fetch(project, "--europepmc-url", server.base + "/rest", "--pmc-url", server.base + "/oai")
    assert result.returncode == 2
    assert "not well-formed" in result.stderr and "unknown identifier" in result.stderr
    assert snapshot(project) == before


def test_a_different_file_is_replaced_only_with_force(project: Path, server):  # noqa: F811
    (project / TARGET).write_bytes(b"<article/>")
    serve(server, "/rest/PMC9082546/fullTextXML", (JATS / "table1-like.xml").read_bytes())
    refused = fetch(project, "--europepmc-url", server.base + "/rest")
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (project / TARGET).read_bytes() == b"<article/>"
    assert fetch(project, "--europepmc-url", server.base + "/rest", "--force").returncode == 0


def test_offline_unreachable_port_fails_clearly_and_changes_nothing(project: Path):
    before = snapshot(project)
    dead = f"http://127.0.0.1:{closed_port()}"
    result = fetch(project, "--europepmc-url", dead + "/rest", "--pmc-url", dead + "/oai", "--timeout", "2")
    assert result.returncode == 2
    assert "could not be reached" in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert snapshot(project) == before


def test_the_real_servers_offline_fail_within_the_timeout(project: Path):
    before = snapshot(project)
    started = time.monotonic()
    result = fetch(project, "--timeout", "3")
    if result.returncode == 0:
        pytest.skip("this machine is online: the real servers answered")
    assert result.returncode == 2 and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20
    assert snapshot(project) == before


@pytest.mark.parametrize("params", ["source: [\n", "- a list\n", "source: PMC1\n"])
def test_an_unreadable_params_yaml_is_exit_2_without_a_traceback(project: Path, params: str):
    (project / "params.yaml").write_text(params, encoding="utf-8")
    result = fetch(project, "--timeout", "1")
    assert result.returncode == 2
    assert "params.yaml: error [unreadable-params]" in result.stderr and "Traceback" not in result.stderr
