"""package: the published tables, data/README.md and datapackage.json (written last)."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.files import atomic_write_bytes
from pipeline.core.problems import Problem
from pipeline.core.settings import read_params
from pipeline.core.vocab import Vocabulary
from pipeline.datapackage.descriptor import build


def run(root: Path = Path(".")) -> list[Problem]:
    outputs = build(root, read_params(root), Vocabulary(root / "schemas"))
    descriptor_path = root / "datapackage.json"
    for path, data in outputs.items():
        if path != descriptor_path:
            atomic_write_bytes(path, data)
    atomic_write_bytes(descriptor_path, outputs[descriptor_path])
    return []
