"""report: the evidence map of the published tables → reports/evidence-map.{html,svg,png}."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.problems import Problem
from pipeline.report.evidence_map import draw


def run(root: Path = Path(".")) -> list[Problem]:
    draw(root)
    return []
