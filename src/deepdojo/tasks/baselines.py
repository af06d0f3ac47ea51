"""Baseline models on arrays, shared by the tasks: beat the simplest model first.

All are fit on the training split and scored on validation. The linear model
is time-boxed: it is fit on a subsample first, and the subsample doubles only
while the next fit is expected to end inside the budget; the rows actually
used are reported.

Example:
    >>> import numpy as np
    >>> b = classification_baselines(np.array([0, 0, 1]), np.array([0, 1]), 2)
    >>> b["majority"]["accuracy"], round(b["stratified"]["accuracy"], 3)
    (0.5, 0.5)
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import numpy as np


def classification_baselines(y_train: np.ndarray, y_valid: np.ndarray, num_classes: int) -> dict[str, dict]:
    """Majority class and stratified-random guessing, scored on validation."""
    p_train = np.bincount(y_train, minlength=num_classes) / len(y_train)
    p_valid = np.bincount(y_valid, minlength=num_classes) / len(y_valid)
    majority = int(np.argmax(p_train))
    acc_major = float(np.mean(y_valid == majority))
    acc_strat = float(np.dot(p_train, p_valid))  # P(guess == y) with guess ~ train frequencies, independent of y
    return {
        "majority": {"accuracy": acc_major, "error_rate": 1 - acc_major, "predicts": majority},
        "stratified": {"accuracy": acc_strat, "error_rate": 1 - acc_strat, "note": "expected value of random guessing"},
    }


def regression_baselines(y_train: np.ndarray, y_valid: np.ndarray) -> dict[str, dict]:
    """Predict the training mean, or the training median, for every example."""
    out = {}
    for name, value in (("mean", float(np.mean(y_train))), ("median", float(np.median(y_train)))):
        out[name] = {**regression_scores(y_valid, np.full(len(y_valid), value)), "predicts": value}
    return out


def regression_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and R² (scikit-learn) over every target value."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y, pred = y.reshape(-1).astype(np.float64), pred.reshape(-1).astype(np.float64)
    return {"mae": float(mean_absolute_error(y, pred)), "rmse": float(np.sqrt(mean_squared_error(y, pred))),
            "r2": float(r2_score(y, pred)) if len(y) > 1 else float("nan")}


def fit_time_boxed(make_estimator: Callable, x_train: np.ndarray, y_train: np.ndarray, budget_s: float = 10.0,
                   seed: int = 0) -> tuple[object, dict]:
    """Fit ``make_estimator()`` (standardized features) on doubling subsamples within ``budget_s``.

    Returns the fitted pipeline and ``{"rows_used", "rows_available", "seconds"}``.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t_start = time.perf_counter()
    order = np.random.default_rng(seed).permutation(len(y_train))
    rows, model = min(len(order), 1000), None
    while True:
        idx = order[:rows]
        candidate = make_pipeline(StandardScaler(), make_estimator())
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: the budget, not the solver, is the limit
            candidate.fit(x_train[idx], y_train[idx])
        fit_s, model = time.perf_counter() - t0, candidate
        if rows == len(order) or time.perf_counter() - t_start + fit_s * 2.5 > budget_s:  # doubling costs a bit over 2x
            break
        rows = min(len(order), rows * 2)
    return model, {"rows_used": int(rows), "rows_available": int(len(order)),
                   "seconds": round(time.perf_counter() - t_start, 3)}
