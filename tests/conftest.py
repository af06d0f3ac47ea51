"""Test-wide settings: a private decode cache, no GUI backend, few threads."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test decodes into its own session cache, never the user's ~/.cache."""
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path_factory.getbasetemp() / "deepdojo-cache"))
