"""ketamap: the molecular changes ketamine induces, as an open, validated data package."""

__version__ = "0.1.0"
