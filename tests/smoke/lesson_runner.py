"""Shared by the lesson smoke tests: the environment a lesson runs in, and its claims.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

from deepdojo.lessons import list_lessons

ROOT = Path(__file__).resolve().parents[2]
LESSONS = list_lessons()
IDS = [lsn.slug for lsn in LESSONS]


def lesson_env(out: Path) -> dict[str, str]:
    """Source tree first on the path, one thread (tiny tensors; 2 workers share 2 cores), smoke mode."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "DEEPDOJO_SMOKE": "1", "DEEPDOJO_LESSON_OUT": str(out), "MPLBACKEND": "Agg"}


def read_claims(out: Path) -> dict:
    record = json.loads((out / "claims.json").read_text())
    assert record["smoke"] is True
    assert record["claims"], "a lesson asserts at least one claim"
    assert all(c["ok"] for c in record["claims"]), record["claims"]
    return record
