"""Multi-label classification: any number of K labels per example (multi-hot targets).

Binary cross-entropy on logits (one sigmoid per label), labels that are not
known (NaN targets) masked out of the loss and the metrics; mean F1 and
Hamming loss at a threshold chosen on validation, and threshold-free mean
average precision. Baselines: each label's training frequency, and one
logistic regression per label.

Example:
    >>> import torch
    >>> t = MultiLabel()
    >>> pred, target = torch.zeros(2, 3), torch.tensor([[1., 0., float("nan")], [0., 1., 1.]])
    >>> round(float(t.loss(pred, target)), 4)  # log 2 over the 5 known cells
    0.6931
    >>> t.finalize(torch.tensor([[0.9, 0.2], [0.3, 0.8]]), torch.tensor([[1., 0.], [0., 1.]]))["threshold"] < 0.8
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.metrics.multilabel import HammingLoss, MultiLabelAP, MultiLabelF1, MultiLabelF1PerLabel
from deepdojo.tasks.base import Task, register_task, versus
from deepdojo.tasks.baselines import fit_time_boxed

THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2)


def masked_bce(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """BCE-with-logits over the known (non-NaN) targets only: equal to the loss on the labelled subset."""
    known = ~torch.isnan(target)
    cell = F.binary_cross_entropy_with_logits(pred.float(), torch.nan_to_num(target.float()), reduction="none") * known
    if reduction == "none":
        return cell.sum(-1) / known.sum(-1).clamp_min(1)
    return cell.sum() / known.sum().clamp_min(1)


def _f1_at(probs: np.ndarray, target: np.ndarray, threshold: float) -> float:
    known = ~np.isnan(target)
    p, t = (probs > threshold) & known, np.nan_to_num(target) > 0.5
    tp, fp, fn = (p & t).sum(0), (p & ~t).sum(0), (~p & t & known).sum(0)
    den = 2 * tp + fp + fn
    return float(np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0).mean())


@register_task
class MultiLabel(Task):
    name = "multilabel"
    description = "any number of K labels per example (sigmoid + binary cross-entropy, threshold chosen on validation)"
    interpretation = "labels"
    monitor = "valid_loss"
    report_sections = ("baselines", "per_label")

    def __init__(self, threshold: float = 0.5):
        if not 0 < threshold < 1:
            from deepdojo.errors import ConfigError

            raise ConfigError(f"threshold must be in (0, 1), got {threshold}", where="task.threshold")
        self.threshold = float(threshold)

    def output_size(self, data) -> int:
        return data.num_classes if data.num_classes is not None else int(data.train.y.shape[1])

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return masked_bce(pred, target)

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return masked_bce(pred, target, reduction="none")

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        return out.sigmoid()

    def metrics(self) -> list:
        return [MultiLabelF1(self.threshold), HammingLoss(self.threshold), MultiLabelAP()]

    def eval_metrics(self) -> list:
        return self.metrics() + [MultiLabelF1PerLabel(self.threshold)]

    def finalize(self, preds: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        """Choose the threshold (one for all labels: per-label ones overfit small validation sets) that maximizes mean F1."""
        probs, target = preds.float().numpy(), targets.float().numpy()
        scores = [_f1_at(probs, target, t) for t in THRESHOLDS]
        best = int(np.argmax(scores))
        self.threshold = float(THRESHOLDS[best])
        return {"threshold": self.threshold, "valid_multilabel_f1": scores[best],
                "valid_multilabel_f1_at_0.5": _f1_at(probs, target, 0.5)}

    def baselines(self, x_train, y_train, x_valid, y_valid, num_classes, budget_s, seed):
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        freq = np.nanmean(y_train, axis=0)  # (K,) how often each label is on in training
        out = {"frequency": {"multilabel_f1": _f1_at(np.broadcast_to(freq, y_valid.shape), y_valid, 0.5),
                             "note": "predicts each label that is on in over half of the training examples"}}
        known_rows = ~np.isnan(y_train).any(1)
        y_fit = y_train[known_rows].astype(np.int64)
        if len(y_fit) and (y_fit.min(0) != y_fit.max(0)).all():  # every label needs both values to fit
            model, facts = fit_time_boxed(lambda: OneVsRestClassifier(LogisticRegression(max_iter=300)),
                                          x_train[known_rows], y_fit, budget_s, seed)
            out["linear"] = {"multilabel_f1": _f1_at(model.predict_proba(x_valid), y_valid, 0.5), **facts}
        return out

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        f1 = model_metrics.get("multilabel_f1")
        if f1 is None:
            return []
        lines = [versus("the label-frequency baseline", "most common labels", f1 - baselines["frequency"]["multilabel_f1"],
                        "mean F1")]
        if "linear" in baselines:
            lines.append(versus("the linear model", "logistic regression per label",
                                f1 - baselines["linear"]["multilabel_f1"], "mean F1"))
        return lines

    def target_summary(self, targets: dict[str, np.ndarray], classes: list[str] | None) -> dict[str, Any]:
        return {"label_counts": {split: np.nansum(y, axis=0).astype(int).tolist() for split, y in targets.items()},
                "missing_labels": {split: int(np.isnan(y).sum()) for split, y in targets.items()}}

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        names = classes or [str(i) for i in range(len(out))]
        on = [names[i] for i in range(len(out)) if float(out[i]) > self.threshold]
        return {"prediction": on, "threshold": self.threshold,
                "probabilities": {n: round(float(p), 6) for n, p in zip(names, out.tolist())}}

    def state(self) -> dict[str, Any]:
        return {"threshold": self.threshold}
