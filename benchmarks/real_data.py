"""Real-data table: deepdojo's default CLI run vs a tuned scikit-learn baseline vs the best `deepdojo search` trial.

Data that ships without a network, one row per data kind:

- tables: scikit-learn's breast cancer, wine and digits (as a 64-column table), and generated motif
  sequences (3 x 64 raw-unit signals flattened to one CSV row each; benchmarks/sequence_defaults.py),
  each written as a CSV with a ``label`` column (the CLI trains an MLP on standardized columns);
- signals: ``builtin:eeg`` (2 x 128 EEG-like signals; the CLI trains ``cnn1d``);
- images: ``builtin:digits`` (8 x 8; the CLI trains ``cnn``).

Each runs through:

- ``cli 5 ep``: ``deepdojo train DATA --epochs 5`` (the old fixed default)
- ``cli default``: ``deepdojo train DATA`` (epochs chosen from the data size)
- ``sklearn``: the better of logistic regression (C by 5-fold CV on the training rows, standardized)
  and a 300-tree random forest, on the raw values, fit on the same training rows the CLI run used
- ``search best``: ``deepdojo search DATA --trials N`` (tables: lr, epochs, width, depth, dropout of the MLP;
  signals and images: lr, epochs and weight decay of the default model)

All scores are accuracy on the same validation rows (the CLI run's split), measured in this run; the
last column is the default's gap to the searched best (the goal: within a few points).

    python benchmarks/real_data.py [--trials 8] [--only wine eeg] [--quick] [--threads 1]

``--quick``: wine, eeg and digits only, 3 search trials with short epoch choices (a smoke run of the
table; the numbers of a full run are the ones to quote).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Tables: name -> (x, y) written as CSVs."""
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine

    sys.path.insert(0, str(Path(__file__).parent))
    from sequence_defaults import motif_sequences

    xs, ys = motif_sequences(1500, seed=1)
    return {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "digits_table": load_digits(return_X_y=True),
        "motif_sequences": (xs.reshape(len(xs), -1).numpy(), ys.numpy()),
    }


BUILTINS = {"eeg": ("signals", "cnn1d"), "digits": ("images", "cnn")}  # built-in sources: kind, the CLI's model


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    cols = [f"f{i}" for i in range(x.shape[1])]
    lines = [",".join(cols + ["label"])] + [",".join(f"{v:.6g}" for v in row) + f",{int(t)}" for row, t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")


def cli_accuracy(source: str, out: Path, name: str, extra: list[str]) -> tuple[float, Path]:
    from deepdojo.cli.main import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", source, "--out", str(out), "--name", name, "--json", *extra])
    assert code == 0, f"deepdojo train failed on {source}"
    run = out / name
    summary = json.loads((run / "summary.json").read_text())
    return float((summary.get("final") or {})["accuracy"]), run


def sklearn_accuracy(x, y, train_idx, valid_idx) -> float:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    logreg = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
                          {"logisticregression__C": [0.01, 0.1, 1, 10, 100]}, cv=5)
    forest = RandomForestClassifier(n_estimators=300, random_state=0, n_jobs=1)
    scores = []
    for model in (logreg, forest):
        model.fit(x[train_idx], y[train_idx])
        scores.append(float((model.predict(x[valid_idx]) == y[valid_idx]).mean()))
    return max(scores)


def search_accuracy(source: str, out: Path, trials: int, arch: str, quick: bool) -> float:
    from deepdojo import search

    epochs = "choice(5,15)" if quick else "choice(5,20,60)"
    if arch == "mlp":
        params = ["lr=log(3e-4,3e-2)", f"epochs={epochs}", "model_kwargs.width=choice(64,256)",
                  "model_kwargs.depth=choice(1,2,3)", "model_kwargs.dropout=uniform(0,0.4)"]
    else:
        params = ["lr=log(3e-4,3e-2)", f"epochs={'choice(5,15)' if quick else 'choice(5,15,30)'}",
                  "weight_decay=log(1e-4,1e-1)"]
    with contextlib.redirect_stdout(io.StringIO()):
        result = search.run(source, trials, None, params=params, out=str(out), quiet=True, arch=arch, seed=0)
    return float(result.best["value"])


def flat_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A built-in's raw values, one row per example, for scikit-learn."""
    from deepdojo.data.builtin import builtin_arrays

    x, y = builtin_arrays(name, seed=0)
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1), np.asarray(y)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steady on a busy machine)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from deepdojo.evaluate.run_eval import load_run_data

    only = set(args.only or (["wine", "eeg", "digits"] if args.quick else []))
    trials = 3 if args.quick else args.trials
    jobs = [(name, "table", "mlp", xy) for name, xy in datasets().items()]
    jobs += [(name, kind, arch, None) for name, (kind, arch) in BUILTINS.items()]
    rows = []
    for name, kind, arch, xy in jobs:
        if only and name not in only:
            continue
        tmp = Path(tempfile.mkdtemp(prefix=f"realdata-{name}-"))
        if xy is not None:
            x, y = np.asarray(xy[0], dtype=np.float64), np.asarray(xy[1])
            source = str(tmp / f"{name}.csv")
            write_csv(Path(source), x, y)
        else:
            source, (x, y) = f"builtin:{name}", flat_arrays(name)
        t0 = time.perf_counter()
        old, _ = cli_accuracy(source, tmp / "runs", "five", ["--epochs", "5"])
        t_old = time.perf_counter() - t0
        t0 = time.perf_counter()
        new, run = cli_accuracy(source, tmp / "runs", "default", [])
        t_new = time.perf_counter() - t0
        splits = load_run_data(run).info["splits"]
        sk = sklearn_accuracy(x, y, splits["train"], splits["valid"])
        best = search_accuracy(source, tmp / "searches", trials, arch, args.quick)
        epochs = json.loads((run / "config.json").read_text())["epochs"]
        rows.append((name, kind, len(y), old, new, epochs, t_new / t_old, sk, best))
        print(f"{name}: done", flush=True)
    print(f"\n{'data':16s} {'kind':8s} {'rows':>5s} {'cli 5 ep':>8s} {'cli default':>11s} {'(epochs)':>8s} "
          f"{'time x':>6s} {'sklearn':>8s} {'search best':>11s} {'default - best':>14s}")
    for name, kind, n, old, new, epochs, tx, sk, best in rows:
        print(f"{name:16s} {kind:8s} {n:5d} {old:8.3f} {new:11.3f} {epochs:8d} {tx:6.1f} {sk:8.3f} {best:11.3f} "
              f"{new - best:+14.3f}")
    worst = min(rows, key=lambda r: r[4] - r[8]) if rows else None
    if worst is not None:
        gap = worst[4] - worst[8]
        verdict = "within" if gap >= -0.03 else "NOT within"
        print(f"largest gap of the default to the searched best: {gap:+.3f} ({worst[0]}): {verdict} 3 points")


if __name__ == "__main__":
    main()
