"""The published package: the descriptor, whole-package validation, versions, diff and changelog."""
