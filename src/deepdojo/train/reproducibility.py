"""Seeds, determinism and device choice.

Example:
    >>> import torch
    >>> seed_everything(0); a = torch.rand(2)
    >>> seed_everything(0); torch.equal(a, torch.rand(2))
    True
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from deepdojo.errors import ConfigError


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_deterministic(on: bool = True) -> None:
    """Deterministic algorithms only; errors on ops that have no deterministic version."""
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by cuBLAS for determinism
    torch.use_deterministic_algorithms(on, warn_only=False)
    torch.backends.cudnn.benchmark = not on
    torch.backends.cudnn.deterministic = on


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU. Asking for absent CUDA is an error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("CUDA was asked for but no GPU is available", where="device", fix="use --device cpu or auto")
    if device not in ("cpu",) and not device.startswith("cuda") and device != "mps":
        raise ConfigError(f"unknown device {device!r}", where="device", fix="use auto, cpu or cuda")
    return torch.device(device)


def rng_state() -> dict[str, object]:
    """Every global RNG's state (Python, NumPy, torch CPU and CUDA), for exact restore."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, object]) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])
