"""Segmentation (IoU, Dice) and distribution (CRPS) metrics (multi-label ones: multilabel.py).

Streaming like every metric: device tensors in ``update``, one host read in
``compute``.

Example:
    >>> import torch
    >>> m = IoU()
    >>> logits = torch.tensor([[[[5., 5.], [-5., -5.]]], ])  # (B=1, 1, H=2, W=2): binary, top row on
    >>> m.update(logits, torch.tensor([[[1, 0], [0, 0]]]))
    >>> m.compute()
    0.5
"""

from __future__ import annotations

import math

import torch

from deepdojo.metrics.classification import confusion_counts
from deepdojo.metrics.streaming import Metric


class _PixelConfusion(Metric):
    """Pixel confusion matrix for masks.

    ``pred`` is ``(B, K, H, W)`` logits (K >= 2: arg-max class per pixel) or
    ``(B, 1, H, W)`` logits (binary: foreground where the logit > 0);
    ``target`` is ``(B, H, W)`` class indices (0 = background when binary).
    """

    per_class = False

    def reset(self) -> None:
        self.counts = None
        self.binary = False

    def update(self, pred, target):
        if pred.shape[1] == 1:
            self.binary, k, idx = True, 2, (pred[:, 0] > 0).long()  # (B, H, W)
        else:
            k, idx = pred.shape[1], pred.argmax(1)  # (B, H, W)
        c = confusion_counts(idx, target, k)
        self.counts = c if self.counts is None else self.counts + c

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-class score and whether the class occurs in target or prediction."""
        cm = self.counts.double().cpu()
        tp, predicted, actual = cm.diagonal(), cm.sum(0), cm.sum(1)
        seen = (predicted + actual) > 0
        return self._score(tp, predicted, actual), seen

    def compute(self):
        if self.counts is None:
            return float("nan")
        scores, seen = self._scores()
        if self.per_class:  # NaN for a class that is in neither masks nor predictions
            return torch.where(seen, scores, torch.full_like(scores, float("nan"))).tolist()
        if self.binary:  # the foreground; both masks empty everywhere counts as a perfect 1.0
            return float(scores[1]) if seen[1] else 1.0
        return float(scores[seen].mean())


class IoU(_PixelConfusion):
    """Intersection over union (Jaccard): mean over classes present (binary: the foreground)."""

    name = "iou"

    @staticmethod
    def _score(tp, predicted, actual):
        return tp / (predicted + actual - tp).clamp_min(1e-300)


class Dice(_PixelConfusion):
    """Dice coefficient ``2|A∩B| / (|A| + |B|)`` (= pixel F1): mean over classes present."""

    name = "dice"

    @staticmethod
    def _score(tp, predicted, actual):
        return 2 * tp / (predicted + actual).clamp_min(1e-300)


class IoUPerClass(IoU):
    name, per_class = "iou_per_class", True


class DicePerClass(Dice):
    name, per_class = "dice_per_class", True


def crps_gaussian(mu: torch.Tensor, sigma: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Closed-form CRPS of ``N(mu, sigma^2)`` at ``y`` (Gneiting & Raftery 2007), elementwise."""
    z = (y - mu) / sigma
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    return sigma * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))


def crps_ensemble(samples: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """CRPS of an ensemble ``(B, M)`` at ``y`` ``(B,)``: ``E|X - y| - E|X - X'|/2``.

    ``E|X - X'|`` from the sorted members in O(M log M):
    ``(2 / M^2) * sum_i (2i - M - 1) x_(i)`` for i = 1..M.
    """
    m = samples.shape[-1]
    first = (samples - y[:, None]).abs().mean(-1)
    xs = samples.sort(-1).values
    i = torch.arange(1, m + 1, device=samples.device, dtype=samples.dtype)
    spread = (2.0 / (m * m)) * ((2 * i - m - 1) * xs).sum(-1)
    return first - 0.5 * spread


class CRPS(Metric):
    """Mean continuous ranked probability score of distribution outputs (lower is better).

    ``kind="gaussian"``: ``pred`` is ``(B, 2)`` = (mean, log standard deviation).
    ``kind="ensemble"``: ``pred`` is ``(B, M)`` samples of the predictive distribution.
    """

    higher_is_better = False

    def __init__(self, kind: str = "gaussian"):
        if kind not in ("gaussian", "ensemble"):
            raise ValueError(f"kind must be 'gaussian' or 'ensemble', got {kind!r}")
        self.kind, self.name = kind, f"crps_{kind}"
        super().__init__()

    def reset(self) -> None:
        self.total, self.count = None, 0

    def update(self, pred, target):
        y = target.reshape(-1).double()
        p = pred.double()
        scores = crps_gaussian(p[:, 0], p[:, 1].exp(), y) if self.kind == "gaussian" else crps_ensemble(p, y)
        s = scores.sum()
        self.total = s if self.total is None else self.total + s
        self.count += len(y)

    def compute(self) -> float:
        return float(self.total) / self.count if self.count else float("nan")
