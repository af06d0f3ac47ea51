"""Baselines every run is compared with: beat the simplest model first.

The task decides which (``Task.baselines``; computed on arrays in
``tasks/baselines.py``): for classification the majority class,
stratified-random guessing and a logistic regression on flattened (or
tabular) features; for regression the training mean or median and a linear
regression. This module turns a :class:`Data` into those arrays: fit on the
training split, scored on validation (never on the sealed test split).

Example:
    >>> from deepdojo.data import load_builtin
    >>> from deepdojo.tasks import get_task
    >>> b = compute_baselines(load_builtin("moons", seed=0), get_task("classification"), budget_s=5)
    >>> sorted(b["baselines"]), 0.4 < b["baselines"]["majority"]["accuracy"] < 0.6
    (['linear', 'majority', 'stratified'], True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import DataError

MAX_FEATURES = 3072  # images larger than this are average-pooled for the linear baseline


def split_arrays(data, split: str, max_rows: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``(x, y)`` of ``train`` or ``valid`` as NumPy (test is sealed and refused)."""
    if split not in ("train", "valid"):
        raise DataError(f"baselines use train and valid only, not {split!r}", where="baselines")
    loader = getattr(data, split)
    if loader is None:
        raise DataError(f"the data has no {split} split", where="baselines")
    if isinstance(loader, TensorLoader):
        return loader.x[:max_rows].cpu().numpy(), loader.y[:max_rows].cpu().numpy()
    xs, ys, n = [], [], 0
    for xb, yb in loader:
        xs.append(torch.as_tensor(xb).cpu().numpy())
        ys.append(torch.as_tensor(yb).cpu().numpy())
        n += len(yb)
        if n >= max_rows:
            break
    return np.concatenate(xs), np.concatenate(ys)


def flat_features(x: np.ndarray) -> tuple[np.ndarray, str]:
    """2-D float features and a description: images in [0, 1], pooled to at most MAX_FEATURES values."""
    desc = "tabular features"
    if x.ndim == 4:
        t = torch.from_numpy(x).float() / (255.0 if x.dtype == np.uint8 else 1.0)  # (N, C, H, W)
        c, h, w = t.shape[1:]
        if c * h * w > MAX_FEATURES:
            side = max(1, int((MAX_FEATURES / c) ** 0.5))
            t = torch.nn.functional.adaptive_avg_pool2d(t, (min(side, h), min(side, w)))
        desc = f"flattened pixels ({t.shape[1]}x{t.shape[2]}x{t.shape[3]})"
        x = t.reshape(len(t), -1).numpy()
    return x.reshape(len(x), -1).astype(np.float32), desc


def compute_baselines(data, task=None, budget_s: float = 10.0, seed: int = 0) -> dict[str, Any] | None:
    """The task's baselines for ``data`` (fit on train, scored on valid) as a JSON-ready dict; None when none apply.

    ``task``: a :class:`~deepdojo.tasks.Task` or its name; default the one the data suggests.
    """
    from deepdojo.tasks import get_task

    task = get_task(task if task is not None else data.task)
    x_tr, y_tr = split_arrays(data, "train")
    x_va, y_va = split_arrays(data, "valid")
    f_tr, desc = flat_features(x_tr)
    f_va, _ = flat_features(x_va)
    base = task.baselines(f_tr, y_tr, f_va, y_va, data.num_classes, budget_s, seed)
    if base is None:
        return None
    if "linear" in base:
        base["linear"]["features"] = desc
    spec = data.info.get("preprocess") or {}
    if spec.get("kind") == "text" and "accuracy" in base.get("linear", {}):  # token ids: a bag of n-grams instead
        from deepdojo.evaluate.text_baselines import tfidf_logistic

        base["linear"] = tfidf_logistic(x_tr, y_tr, x_va, y_va, spec["vocab"], spec.get("pad_index", 0), seed)
    return {"task": task.name, "scored_on": "valid", "baselines": base}
