from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RAW_EXPORT = ROOT / "data" / "raw" / "literature-db-pmid35546951.txt"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """The tests' `ketamap` runs keep their package-index cache in a temporary folder, not in ~/.cache."""
    os.environ["KETAMAP_CACHE"] = str(tmp_path_factory.mktemp("ketamap-cache"))


def tool_env() -> dict[str, str]:
    """The environment a user has after activating the project's venv: `python`, `dvc`, `ketamap`."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def copy_project(destination: Path) -> Path:
    """A git repository holding the working tree's tracked and new files, as a fresh clone would."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=destination, check=True)
    subprocess.run(["git", "add", "-A"], cwd=destination, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=destination, check=True)
    return destination


def uncurated_review_findings(project: Path) -> list[dict[str, str]]:
    """The review's findings that no accepted curation touched: curation targets whatever has been accepted."""
    from pipeline.core.files import read_csv

    return [f for f in read_csv(project / "data" / "findings.csv") if f["source_id"] == "kang-2022"
            and "curated" not in (f["location_status"], f["citation_status"])]


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "ketamap")


def run_dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, env=tool_env(),
                          capture_output=True, text=True)


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 (tests/local_http.py); `serve(server, path, body)` adds a route."""
    from local_http import running_server

    yield from running_server()


def released_finding_ids(project: Path) -> set[str]:
    """The finding ids of the latest recorded release (release/releases.json), read from its kept bundle."""
    import csv
    import io
    import json
    import zipfile

    entry = json.loads((project / "release" / "releases.json").read_text(encoding="utf-8"))["releases"][-1]
    with zipfile.ZipFile(project / entry["bundle"]) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith("/data/findings.csv"))
        return {row["finding_id"] for row in csv.DictReader(io.StringIO(bundle.read(name).decode("utf-8")))}
