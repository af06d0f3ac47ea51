"""Per-batch transforms that run on the device: uint8 -> float, augment, normalize.

A transform is serialisable (:meth:`to_json` / :func:`transform_from_json`) so
``deepdojo predict`` preprocesses new inputs exactly as training did.

Example:
    >>> import torch
    >>> t = ImageBatchTransform(mean=[0.5], std=[0.25])
    >>> x, _ = t(torch.full((2, 1, 4, 4), 255, dtype=torch.uint8), torch.zeros(2), None)
    >>> x[0, 0, 0, 0].item()
    2.0
"""

from __future__ import annotations

from typing import Callable

import torch

# (x in [0, 1], shape (B, C, H, W), generator) -> x of the same shape
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class ImageBatchTransform:
    """uint8 images ``(B, C, H, W)`` -> float, optional augmentation, channel normalization."""

    def __init__(self, mean, std, augment: Augment | None = None):
        self.mean = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)  # (C, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.augment = augment

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor, gen: torch.Generator | None):
        if self.mean.device != xb.device:
            self.mean, self.std = self.mean.to(xb.device), self.std.to(xb.device)
        x = xb.float().div_(255.0)
        if gen is not None and self.augment is not None:
            x = self.augment(x, gen)
        return x.sub_(self.mean).div_(self.std), yb

    def to_json(self) -> dict:
        return {"kind": "image", "mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist()}


class FeatureTransform:
    """Standardize feature columns with training-set statistics: ``(x - mean) / std``."""

    def __init__(self, mean, std):
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.std = torch.as_tensor(std, dtype=torch.float32)

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor, gen: torch.Generator | None):
        if self.mean.device != xb.device:
            self.mean, self.std = self.mean.to(xb.device), self.std.to(xb.device)
        return (xb.float() - self.mean) / self.std, yb

    def to_json(self) -> dict:
        return {"kind": "features", "mean": self.mean.tolist(), "std": self.std.tolist()}


def image_stats(x_uint8: torch.Tensor, chunk: int = 1024, index: torch.Tensor | None = None) -> tuple[list[float], list[float]]:
    """Per-channel mean and std in [0, 1] units of uint8 images ``(N, C, H, W)`` (the rows ``index`` if given).

    Sums run over chunks in float64, so memory stays at one chunk of floats
    rather than a float copy of the whole training set.
    """
    n, c = (len(x_uint8) if index is None else len(index)), x_uint8.shape[1]
    count = n * x_uint8[0, 0].numel()
    total = torch.zeros(c, dtype=torch.float64)
    total_sq = torch.zeros(c, dtype=torch.float64)
    for i in range(0, n, chunk):
        rows = slice(i, i + chunk) if index is None else index[i : i + chunk]
        xc = x_uint8[rows].to(torch.float64)  # (B, C, H, W)
        total += xc.sum(dim=(0, 2, 3)).cpu()
        total_sq += xc.square().sum(dim=(0, 2, 3)).cpu()
    mean = total / count
    var = (total_sq - count * mean.square()) / max(count - 1, 1)  # unbiased, like Tensor.std
    std = (var.clamp_min(0).sqrt() / 255.0).clamp_min(1e-3)  # a constant channel must not divide by 0
    return (mean / 255.0).tolist(), std.tolist()


def feature_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-column mean and std of features ``(N, F)``.

    A column that is constant in training (std ~0, or one row) gets std 1, as in
    scikit-learn's StandardScaler: clamping it to a tiny std instead would blow
    any other value seen later (validation, predict) up a million-fold.
    """
    x = x.float()
    std = x.std(0) if len(x) > 1 else torch.zeros(x.shape[1:])
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    return x.mean(0).tolist(), std.tolist()


def transform_from_json(record: dict | None):
    """Rebuild a transform saved by ``to_json`` (no augmentation: inference only)."""
    if not record:
        return None
    if record["kind"] == "image":
        return ImageBatchTransform(record["mean"], record["std"])
    if record["kind"] == "features":
        return FeatureTransform(record["mean"], record["std"])
    if record["kind"] == "signal":  # per channel of (B, C, T)
        from deepdojo.data.signals import SignalTransform

        return SignalTransform(record["mean"], record["std"])
    raise ValueError(f"unknown transform kind {record['kind']!r}")
