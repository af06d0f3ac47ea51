"""Lesson 1 runs end to end (its asserts are the lesson's claims)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lesson_01_backprop_scratch_smoke():
    # one thread each for torch and BLAS: the lesson's tensors are tiny
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(ROOT / "lessons" / "01_backprop_scratch.py"), "--smoke"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "A hyperplane cannot solve XOR" in out
    assert "Linear-Tanh-Linear after 150 steps: accuracy 100%" in out
    assert "Lesson 1 complete" in out
