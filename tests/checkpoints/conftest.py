"""Shared pieces of the checkpoint tests: the fork server, a small training config, result readers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
LONG = os.environ.get("DEEPDOJO_LONG_TESTS") == "1"
long_only = pytest.mark.skipif(not LONG, reason="long variant: set DEEPDOJO_LONG_TESTS=1")


def count(fast: int, long: int) -> int:
    """The fast count by default, the issue's full count with DEEPDOJO_LONG_TESTS=1."""
    return long if LONG else fast


@pytest.fixture(scope="module")
def forker():
    from ckpt_forker import Forker

    f = Forker(REPO / "src")
    yield f
    f.close()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))


def write_config(path: Path, **extra) -> Path:
    """A real run: digits (light augmentation), an MLP with dropout and BatchNorm, one-cycle schedule."""
    cfg = {"data": "builtin:digits", "arch": "mlp", "epochs": 3, "lr": 0.01, "batch_size": 64, "seed": 0,
           "device": "cpu", "model_kwargs": {"width": 32, "depth": 2, "dropout": 0.2, "batch_norm": True}, **extra}
    path.write_text(json.dumps(cfg))
    return path


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "checkpoints" / "last.safetensors")


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def metrics_without_time(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def stray_files(folder: Path) -> list[Path]:
    """Temp files, and state tensors with no sidecar, anywhere in a run folder."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")
            or (p.name.startswith("state-") and p.suffix == ".safetensors" and not p.with_suffix(".json").exists())]
