"""Run-folder files get the process umask's mode, like any tool's files (they were 0600) — issue 12."""

from __future__ import annotations

import os
import stat

import pytest

from deepdojo import vision


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX modes")
@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_run_folder_files_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        learn = vision.classifier("builtin:xor", arch="mlp", out=str(tmp_path), name="r", progress=False, seed=0)
        learn.fit(1, 0.01)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "r").rglob("*") if p.is_file()]
    assert any(p.name == "metrics.jsonl" for p in files) and any(p.suffix == ".safetensors" for p in files)
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p
