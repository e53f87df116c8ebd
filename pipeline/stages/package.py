"""package: the published tables, data/README.md and datapackage.json (written last).

When `release.version` is already released (release/releases.json) and the descriptor built
under it differs from the release's, the build is the unreleased state after that release:
it is built again as `<version>+unreleased`, so a released version's number never names other data.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.files import atomic_write_bytes, sha256_bytes
from pipeline.core.problems import Problem
from pipeline.core.releases import find_release, unreleased_version
from pipeline.core.settings import read_params
from pipeline.core.vocab import Vocabulary
from pipeline.datapackage.descriptor import build


def run(root: Path = Path(".")) -> list[Problem]:
    params, vocab = read_params(root), Vocabulary(root / "schemas")
    descriptor_path = root / "datapackage.json"
    outputs = build(root, params, vocab)
    version = str(params["release"]["version"])
    released = find_release(root, version)
    if released is not None and sha256_bytes(outputs[descriptor_path]) != released.descriptor_sha256:
        params = {**params, "release": {**params["release"], "version": unreleased_version(version)}}
        outputs = build(root, params, vocab)
    for path, data in outputs.items():
        if path != descriptor_path:
            atomic_write_bytes(path, data)
    atomic_write_bytes(descriptor_path, outputs[descriptor_path])
    return []
