"""Regression: one or more real-valued targets per example.

Mean squared error (``(B, 1)`` predictions accepted for ``(B,)`` targets),
MAE / RMSE / R², baselines that predict the training mean or median and a
linear regression.

Example:
    >>> import torch
    >>> float(Regression().loss(torch.tensor([[1.0], [3.0]]), torch.tensor([1.0, 1.0])))
    2.0
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from deepdojo.tasks.base import Task, register_task, versus
from deepdojo.tasks.baselines import fit_time_boxed, regression_baselines, regression_scores


@register_task
class Regression(Task):
    name = "regression"
    description = "real-valued targets (mean squared error)"
    report_sections = ("baselines",)

    def output_size(self, data) -> int:
        y = getattr(data.train, "y", None)
        if y is None:
            from deepdojo.errors import DataError

            raise DataError("cannot tell how many outputs the model needs", where=str(data.info.get("name")),
                            fix="build the model yourself and use Learner")
        return 1 if y.dim() == 1 else int(y.shape[1])

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(pred.reshape(target.shape), target.float())

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        err = (pred.float().reshape(target.shape) - target.float()) ** 2
        return err.reshape(len(err), -1).mean(1)

    def metrics(self) -> list:
        return ["mae", "rmse", "r2"]

    def baselines(self, x_train, y_train, x_valid, y_valid, num_classes, budget_s, seed):
        from sklearn.linear_model import LinearRegression

        out = regression_baselines(y_train, y_valid)
        model, facts = fit_time_boxed(LinearRegression, x_train, y_train, budget_s, seed)
        out["linear"] = {**regression_scores(y_valid, model.predict(x_valid)), **facts}
        return out

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        mae = model_metrics.get("mae")
        if mae is None:
            return []
        simple = min(("mean", "median"), key=lambda k: baselines[k]["mae"])
        return [versus("the simplest regressor", f"predict the {simple}", baselines[simple]["mae"] - mae, "MAE"),
                versus("the linear model", "linear regression", baselines["linear"]["mae"] - mae, "MAE")]
