"""dvc.yaml's deps cover every module a stage runs, so editing any of them makes `dvc status` report it.

(a) from the import graph (grimp): each stage runs `python -m pipeline.cli.stage NAME`, which imports
`pipeline.stages.NAME`; every module either imports, at any depth, must sit under one of the
stage's deps. (b, slow) in a temporary copy, edit each of those modules once and ask DVC.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest
import yaml

from conftest import ROOT, copy_project

DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
STAGES = sorted(DVC_YAML["stages"])
GRAPH = grimp.build_graph("pipeline")


def _module_file(module: str) -> Path:
    path = ROOT.joinpath(*module.split("."))
    return (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")


def modules_run_by(stage: str) -> set[str]:
    """Every pipeline module `python -m pipeline.cli.stage STAGE` may import, with their packages."""
    entry = {"pipeline.cli.stage", f"pipeline.stages.{stage}"}
    modules = set(entry)
    for module in entry:
        modules |= set(GRAPH.find_upstream_modules(module))
    packages = {".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 1)}
    return modules | packages


def files_run_by(stage: str) -> list[str]:
    return sorted(_module_file(m).relative_to(ROOT).as_posix() for m in modules_run_by(stage))


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == dep or path.startswith(dep.rstrip("/") + "/") for dep in deps)


def _deps(stage: str) -> list[str]:
    return [d for d in DVC_YAML["stages"][stage].get("deps", []) if isinstance(d, str)]


def test_the_stages_are_the_ones_the_runner_knows():
    from pipeline.stages import STAGES as RUNNER_STAGES

    assert STAGES == sorted(RUNNER_STAGES)
    for stage in STAGES:
        assert DVC_YAML["stages"][stage]["cmd"] == f"python -m pipeline.cli.stage {stage}"


@pytest.mark.parametrize("stage", STAGES)
def test_every_module_a_stage_imports_is_one_of_its_deps(stage: str):
    files = files_run_by(stage)
    assert f"pipeline/stages/{stage}.py" in files and "pipeline/core/problems.py" in files
    uncovered = [path for path in files if not _covered(path, _deps(stage))]
    assert uncovered == [], f"dvc.yaml stage {stage!r} runs these files but does not depend on them"


def test_every_dep_under_pipeline_exists():
    for stage in STAGES:
        for dep in _deps(stage):
            if dep.startswith("pipeline"):
                assert (ROOT / dep).exists(), (stage, dep)


@pytest.mark.slow
def test_editing_any_module_makes_dvc_status_report_its_stages(tmp_path: Path):
    from dvc.repo import Repo

    project = copy_project(tmp_path / "ketamap")
    with Repo(str(project)) as repo:  # the baseline: dvc.lock records the copy's files as they are
        repo.commit(force=True)
        assert repo.status() == {}
    wanted: dict[str, set[str]] = {}
    for stage in STAGES:
        for path in files_run_by(stage):
            wanted.setdefault(path, set()).add(stage)
    missed = {}
    for path, stages in sorted(wanted.items()):
        file = project / path
        original = file.read_bytes()
        file.write_bytes(original + b"\n# edited by tests/test_dvc_deps.py\n")
        try:
            with Repo(str(project)) as repo:
                changed = {key.rsplit(":", 1)[-1] for key in repo.status()}
        finally:
            file.write_bytes(original)
        if not stages <= changed:
            missed[path] = sorted(stages - changed)
    assert missed == {}, "editing these files left these stages reported up to date"
    with Repo(str(project)) as repo:
        assert repo.status() == {}
