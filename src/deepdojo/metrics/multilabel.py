"""Multi-label metrics: each example has any number of K labels (multi-hot targets ``(B, K)``).

``pred`` is logits ``(B, K)``; a label is predicted on where its probability
exceeds ``threshold`` (default 0.5, i.e. logit > 0; the multilabel task
chooses one on validation). Targets that are NaN are "not labelled" and count
nowhere (multi-task data with missing labels).

Example:
    >>> import torch
    >>> m = MultiLabelF1()
    >>> m.update(torch.tensor([[3., -3.], [3., 3.]]), torch.tensor([[1., 0.], [0., 1.]]))
    >>> round(m.compute(), 4)  # label 0: tp 1 fp 1 -> F1 2/3; label 1: tp 1 -> F1 1
    0.8333
    >>> ap = MultiLabelAP()
    >>> ap.update(torch.tensor([[2., 0.], [1., 1.], [0., 2.]]), torch.tensor([[1., 0.], [0., 1.], [1., 1.]]))
    >>> round(ap.compute(), 4)  # label 0: AP 0.8333, label 1: AP 1.0
    0.9167
"""

from __future__ import annotations

import math

import torch

from deepdojo.metrics.streaming import Metric


def _logit(threshold: float) -> float:
    return math.log(threshold / (1 - threshold))


class _MultiLabel(Metric):
    """Per-label true/false positives/negatives of ``(B, K)`` logits vs 0/1 (or NaN = missing) targets."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        super().__init__()

    def reset(self) -> None:
        self.sums = None  # (3, K): tp, fp, fn

    def update(self, pred, target):
        known = ~torch.isnan(target)
        p = (pred.float() > _logit(self.threshold)).double() * known
        t = torch.nan_to_num(target.double(), nan=0.0)
        s = torch.stack([(p * t).sum(0), (p * (1 - t)).sum(0), ((1 - p) * t * known).sum(0)])
        self.sums = s if self.sums is None else self.sums + s

    def _f1(self) -> torch.Tensor:
        tp, fp, fn = self.sums.cpu()
        den = 2 * tp + fp + fn
        return torch.where(den > 0, 2 * tp / den.clamp_min(1e-300), torch.zeros_like(den))  # 0 when undefined


class MultiLabelF1(_MultiLabel):
    """Mean F1 over labels (macro); a label never present nor predicted scores 0, as in scikit-learn."""

    name = "multilabel_f1"

    def compute(self) -> float:
        return float(self._f1().mean()) if self.sums is not None else float("nan")


class MultiLabelF1PerLabel(_MultiLabel):
    name = "multilabel_f1_per_label"

    def compute(self) -> list[float]:
        return self._f1().tolist() if self.sums is not None else []


class HammingLoss(Metric):
    """Fraction of labelled (example, label) cells predicted wrong."""

    name = "hamming_loss"
    higher_is_better = False

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        super().__init__()

    def reset(self) -> None:
        self.wrong = self.cells = None

    def update(self, pred, target):
        known = ~torch.isnan(target)
        wrong = (((pred.float() > _logit(self.threshold)) != (torch.nan_to_num(target) > 0.5)) & known).sum()
        cells = known.sum()
        self.wrong = wrong if self.wrong is None else self.wrong + wrong
        self.cells = cells if self.cells is None else self.cells + cells

    def compute(self) -> float:
        return float(self.wrong) / float(self.cells) if self.cells is not None and float(self.cells) else float("nan")


def average_precision(scores: torch.Tensor, target: torch.Tensor) -> float:
    """Average precision of one label, ties grouped as scikit-learn does; NaN without positives."""
    keep = ~torch.isnan(target)
    scores, target = scores[keep].double(), target[keep].double()
    positives = float(target.sum())
    if positives == 0:
        return float("nan")
    order = torch.argsort(scores, descending=True, stable=True)
    s, t = scores[order], target[order]
    tp, fp = torch.cumsum(t, 0), torch.cumsum(1 - t, 0)
    last = torch.ones(len(s), dtype=torch.bool)  # the last index of each group of tied scores
    last[:-1] = s[1:] != s[:-1]
    tp, fp = tp[last], fp[last]
    precision, recall = tp / (tp + fp), tp / positives
    prev = torch.cat([torch.zeros(1, dtype=recall.dtype), recall[:-1]])
    return float(((recall - prev) * precision).sum())


class MultiLabelAP(Metric):
    """Mean over labels (with at least one positive) of average precision: threshold-free.

    Keeps every score of the pass on the device (``(N, K)``): AP needs the ranking.
    """

    name = "multilabel_map"

    def reset(self) -> None:
        self.scores, self.targets = [], []

    def update(self, pred, target):
        self.scores.append(pred.detach().float())
        self.targets.append(target.detach().float())

    def all_gather_state(self, gather) -> None:
        """[distributed] every rank's scores and targets: ``gather(t)`` concatenates rows over ranks."""
        k = self.scores[0].shape[1] if self.scores else 0
        empty = torch.zeros(0, k)
        self.scores = [gather(torch.cat(self.scores) if self.scores else empty)]
        self.targets = [gather(torch.cat(self.targets) if self.targets else empty)]

    def per_label(self) -> list[float]:
        if not self.scores:
            return []
        s, t = torch.cat(self.scores).cpu(), torch.cat(self.targets).cpu()
        return [average_precision(s[:, k], t[:, k]) for k in range(s.shape[1])]

    def compute(self) -> float:
        aps = [a for a in self.per_label() if not math.isnan(a)]
        return sum(aps) / len(aps) if aps else float("nan")
