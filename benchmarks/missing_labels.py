"""Multi-task with 50% of labels missing: the masked loss (every known label) vs dropping incomplete rows.

A generated multi-task set (the curriculum's "pedestrian, car, stop sign,
traffic light" picture, as feature vectors): T related 0/1 tasks, each a
non-linear function of shared features. Half of the label cells are hidden at
random (``NaN``: "?"). Two MLPs of the same shape learn it:

- masked: every row, the loss averaged over known labels only (the
  ``multilabel`` task's loss);
- dropped: only the rows with all T labels known (0.5^T of them), trained for
  as many optimizer steps as the masked model gets, so it is not short of steps.

Both are scored on a fully labelled validation set (mean per-task accuracy).
Prints both and the error ratio; the masked loss should win.

    python benchmarks/missing_labels.py            # 20,000 rows, 4 tasks (the lead's run)
    python benchmarks/missing_labels.py --quick    # 4,000 rows
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from deepdojo.data.core import Data
from deepdojo.models import create_model
from deepdojo.train.learner import Learner


def multitask_set(n: int, tasks: int = 4, features: int = 12, missing: float = 0.5, seed: int = 0):
    """``(x (n, F), y (n, T) with NaN = missing, y_full (n, T))``: tasks share a hidden non-linear representation."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    hidden = np.tanh(x @ rng.normal(size=(features, 8)))  # (n, 8) what every task is built from
    logits = hidden @ rng.normal(size=(8, tasks)) * 2.0
    y_full = (logits + rng.logistic(size=logits.shape) * 0.3 > 0).astype(np.float32)
    y = y_full.copy()
    y[rng.random(y.shape) < missing] = np.nan
    return x, y, y_full


def fit_and_score(x, y, x_valid, y_valid, epochs: int, seed: int, lr: float = 3e-3) -> float:
    """Mean per-task accuracy on the fully labelled ``y_valid`` of an MLP trained on ``(x, y)``."""
    data = Data.from_tensors(torch.from_numpy(x), torch.from_numpy(y), valid=(torch.from_numpy(x_valid),
                             torch.from_numpy(y_valid)), task="multilabel", classes=[f"t{i}" for i in range(y.shape[1])],
                             batch_size=64, seed=seed)
    torch.manual_seed(seed)
    model = create_model("mlp", y.shape[1], in_features=x.shape[1], width=64, depth=2)
    learn = Learner(model, data, task="multilabel", lr=lr, seed=seed, progress=False)
    learn.fit_one_cycle(epochs, lr)
    probs, _ = learn.get_preds(data.valid)
    return float(((probs.numpy() > 0.5) == (y_valid > 0.5)).mean())


def compare(n: int = 20000, tasks: int = 4, epochs: int = 10, seed: int = 0, missing: float = 0.5) -> dict[str, float]:
    """Accuracy of the masked-loss model and of the dropped-rows model, and the rows each used."""
    # validation rows come from the same task functions: one generator call, the last 4,000 rows fully labelled
    x_all, y_all, y_full = multitask_set(n + 4000, tasks, missing=missing, seed=seed)
    x, y, xv, yv = x_all[:n], y_all[:n], x_all[n:], y_full[n:]
    complete = ~np.isnan(y).any(1)
    masked = fit_and_score(x, y, xv, yv, epochs, seed)
    steps_ratio = n / max(int(complete.sum()), 1)
    dropped = fit_and_score(x[complete], y[complete], xv, yv, min(int(math.ceil(epochs * steps_ratio)), 400), seed)
    return {"masked": masked, "dropped": dropped, "rows_masked": n, "rows_dropped": int(complete.sum())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="4,000 rows, 6 epochs")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        args.rows, args.epochs = 4000, 6
    torch.set_num_threads(args.threads)
    r = compare(args.rows, args.tasks, args.epochs, args.seed)
    print(f"{args.tasks} tasks, 50% of label cells missing: masked loss uses all {r['rows_masked']:,} rows; "
          f"dropping incomplete rows leaves {r['rows_dropped']:,}")
    print(f"mean per-task validation accuracy: masked {r['masked']:.4f}  vs  dropped rows {r['dropped']:.4f}")
    err_m, err_d = 1 - r["masked"], 1 - r["dropped"]
    print(f"error ratio (dropped / masked): {err_d / max(err_m, 1e-9):.2f}x")
    print("verdict: " + ("PASS - the masked loss beats dropping incomplete rows" if r["masked"] > r["dropped"]
                         else "FAIL - dropping rows did as well"))


if __name__ == "__main__":
    main()
