"""params.yaml: every setting the pipeline reads, the release version among them."""

from __future__ import annotations

from pathlib import Path

import yaml


def load_params(root: Path = Path(".")) -> dict:
    with open(Path(root) / "params.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)
