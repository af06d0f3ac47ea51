"""Ranking metrics (ROC AUC, average precision) and the plain metric names people type.

Both need every score of the split, so ``update`` appends the batch's
probabilities on the device and ``compute`` reads them once. Averages follow
scikit-learn (the tests use it as the oracle): ``binary`` scores class 1 of a
two-class problem; ``macro`` averages one-vs-rest over the classes present
(with both positives and negatives); ``weighted`` weights them by support;
``per_class`` lists them (NaN for a class that cannot be scored).

Plain names (``auc``, ``precision``, ``recall``, ``f1``, ``average_precision``)
resolve on the first batch: ``binary`` for two classes, ``macro`` otherwise.
The resolved name is the metric's name in the epoch records, so the report
says which one was computed.

Example:
    >>> import torch
    >>> m = RocAuc("binary")
    >>> m.update(torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]), torch.tensor([0, 1, 1, 0]))
    >>> m.compute()
    0.75
"""

from __future__ import annotations

import torch

from deepdojo.metrics.streaming import Metric

RANKING_AVERAGES = ("binary", "macro", "weighted", "per_class")


def _ranks(scores: torch.Tensor) -> torch.Tensor:
    """1-based ranks, ties given their average rank (float64)."""
    order = scores.argsort()
    s = scores[order]
    ranks = torch.empty_like(scores, dtype=torch.float64)
    n = len(s)
    pos = torch.arange(1, n + 1, dtype=torch.float64)
    new = torch.ones(n, dtype=torch.bool)
    new[1:] = s[1:] != s[:-1]
    group = new.cumsum(0) - 1  # tie group of each sorted position
    counts = torch.bincount(group).double()
    sums = torch.zeros(len(counts), dtype=torch.float64).index_add_(0, group, pos)
    ranks[order] = (sums / counts)[group]
    return ranks


def binary_auc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """ROC AUC = P(score of a positive > score of a negative), ties half (Mann-Whitney U)."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _ranks(scores.double())
    return float((r[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_average_precision(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """AP = sum over thresholds of (recall step) x precision, thresholds at distinct scores (scikit-learn's)."""
    n_pos = int(positive.sum())
    if n_pos == 0:
        return float("nan")
    order = scores.double().argsort(descending=True, stable=True)
    s, p = scores.double()[order], positive[order].double()
    last = torch.ones(len(s), dtype=torch.bool)
    last[:-1] = s[1:] != s[:-1]  # the last position of each run of equal scores
    tp = p.cumsum(0)[last]
    seen = torch.arange(1, len(s) + 1, dtype=torch.float64)[last]
    precision, recall = tp / seen, tp / n_pos
    steps = torch.diff(recall, prepend=torch.zeros(1, dtype=torch.float64))
    return float((steps * precision).sum())


class _Ranking(Metric):
    """Keeps every probability ``(N, K)`` and target ``(N,)`` of the split on the device."""

    measure = "auc"
    plain = "auc"

    def __init__(self, average: str = "auto"):
        if average not in (*RANKING_AVERAGES, "auto"):
            raise ValueError(f"average must be one of {RANKING_AVERAGES} or 'auto', got {average!r}")
        self.average = average
        self.name = self.plain if average == "auto" else f"{self.plain}_{average}"
        super().__init__()

    def reset(self) -> None:
        self.probs, self.targets = [], []

    def update(self, pred, target):
        if self.average == "auto":  # resolved once, from the number of classes: the record says which
            self.average = "binary" if pred.shape[-1] == 2 else "macro"
            self.name = f"{self.plain}_{self.average}"
        self.probs.append(pred.detach().float().softmax(-1))
        self.targets.append(target.detach())

    def all_gather_state(self, gather) -> None:
        """[distributed] every rank's probabilities and targets: ``gather(t)`` concatenates rows over ranks."""
        k = self.probs[0].shape[1] if self.probs else 0
        device = self.probs[0].device if self.probs else None
        probs = torch.cat(self.probs) if self.probs else torch.zeros(0, k, device=device)
        targets = torch.cat(self.targets) if self.targets else torch.zeros(0, dtype=torch.long, device=device)
        self.probs, self.targets = [gather(probs)], [gather(targets)]

    def _score(self, scores: torch.Tensor, positive: torch.Tensor) -> float:
        return binary_auc(scores, positive) if self.measure == "auc" else binary_average_precision(scores, positive)

    def compute(self):
        if not self.probs:
            return float("nan")
        probs, y = torch.cat(self.probs).cpu(), torch.cat(self.targets).cpu().long()  # one host read
        k = probs.shape[1]
        if self.average == "binary":
            if k != 2:
                raise ValueError(f"{self.name} needs two classes, got {k}: use {self.plain}_macro")
            return self._score(probs[:, 1], y == 1)
        per = [self._score(probs[:, c], y == c) for c in range(k)]
        if self.average == "per_class":
            return per
        support = torch.bincount(y, minlength=k).double()
        valid = [c for c in range(k) if per[c] == per[c]]  # not NaN: the class had positives and negatives
        if not valid:
            return float("nan")
        if self.average == "macro":
            return sum(per[c] for c in valid) / len(valid)
        w = support[valid]
        return float((torch.tensor([per[c] for c in valid], dtype=torch.float64) * w).sum() / w.sum())


class RocAuc(_Ranking):
    """Area under the ROC curve: the chance a random positive scores above a random negative."""

    measure, plain = "auc", "auc"


class AveragePrecision(_Ranking):
    """Average precision: the area under the precision-recall curve, as scikit-learn computes it."""

    measure, plain = "average_precision", "average_precision"


def plain_metric(measure: str):
    """``precision``/``recall``/``f1`` with the average chosen on the first batch (binary for 2 classes, else macro)."""
    from deepdojo.metrics import classification as c

    cls = {"precision": c.Precision, "recall": c.Recall, "f1": c.F1}[measure]

    class Plain(cls):
        def __init__(self):
            super().__init__("macro")
            self.name, self.auto = measure, True

        def update(self, pred, target):
            if self.auto:
                self.auto = False
                self.average = "binary" if pred.shape[-1] == 2 else "macro"
                self.name = f"{measure}_{self.average}"
            super().update(pred, target)

        def compute(self):
            if self.average == "binary":  # the positive class is 1, as scikit-learn's pos_label
                cm = self.matrix()
                return float(c.per_class_scores(cm, measure)[1]) if cm.shape[0] > 1 else float("nan")
            return super().compute()

    Plain.__name__ = Plain.__qualname__ = f"Plain{cls.__name__}"
    return Plain()
