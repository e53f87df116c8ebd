"""ketamap: the molecular changes ketamine induces, as an open, validated data package."""

# The tool's version: pyproject.toml reads it from here (dynamic), `ketamap --version` prints it.
# The data's version is another thing, release.version in params.yaml, the one place a release is
# numbered (datapackage.json, the bundle, .zenodo.json, CITATION.cff). They need not match.
__version__ = "0.1.0"
