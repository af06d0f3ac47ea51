"""Test-wide settings: a private decode cache, no GUI backend, few threads."""

import os
import shutil
import subprocess

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # also for the CLI subprocesses tests start


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test decodes into its own session cache, never the user's ~/.cache."""
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path_factory.getbasetemp() / "deepdojo-cache"))


def pytest_configure(config):
    """One torch thread per test process, for the whole suite (no per-folder fixtures needed): with
    pytest-xdist's workers on a 2-core machine, more threads than cores make OpenMP spin and slow
    tiny models down by an order of magnitude."""
    import torch

    torch.set_num_threads(1)


def apt_install(package: str) -> str | None:
    """``apt-get install PACKAGE`` for tests that need a real system component (a browser, a
    database server). Returns None when it worked, else why not (the test then skips with it)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{package} is not installed and this user cannot apt-get install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", package]):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(cmd)} failed: {exc}"
        if done.returncode != 0:
            return f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}"
    return None


@pytest.fixture(scope="session")
def system_package():
    """The :func:`apt_install` helper as a fixture (test modules cannot import conftest)."""
    return apt_install
