"""params.yaml is checked in one place, before any stage writes: a bad setting changes nothing."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
import yaml

from conftest import run_dvc
from pipeline.core.problems import ProblemsFound
from pipeline.core.settings import check_params, read_params


def params_with(root, change: dict) -> dict:
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    for key, value in change.items():
        section, name = key.split(".")
        params[section][name] = value
    return params


def codes(params: dict) -> list[str]:
    return [p.code for p in check_params(params)]


@pytest.fixture
def params(tmp_path):
    from conftest import ROOT

    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_the_committed_settings_pass(params):
    assert check_params(params) == []


@pytest.mark.parametrize("key, value, code", [
    ("release.version", 1.0, "bad-version"),
    ("release.version", "1.0", "bad-version"),
    ("release.date", "2026-02-31", "bad-date"),
    ("release.name", "ketamap..x", "bad-name"),
    ("release.name", "../ketamap", "bad-name"),
    ("paths.interim", "../x", "bad-path"),
    ("paths.published", "/tmp/data", "bad-path"),
    ("source.export", "data/raw/../../etc/passwd", "bad-path"),
    ("contrib.dir", "C:\\contrib", "bad-path"),
    ("report.dpi", 10_000, "bad-param"),
])
def test_each_bad_setting_is_one_problem_naming_its_key(params, key, value, code):
    section, name = key.split(".")
    params[section][name] = value
    problems = check_params(params)
    assert [p.code for p in problems] == [code]
    assert problems[0].file == "params.yaml" and problems[0].column == key


def test_every_problem_is_reported_at_once(params):
    params["release"]["version"] = "x"
    params["release"]["date"] = "tomorrow"
    params["paths"]["interim"] = "../x"
    assert sorted(codes(params)) == ["bad-date", "bad-path", "bad-version"]


def test_params_that_are_not_yaml_or_nest_too_deeply_are_a_problem_not_a_traceback(tmp_path):
    (tmp_path / "params.yaml").write_text("release: [\n", encoding="utf-8")
    with pytest.raises(ProblemsFound) as found:
        read_params(tmp_path)
    assert [p.code for p in found.value.problems] == ["unreadable-params"]
    (tmp_path / "params.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ProblemsFound):
        read_params(tmp_path)


def tree_digest(root) -> dict[str, str]:
    """sha256 of every file git tracks, plus anything new that git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root, check=True,
                            capture_output=True).stdout.decode().split("\0")
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest()
            for name in filter(None, listed) if (root / name).is_file()}


@pytest.mark.parametrize("change", [
    {"release.version": 1.0},
    {"release.date": "2026-02-31"},
    {"release.name": "ketamap..x"},
    {"paths.interim": "../outside"},
], ids=["version 1.0", "date 2026-02-31", "name with ..", "interim outside"])
def test_a_bad_setting_stops_dvc_repro_before_any_output_changes(project_copy, change):
    before = tree_digest(project_copy)
    bundles = sorted(p.name for p in (project_copy / "dist").iterdir())
    edited = params_with(project_copy, change)
    (project_copy / "params.yaml").write_text(yaml.safe_dump(edited, sort_keys=False, allow_unicode=True),
                                              encoding="utf-8")
    done = run_dvc(project_copy, "repro")
    assert done.returncode != 0
    assert "params.yaml" in done.stderr and "Traceback" not in done.stderr
    after = tree_digest(project_copy)
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    assert changed == {"params.yaml"}
    assert sorted(p.name for p in (project_copy / "dist").iterdir()) == bundles
    assert not (project_copy.parent / "outside").exists()


def test_an_edited_raw_source_is_refused_with_its_fix(project_copy):
    export = next((project_copy / "data" / "raw").glob("*.txt"))
    text = export.read_text(encoding="utf-8")
    flipped = text.replace("↑", "↓", 1)
    assert flipped != text
    export.write_text(flipped, encoding="utf-8")
    before = tree_digest(project_copy)
    done = run_dvc(project_copy, "repro")
    assert done.returncode != 0
    assert "checksum-mismatch" in done.stderr and "git checkout -- data/raw/" in done.stderr
    assert tree_digest(project_copy) == before
