"""Collaborative filtering: predict a user's rating of an item from ``(user, item)`` codes.

Loss: mean squared error on the rating. Metrics: MAE and RMSE. Baselines
(fit on the training ratings, scored on validation): the global mean, and
the user/item bias model ``mean + b_u + b_i`` fit by regularized least
squares (alternating exact updates).

Cold start policy: a user or item not seen in training has code 0
(:mod:`deepdojo.data.ratings`), whose embeddings and bias stay zero, so its
rating is predicted from the global bias plus whatever bias is known (the
item's bias for a new user, the user's for a new item). The baselines follow
the same policy, and the evaluation states how many validation rows were
cold start (``baselines["cold_start"]["counts"]``) — never a crash, never an untrained
random embedding.

Example:
    >>> import numpy as np
    >>> x = np.array([[1, 1], [1, 2], [2, 1], [2, 2]]); y = np.array([4.0, 2.0, 5.0, 3.0])
    >>> b = bias_model(x, y, reg=0.0)
    >>> np.round(b.predict(np.array([[2, 1], [0, 2]])), 3).tolist()  # [0, 2]: unknown user, known item
    [5.0, 2.5]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.data.ratings_codes import COLD_START_POLICY
from deepdojo.tasks.base import Task, register_task, versus
from deepdojo.tasks.baselines import regression_scores


@dataclass
class BiasModel:
    """``mean + b_user + b_item`` (codes 0 and unseen codes get bias 0)."""

    mean: float
    user_bias: np.ndarray
    item_bias: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        u, i = x[:, 0].astype(np.int64), x[:, 1].astype(np.int64)
        bu = np.where(u < len(self.user_bias), self.user_bias[np.minimum(u, len(self.user_bias) - 1)], 0.0)
        bi = np.where(i < len(self.item_bias), self.item_bias[np.minimum(i, len(self.item_bias) - 1)], 0.0)
        return self.mean + bu * (u > 0) + bi * (i > 0)


def bias_model(x: np.ndarray, y: np.ndarray, reg: float = 5.0, iters: int = 20) -> BiasModel:
    """Fit user and item biases by ridge least squares, alternating the two closed-form updates."""
    u, i = x[:, 0].astype(np.int64), x[:, 1].astype(np.int64)
    y = y.astype(np.float64).reshape(-1)
    mean = float(y.mean())
    nu, ni = int(u.max()) + 1, int(i.max()) + 1
    bu, bi = np.zeros(nu), np.zeros(ni)
    cu, ci = np.bincount(u, minlength=nu), np.bincount(i, minlength=ni)
    for _ in range(iters):
        bu = np.bincount(u, y - mean - bi[i], minlength=nu) / np.maximum(cu + reg, 1e-12)
        bi = np.bincount(i, y - mean - bu[u], minlength=ni) / np.maximum(ci + reg, 1e-12)
    bu[0] = bi[0] = 0.0  # the cold-start code carries no bias
    return BiasModel(mean, bu, bi)


def cold_start_rows(x_train: np.ndarray, x_valid: np.ndarray) -> dict[str, int]:
    """How many validation rows have a user, an item, or either unseen in training (code 0 or absent)."""
    seen_u, seen_i = set(np.unique(x_train[:, 0]).tolist()) - {0}, set(np.unique(x_train[:, 1]).tolist()) - {0}
    new_u = ~np.isin(x_valid[:, 0], list(seen_u))
    new_i = ~np.isin(x_valid[:, 1], list(seen_i))
    return {"rows": int(len(x_valid)), "new_user": int(new_u.sum()), "new_item": int(new_i.sum()),
            "either": int((new_u | new_i).sum())}


@register_task
class Collab(Task):
    name = "collab"
    description = "ratings from (user, item) pairs (collaborative filtering, mean squared error)"
    report_sections = ("baselines", "factors")
    reads = "ratings"  # a CSV given with --task collab is read as user,item,rating
    interpretation = "factors"  # item biases, a 2-D PCA of item factors, nearest items; top-N ranking

    def describe_data(self, data) -> list[str]:
        spec = data.info.get("preprocess") or {}
        if spec.get("kind") != "ratings":
            return []
        split = spec.get("split", "random")
        how = {"random": "random rows", "user": "a share of each user's ratings",
               "time": "the latest ratings by timestamp"}.get(split, split)
        n_va = len(data.valid.x) if data.valid is not None else 0  # rows (len(loader) counts batches)
        lines = [f"ratings: {spec['n_users'] - 1:,} users and {spec['n_items'] - 1:,} items in training; "
                 f"split: {split} ({n_va:,} validation ratings are {how}; choose with --split random|user|time)"]
        if n_va:
            x = data.valid.x
            new_u, new_i = int((x[:, 0] == 0).sum()), int((x[:, 1] == 0).sum())
            either = int(((x[:, 0] == 0) | (x[:, 1] == 0)).sum())
            lines.append(f"cold start: {either:,} of {n_va:,} validation ratings have a user or item unseen in "
                         f"training ({new_u:,} new-user, {new_i:,} new-item rows): predicted from {COLD_START_POLICY}")
        return lines

    def output_size(self, data) -> int:
        return 1

    def default_arch(self, data) -> str | None:
        return "dot"

    def model_kwargs(self, data) -> dict[str, Any]:
        from deepdojo.errors import DataError

        info = data.info.get("preprocess") or {}
        if info.get("kind") != "ratings":
            raise DataError("the collab task needs ratings data (user,item,rating)", where=str(data.info.get("name")),
                            fix="pass a CSV with user,item,rating columns or builtin:ratings")
        lo, hi = info["range"]
        pad = 0.05 * (hi - lo) or 0.5  # a sigmoid never reaches its ends: leave room past the extremes
        return {"n_users": info["n_users"], "n_items": info["n_items"], "y_range": (lo - pad, hi + pad)}

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(pred.reshape(target.shape).float(), target.float())

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (pred.float().reshape(target.shape) - target.float()) ** 2

    def metrics(self) -> list:
        return ["rmse", "mae"]

    def baselines(self, x_train, y_train, x_valid, y_valid, num_classes, budget_s, seed):
        x_train, x_valid = np.asarray(x_train).reshape(len(x_train), -1), np.asarray(x_valid).reshape(len(x_valid), -1)
        mean = float(np.mean(y_train))
        out = {"global_mean": {**regression_scores(y_valid, np.full(len(y_valid), mean)), "predicts": mean}}
        bias = bias_model(x_train, np.asarray(y_train))
        out["bias"] = {**regression_scores(y_valid, bias.predict(x_valid)),
                       "note": "mean + user bias + item bias, ridge least squares (reg 5)"}
        cold = cold_start_rows(x_train, x_valid)  # facts, not scores: nested so the report's score columns skip them
        out["cold_start"] = {"counts": cold, "policy": COLD_START_POLICY,
                             "note": f"{cold['either']} of {cold['rows']} rows have an id unseen in training "
                                     f"({cold['new_user']} new-user, {cold['new_item']} new-item)"}
        return out

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        rmse = model_metrics.get("rmse")
        lines = []
        if rmse is not None:
            lines = [versus("the simplest recommender", "predict the global mean",
                            baselines["global_mean"]["rmse"] - rmse, "RMSE"),
                     versus("the bias model", "mean + user bias + item bias", baselines["bias"]["rmse"] - rmse,
                            "RMSE")]
        cold = baselines.get("cold_start")
        if cold:
            c = cold["counts"]
            lines.append(f"{c['either']} of {c['rows']} validation ratings are cold start ({c['new_user']} "
                         f"new users, {c['new_item']} new items): predicted from {cold['policy']}")
        return lines

    def target_summary(self, targets: dict[str, np.ndarray], classes) -> dict[str, Any]:
        return {split: {"n": int(len(y)), "mean": float(np.mean(y)), "min": float(np.min(y)),
                        "max": float(np.max(y))} for split, y in targets.items() if len(y)}

    def format_prediction(self, out: torch.Tensor, classes, top: int = 3) -> dict[str, Any]:
        return {"prediction": float(out.reshape(-1)[0])}
