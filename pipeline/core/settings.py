"""params.yaml: every setting the pipeline reads, the release version among them."""

from __future__ import annotations

from pathlib import Path

import yaml


def load_params(root: Path = Path(".")) -> dict:
    with open(Path(root) / "params.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def read_params(root: Path = Path(".")) -> dict:
    """load_params for a stage: a missing or broken params.yaml is a problem, not a traceback."""
    from pipeline.core.problems import Problem, ProblemsFound

    try:
        return load_params(root)
    except (OSError, yaml.YAMLError) as error:
        raise ProblemsFound([Problem("unreadable-params", f"cannot read params.yaml: {error}",
                                     file="params.yaml")]) from None


def load_source(root: Path = Path(".")) -> dict:
    """params.yaml's `source` settings, for the commands that run beside `dvc repro`; ProblemsFound if unreadable."""
    from pipeline.core.problems import Problem, ProblemsFound

    try:
        source = load_params(root)["source"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ProblemsFound([Problem("unreadable", str(error), file="params.yaml")]) from None
    if not isinstance(source, dict):
        raise ProblemsFound([Problem("unreadable", "source must be a mapping of settings", file="params.yaml",
                                     value=str(source))])
    return source
