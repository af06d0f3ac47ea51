"""Real-data table: deepdojo's default CLI run vs a tuned scikit-learn baseline vs the best `deepdojo search` trial.

Data that ships without a network: scikit-learn's breast cancer, wine and
digits (as a 64-column table) sets, and generated motif sequences (3 x 96
raw-unit signals flattened to one CSV row each; benchmarks/sequence_defaults.py).
Each is written as a CSV with a ``label`` column and run through:

- ``cli 5 ep``: ``deepdojo train DATA --epochs 5`` (the old fixed default)
- ``cli default``: ``deepdojo train DATA`` (epochs chosen from the data size)
- ``sklearn``: the better of logistic regression (C by 5-fold CV on the training rows, standardized)
  and a 300-tree random forest, fit on the same training rows the CLI run used
- ``search best``: ``deepdojo search DATA --trials N`` over lr, epochs, width, depth, dropout

All scores are accuracy on the same validation rows (the CLI run's split), measured in this run.

    python benchmarks/real_data.py [--trials 8] [--only wine]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np


def datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine

    sys_path = Path(__file__).parent
    import sys

    sys.path.insert(0, str(sys_path))
    from sequence_defaults import motif_sequences

    xs, ys = motif_sequences(1500, seed=1)
    return {
        "breast_cancer": load_breast_cancer(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "digits_table": load_digits(return_X_y=True),
        "motif_sequences": (xs.reshape(len(xs), -1).numpy(), ys.numpy()),
    }


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    cols = [f"f{i}" for i in range(x.shape[1])]
    lines = [",".join(cols + ["label"])] + [",".join(f"{v:.6g}" for v in row) + f",{int(t)}" for row, t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")


def cli_accuracy(csv: Path, out: Path, name: str, extra: list[str]) -> tuple[float, Path]:
    from deepdojo.cli.main import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["train", str(csv), "--out", str(out), "--name", name, "--json", *extra])
    assert code == 0, f"deepdojo train failed on {csv}"
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


def search_accuracy(csv: Path, out: Path, trials: int) -> float:
    from deepdojo import search

    params = ["lr=log(3e-4,3e-2)", "epochs=choice(5,20,60)", "model_kwargs.width=choice(64,256)",
              "model_kwargs.depth=choice(1,2,3)", "model_kwargs.dropout=uniform(0,0.4)"]
    with contextlib.redirect_stdout(io.StringIO()):
        result = search.run(str(csv), trials, None, params=params, out=str(out), quiet=True, arch="mlp", seed=0)
    return float(result.best["value"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    from deepdojo.evaluate.run_eval import load_run_data

    rows = []
    for name, (x, y) in datasets().items():
        if args.only and name not in args.only:
            continue
        tmp = Path(tempfile.mkdtemp(prefix=f"realdata-{name}-"))
        csv = tmp / f"{name}.csv"
        write_csv(csv, np.asarray(x, dtype=np.float64), np.asarray(y))
        old, _ = cli_accuracy(csv, tmp / "runs", "five", ["--epochs", "5"])
        new, run = cli_accuracy(csv, tmp / "runs", "default", [])
        splits = load_run_data(run).info["splits"]
        sk = sklearn_accuracy(np.asarray(x), np.asarray(y), splits["train"], splits["valid"])
        best = search_accuracy(csv, tmp / "searches", args.trials)
        epochs = json.loads((run / "config.json").read_text())["epochs"]
        rows.append((name, len(y), old, new, epochs, sk, best))
        print(f"{name}: done", flush=True)
    print(f"\n{'data':16s} {'rows':>5s} {'cli 5 ep':>8s} {'cli default':>11s} {'(epochs)':>8s} {'sklearn':>8s} "
          f"{'search best':>11s} {'default - best':>14s}")
    for name, n, old, new, epochs, sk, best in rows:
        print(f"{name:16s} {n:5d} {old:8.3f} {new:11.3f} {epochs:8d} {sk:8.3f} {best:11.3f} {new - best:+14.3f}")


if __name__ == "__main__":
    main()
