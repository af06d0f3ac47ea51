"""Localization metrics: one object or none per image, a class and a box for it.

Predictions are decoded rows ``(B, 6 + K)``: ``p_object, x0, y0, x1, y1,
class, p_class_1 .. p_class_K`` (boxes in pixels, corners); targets are
``(B, 5)`` (or ``(B, 1, 5)``) rows ``class, x0, y0, x1, y1`` with class
``-1`` for "no object" (its box entries are don't-cares). Four figures:

- ``presence_accuracy``: "is there an object?" (``p_object > 0.5``) right, over all images;
- ``class_accuracy``: the arg-max class right, over images with an object;
- ``mean_iou``: IoU of the predicted box with the true one, over images with an object;
- ``loc_accuracy``: the whole answer right, over all images: an empty image
  predicted empty, or an object predicted present, of the right class, with
  IoU >= 0.5 (PASCAL's criterion).

Example:
    >>> import torch
    >>> pred = torch.tensor([[0.9, 0., 0., 10., 10., 1., 0.2, 0.8],    # present, class 1, box 0..10
    ...                      [0.2, 5., 5., 9., 9., 0., 0.6, 0.4]])     # says: nothing here
    >>> target = torch.tensor([[1., 0., 0., 10., 5.],                 # class 1, half the box: IoU 0.5
    ...                        [-1., -1., -1., -1., -1.]])            # nothing
    >>> localization_scores(pred, target)
    {'presence_accuracy': 1.0, 'class_accuracy': 1.0, 'mean_iou': 0.5, 'loc_accuracy': 1.0}
"""

from __future__ import annotations

from typing import Callable

import torch

from deepdojo.metrics.streaming import Metric

KEYS = ("presence_accuracy", "class_accuracy", "mean_iou", "loc_accuracy")


def pair_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(N,)`` IoU of box ``a[i]`` with box ``b[i]`` (corners ``x0, y0, x1, y1``; empty boxes give 0).

    >>> pair_iou(torch.tensor([[0., 0., 2., 2.]]), torch.tensor([[1., 0., 3., 2.]]))
    tensor([0.3333])
    """
    wh = (torch.minimum(a[:, 2:], b[:, 2:]) - torch.maximum(a[:, :2], b[:, :2])).clamp_min(0)
    inter = wh[:, 0] * wh[:, 1]
    area = lambda z: (z[:, 2] - z[:, 0]).clamp_min(0) * (z[:, 3] - z[:, 1]).clamp_min(0)  # noqa: E731
    return inter / (area(a) + area(b) - inter).clamp_min(1e-12)


def localization_counts(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(6,)`` additive counts: images, presence hits, images with an object, class hits, IoU sum, full hits."""
    target = target.reshape(len(target), 5).float()
    has = target[:, 0] >= 0  # (B,)
    said = pred[:, 0] > 0.5
    iou = pair_iou(pred[:, 1:5].float(), target[:, 1:5]) * has  # (B,) 0 where there is no object
    right_class = has & (pred[:, 5].long() == target[:, 0].long())
    hit = torch.where(has, said & right_class & (iou >= 0.5), ~said)
    return torch.stack([torch.tensor(float(len(target)), device=pred.device), (said == has).sum().float(),
                        has.sum().float(), right_class.sum().float(), iou.sum(), hit.sum().float()])


def scores_from_counts(c: torch.Tensor) -> dict[str, float]:
    """The four figures from :func:`localization_counts` (NaN where no image qualifies)."""
    n, presence, objects, cls, iou, hit = (float(v) for v in c)
    nan = float("nan")
    return {"presence_accuracy": presence / n if n else nan, "class_accuracy": cls / objects if objects else nan,
            "mean_iou": iou / objects if objects else nan, "loc_accuracy": hit / n if n else nan}


def localization_scores(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """All four figures of decoded ``pred (B, 6 + K)`` against ``target (B, 5)`` (see the module docstring)."""
    return {k: round(v, 6) for k, v in scores_from_counts(localization_counts(pred, target)).items()}


class LocalizationScore(Metric):
    """One of :data:`KEYS` over raw model outputs, decoded per batch by ``decode`` (the task's)."""

    def __init__(self, decode: Callable[[torch.Tensor], torch.Tensor], key: str = "loc_accuracy"):
        if key not in KEYS:
            raise ValueError(f"key must be one of {KEYS}")
        self.decode, self.key, self.name = decode, key, key
        super().__init__()

    def reset(self) -> None:
        self.counts = torch.zeros(6)  # additive: summed over ranks in distributed runs

    def update(self, pred, target):
        c = localization_counts(self.decode(pred.detach()), target)
        self.counts = self.counts.to(c.device) + c

    def compute(self) -> float:
        return scores_from_counts(self.counts)[self.key]
