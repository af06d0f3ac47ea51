"""Image grids from a trained GAN run (``deepdojo generate RUN --n 64 --seed 0 [--class NAME]``).

The same run, checkpoint, ``n``, class and seed give the same PNG, byte for byte:
z is drawn from a ``torch.Generator`` seeded with ``seed`` and the generator runs
in eval mode (BatchNorm's running statistics).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch

from deepdojo.errors import ConfigError
from deepdojo.io import atomic_write_bytes


def sample_images(model, meta: dict, n: int = 64, seed: int = 0, class_name: str | None = None) -> np.ndarray:
    """``n`` generated images as uint8 (n, H, W, C), undoing the run's input normalization."""
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}", where="--n", fix="e.g. --n 64")
    y = None
    if class_name is not None:
        classes = [str(c) for c in meta.get("classes") or []]
        if not getattr(model, "num_classes", 0):
            raise ConfigError("--class needs a conditional GAN", where="--class",
                              fix="train with the conditional option, or drop --class")
        if class_name not in classes:
            raise ConfigError(f"unknown class {class_name!r}", where="--class", fix=f"use one of {', '.join(classes)}")
        y = torch.full((n,), classes.index(class_name), dtype=torch.long)
    x = model.sample(n, y=y, generator=torch.Generator().manual_seed(seed)).float()  # (n, C, H, W), normalized
    t = meta.get("transform") or {}
    if "mean" in t and "std" in t:
        x = x * torch.tensor(t["std"]).view(1, -1, 1, 1) + torch.tensor(t["mean"]).view(1, -1, 1, 1)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def grid_png(images: np.ndarray, min_tile: int = 32) -> bytes:
    """(n, H, W, C) uint8 -> a PNG of a near-square grid, tiles enlarged (nearest) to at least ``min_tile`` px."""
    from PIL import Image

    n, h, w, c = images.shape
    k = max(1, math.ceil(min_tile / max(h, w)))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.zeros((rows * (h + 1) + 1, cols * (w + 1) + 1, c), np.uint8)  # 1-px black separators
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        canvas[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + q * (w + 1): 1 + q * (w + 1) + w] = img
    pic = Image.fromarray(canvas[..., 0] if c == 1 else canvas)
    pic = pic.resize((pic.width * k, pic.height * k), Image.NEAREST)
    buf = io.BytesIO()
    pic.save(buf, format="PNG")
    return buf.getvalue()


def write_grid(model, meta: dict, out: str | Path, n: int = 64, seed: int = 0, class_name: str | None = None) -> Path:
    """Write the grid PNG atomically; returns its path."""
    out = Path(out)
    atomic_write_bytes(out, grid_png(sample_images(model, meta, n, seed, class_name)))
    return out
