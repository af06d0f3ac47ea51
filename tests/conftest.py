"""Test-wide settings: a private decode cache, no GUI backend, few threads."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # also for the CLI subprocesses tests start


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test decodes into its own session cache, never the user's ~/.cache."""
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path_factory.getbasetemp() / "deepdojo-cache"))


def pytest_configure(config):
    """One torch thread per test process: with pytest-xdist's workers on a 2-core machine,
    more threads than cores make OpenMP spin and slow training down by an order of magnitude."""
    import torch

    torch.set_num_threads(1)
