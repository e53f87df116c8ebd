"""Releases leave and arrive here: the bundle, verification, download and the Zenodo deposit."""
