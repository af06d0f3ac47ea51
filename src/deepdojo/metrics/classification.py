"""Classification metrics read off one streaming confusion matrix, plus calibration and weighted error.

Every metric here accumulates device tensors in ``update`` (no host reads)
and does the one host read in ``compute``. Names follow one scheme, the same in
the CLI, the API and the run folder: ``<measure>_<average>`` with average one
of ``macro``, ``micro``, ``weighted`` or ``per_class``; a ``per_class``
metric computes to a list with one value per class.

Conventions (those of scikit-learn, which the tests use as the oracle): rows of
the confusion matrix are true classes, columns predicted ones; a precision or
recall whose denominator is zero counts as 0; ``macro`` and ``weighted``
average over classes that occur in the targets or the predictions.

Example:
    >>> import torch
    >>> m = F1("macro")
    >>> m.update(torch.tensor([[2., 0.], [0., 1.], [0., 3.]]), torch.tensor([0, 0, 1]))
    >>> round(m.compute(), 4)
    0.6667
"""

from __future__ import annotations

import torch

from deepdojo.metrics.streaming import Metric, _Ratio

AVERAGES = ("macro", "micro", "weighted", "per_class")


def confusion_counts(pred_idx: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(K, K)`` int64 counts, rows true class, columns predicted class; stays on the device."""
    flat = target.reshape(-1).long() * num_classes + pred_idx.reshape(-1).long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


class ConfusionMatrix(Metric):
    """Streaming confusion matrix of arg-max predictions ``(B, K)`` against targets ``(B,)``.

    ``compute`` returns the matrix as a list of rows (JSON-ready); :meth:`matrix`
    returns it as a tensor for the metrics derived from it.
    """

    name = "confusion_matrix"

    def __init__(self, num_classes: int | None = None):
        self.num_classes = num_classes
        super().__init__()

    def reset(self) -> None:
        self.counts = None

    def update(self, pred, target):
        k = self.num_classes or pred.shape[-1]
        c = confusion_counts(pred.argmax(-1), target, k)
        self.counts = c if self.counts is None else self.counts + c

    def matrix(self) -> torch.Tensor:
        """``(K, K)`` float64 counts on the CPU (one host read)."""
        return self.counts.double().cpu() if self.counts is not None else torch.zeros(0, 0, dtype=torch.float64)

    def compute(self) -> list[list[int]]:
        return self.matrix().long().tolist()


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` with 0 where ``den`` is 0 (scikit-learn's ``zero_division=0``)."""
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num))


def per_class_scores(cm: torch.Tensor, measure: str) -> torch.Tensor:
    """Precision, recall or F1 per class from a ``(K, K)`` float64 confusion matrix."""
    tp, predicted, actual = cm.diagonal(), cm.sum(0), cm.sum(1)
    if measure == "precision":
        return _safe_div(tp, predicted)
    if measure == "recall":
        return _safe_div(tp, actual)
    return _safe_div(2 * tp, predicted + actual)  # F1 = 2tp / (2tp + fp + fn)


def average_scores(cm: torch.Tensor, measure: str, average: str) -> float | list[float]:
    """Average per-class scores the way scikit-learn's ``average=`` does for single-label data."""
    scores = per_class_scores(cm, measure)
    if average == "per_class":
        return scores.tolist()
    if average == "micro":  # single-label: micro P = micro R = micro F1 = accuracy
        total = cm.sum()
        return float(cm.diagonal().sum() / total) if total > 0 else 0.0
    seen = (cm.sum(0) + cm.sum(1)) > 0  # classes in the targets or the predictions
    if not seen.any():
        return float("nan")
    if average == "macro":
        return float(scores[seen].mean())
    support = cm.sum(1)
    return float((scores * support).sum() / support.sum()) if support.sum() > 0 else 0.0


class _FromConfusion(ConfusionMatrix):
    measure = "f1"

    def __init__(self, average: str = "macro", num_classes: int | None = None):
        if average not in AVERAGES:
            raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
        self.average, self.name = average, f"{self.measure}_{average}"
        super().__init__(num_classes)

    def compute(self):
        return average_scores(self.matrix(), self.measure, self.average)


class Precision(_FromConfusion):
    """Precision: of the examples predicted as a class, the fraction that are that class."""

    measure = "precision"


class Recall(_FromConfusion):
    """Recall: of the examples of a class, the fraction predicted as that class."""

    measure = "recall"


class F1(_FromConfusion):
    """F1: harmonic mean of precision and recall."""

    measure = "f1"


class PerClassAccuracy(ConfusionMatrix):
    """Accuracy within each true class (= recall per class); NaN for a class with no examples."""

    name = "accuracy_per_class"

    def compute(self) -> list[float]:
        cm = self.matrix()
        actual = cm.sum(1)
        return torch.where(actual > 0, cm.diagonal() / actual.clamp_min(1), torch.full_like(actual, float("nan"))).tolist()


class WeightedError(_Ratio):
    """The curriculum's weighted misclassification: ``sum w(i) [pred_i != y_i] / sum w(i)``.

    ``w(i)`` is ``class_weights[y_i]`` (e.g. 10 for a class whose mistakes cost
    ten times more), times a per-example ``weight`` passed to ``update``.

    >>> m = WeightedError(class_weights=[1.0, 10.0])
    >>> m.update(torch.tensor([[1., 0.], [1., 0.]]), torch.tensor([0, 1]))
    >>> round(m.compute(), 4)
    0.9091
    """

    name = "weighted_error"
    higher_is_better = False

    def __init__(self, class_weights=None):
        self.class_weights = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float64)
        super().__init__()

    def update(self, pred, target, weight: torch.Tensor | None = None):
        w = torch.ones(len(target), dtype=torch.float64, device=target.device)
        if self.class_weights is not None:
            self.class_weights = self.class_weights.to(target.device)
            w = w * self.class_weights[target.long()]
        if weight is not None:
            w = w * weight.to(w)
        wrong = (pred.argmax(-1) != target).to(w)
        self._add((w * wrong).sum(), w.sum())

    def compute(self) -> float:
        return float(self.hits / self.count) if self.count is not None and float(self.count) > 0 else float("nan")


class ExpectedCalibrationError(Metric):
    """Top-label ECE (Guo et al. 2017): ``sum_b |B_b|/N * |accuracy(B_b) - confidence(B_b)|``.

    Confidence is the highest class probability, binned into ``n_bins`` equal
    widths over [0, 1]. ``pred`` are logits (``from_logits=True``, what the
    Learner passes) or probabilities.
    """

    name = "ece"
    higher_is_better = False

    def __init__(self, n_bins: int = 15, from_logits: bool = True):
        self.n_bins, self.from_logits = n_bins, from_logits
        super().__init__()

    def reset(self) -> None:
        self.sums = None  # (3, n_bins): count, sum of confidence, sum of correct

    def update(self, pred, target):
        probs = pred.float().softmax(-1) if self.from_logits else pred.float()
        conf, idx = probs.max(-1)
        bins = (conf * self.n_bins).long().clamp_(0, self.n_bins - 1)  # [lo, hi) bins, 1.0 in the last
        stats = torch.stack([torch.ones_like(conf), conf, (idx == target).float()]).double()  # (3, B)
        s = torch.zeros(3, self.n_bins, dtype=torch.float64, device=pred.device).index_add_(1, bins, stats)
        self.sums = s if self.sums is None else self.sums + s

    def compute(self) -> float:
        if self.sums is None:
            return float("nan")
        count, conf, correct = self.sums.cpu()
        n = count.sum()
        return float((conf - correct).abs().sum() / n) if n > 0 else float("nan")
