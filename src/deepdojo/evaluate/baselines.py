"""Baselines every run is compared with: beat the simplest model first.

Classification: the majority class, stratified-random guessing (expected
accuracy of guessing with the training class frequencies), and a logistic
regression on flattened (or tabular) features. Regression: predicting the
training mean or median, and a linear regression. All are fit on the training
split and scored on validation (never on the sealed test split).

The linear model is time-boxed: it is fit on a subsample first and the
subsample doubles only while the next fit is expected to end inside the budget;
the rows actually used are reported.

Example:
    >>> from deepdojo.data import load_builtin
    >>> b = compute_baselines(load_builtin("moons", seed=0), budget_s=5)
    >>> sorted(b["baselines"]), 0.4 < b["baselines"]["majority"]["accuracy"] < 0.6
    (['linear', 'majority', 'stratified'], True)
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import torch

from deepdojo.data.loaders import TensorLoader
from deepdojo.errors import DataError

MAX_FEATURES = 3072  # images larger than this are average-pooled for the linear baseline


def split_arrays(data, split: str, max_rows: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``(x, y)`` of ``train`` or ``valid`` as NumPy (test is sealed and refused)."""
    if split not in ("train", "valid"):
        raise DataError(f"baselines use train and valid only, not {split!r}", where="baselines")
    loader = getattr(data, split)
    if loader is None:
        raise DataError(f"the data has no {split} split", where="baselines")
    if isinstance(loader, TensorLoader):
        return loader.x[:max_rows].cpu().numpy(), loader.y[:max_rows].cpu().numpy()
    xs, ys, n = [], [], 0
    for xb, yb in loader:
        xs.append(torch.as_tensor(xb).cpu().numpy())
        ys.append(torch.as_tensor(yb).cpu().numpy())
        n += len(yb)
        if n >= max_rows:
            break
    return np.concatenate(xs), np.concatenate(ys)


def flat_features(x: np.ndarray) -> tuple[np.ndarray, str]:
    """2-D float features and a description: images in [0, 1], pooled to at most MAX_FEATURES values."""
    desc = "tabular features"
    if x.ndim == 4:
        t = torch.from_numpy(x).float() / (255.0 if x.dtype == np.uint8 else 1.0)  # (N, C, H, W)
        c, h, w = t.shape[1:]
        if c * h * w > MAX_FEATURES:
            side = max(1, int((MAX_FEATURES / c) ** 0.5))
            t = torch.nn.functional.adaptive_avg_pool2d(t, (min(side, h), min(side, w)))
        desc = f"flattened pixels ({t.shape[1]}x{t.shape[2]}x{t.shape[3]})"
        x = t.reshape(len(t), -1).numpy()
    return x.reshape(len(x), -1).astype(np.float32), desc


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
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y, pred = y.reshape(-1).astype(np.float64), pred.reshape(-1).astype(np.float64)
    return {"mae": float(mean_absolute_error(y, pred)), "rmse": float(np.sqrt(mean_squared_error(y, pred))),
            "r2": float(r2_score(y, pred)) if len(y) > 1 else float("nan")}


def linear_baseline(x_train, y_train, x_valid, y_valid, task: str, budget_s: float = 10.0, seed: int = 0) -> dict:
    """Logistic (classification) or linear (regression) model on standardized features, time-boxed."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t_start = time.perf_counter()
    order = np.random.default_rng(seed).permutation(len(y_train))
    rows, model, fit_s = min(len(order), 1000), None, 0.0
    while True:
        idx = order[:rows]
        est = LogisticRegression(max_iter=300) if task == "classification" else LinearRegression()
        candidate = make_pipeline(StandardScaler(), est)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings: the budget, not the solver, is the limit
            candidate.fit(x_train[idx], y_train[idx])
        fit_s, model = time.perf_counter() - t0, candidate
        elapsed = time.perf_counter() - t_start
        if rows == len(order) or elapsed + fit_s * 2.5 > budget_s:  # doubling rows costs a bit over 2x
            break
        rows = min(len(order), rows * 2)
    pred = model.predict(x_valid)
    out = ({"accuracy": float(np.mean(pred == y_valid))} if task == "classification" else regression_scores(y_valid, pred))
    if task == "classification":
        out["error_rate"] = 1 - out["accuracy"]
    out.update({"rows_used": int(rows), "rows_available": int(len(order)), "seconds": round(time.perf_counter() - t_start, 3)})
    return out


def compute_baselines(data, budget_s: float = 10.0, seed: int = 0) -> dict[str, Any]:
    """Every baseline for ``data`` (fit on train, scored on valid) as a JSON-ready dict."""
    x_tr, y_tr = split_arrays(data, "train")
    x_va, y_va = split_arrays(data, "valid")
    if data.task == "classification":
        y_tr, y_va = y_tr.astype(np.int64), y_va.astype(np.int64)
        base = classification_baselines(y_tr, y_va, data.num_classes or int(max(y_tr.max(), y_va.max())) + 1)
    else:
        base = regression_baselines(y_tr, y_va)
    f_tr, desc = flat_features(x_tr)
    f_va, _ = flat_features(x_va)
    base["linear"] = {**linear_baseline(f_tr, y_tr, f_va, y_va, data.task, budget_s, seed), "features": desc}
    return {"task": data.task, "scored_on": "valid", "baselines": base}


def compare(model_metrics: dict[str, Any], baselines: dict[str, Any]) -> list[str]:
    """Sentences putting the model beside its baselines ("beats the simplest classifier by X")."""
    b, task = baselines["baselines"], baselines["task"]
    if task == "classification":
        acc = model_metrics.get("accuracy")
        if acc is None:
            return []
        simple_name = max(("majority", "stratified"), key=lambda k: b[k]["accuracy"])
        lines = [_versus("the simplest classifier", simple_name, acc - b[simple_name]["accuracy"], "accuracy")]
        lines.append(_versus("the linear model", "logistic regression", acc - b["linear"]["accuracy"], "accuracy"))
        return lines
    mae = model_metrics.get("mae")
    if mae is None:
        return []
    simple_name = min(("mean", "median"), key=lambda k: b[k]["mae"])
    return [_versus("the simplest regressor", f"predict the {simple_name}", b[simple_name]["mae"] - mae, "MAE"),
            _versus("the linear model", "linear regression", b["linear"]["mae"] - mae, "MAE")]


def _versus(what: str, name: str, margin: float, unit: str) -> str:
    if margin > 0:
        return f"beats {what} ({name}) by {margin:.4f} {unit}"
    return f"does NOT beat {what} ({name}): behind by {-margin:.4f} {unit}"
