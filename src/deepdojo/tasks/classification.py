"""Single-label classification: one of K classes per example.

Cross-entropy on logits, softmax probabilities, accuracy and error rate each
epoch (macro-F1 and calibration after training), majority / stratified /
logistic-regression baselines, the bias/variance recipe on the error rate.

Example:
    >>> import torch
    >>> t = Classification()
    >>> t.decode(torch.tensor([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    >>> t.format_prediction(torch.tensor([0.2, 0.8]), ["cat", "dog"], top=1)["prediction"]
    'dog'
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.tasks.base import Task, register_task, versus
from deepdojo.tasks.baselines import classification_baselines, fit_time_boxed


@register_task
class Classification(Task):
    name = "classification"
    description = "one of K classes per example (softmax + cross-entropy)"
    error_metric = "error_rate"
    class_targets = True
    interpretation = "classes"
    report_sections = ("baselines", "diagnosis", "confusion", "top_losses", "suspects")

    def output_size(self, data) -> int:
        if data.num_classes is None:
            from deepdojo.errors import DataError

            raise DataError("classification needs class names", where=str(data.info.get("name")),
                            fix="give the data classes=, or choose another --task")
        return data.num_classes

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(pred, target)

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(pred.float(), target, reduction="none")

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        return out.softmax(-1)

    def metrics(self) -> list:
        return ["accuracy", "error_rate"]

    def eval_metrics(self) -> list:
        return self.metrics() + ["f1_macro", "ece"]

    def baselines(self, x_train, y_train, x_valid, y_valid, num_classes, budget_s, seed):
        from sklearn.linear_model import LogisticRegression

        y_train, y_valid = y_train.astype(np.int64), y_valid.astype(np.int64)
        k = num_classes or int(max(y_train.max(), y_valid.max())) + 1
        out = classification_baselines(y_train, y_valid, k)
        model, facts = fit_time_boxed(lambda: LogisticRegression(max_iter=300), x_train, y_train, budget_s, seed)
        acc = float(np.mean(model.predict(x_valid) == y_valid))
        out["linear"] = {"accuracy": acc, "error_rate": 1 - acc, **facts}
        return out

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        acc = model_metrics.get("accuracy")
        if acc is None:
            return []
        simple = max(("majority", "stratified"), key=lambda k: baselines[k]["accuracy"])
        return [versus("the simplest classifier", simple, acc - baselines[simple]["accuracy"], "accuracy"),
                versus("the linear model", baselines["linear"].get("name", "logistic regression"),
                       acc - baselines["linear"]["accuracy"], "accuracy")]

    def target_summary(self, targets: dict[str, np.ndarray], classes: list[str] | None) -> dict[str, Any]:
        k = len(classes or [])
        return {"class_counts": {split: np.bincount(y.astype(np.int64), minlength=k).tolist()
                                 for split, y in targets.items()}}

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        probs, idx = out.topk(min(top, len(out)))
        names = [classes[i] if classes else str(i) for i in idx.tolist()]
        return {"prediction": names[0], "index": int(idx[0]), "probability": float(probs[0]),
                "top": [{"class": n, "probability": float(p)} for n, p in zip(names, probs.tolist())]}
