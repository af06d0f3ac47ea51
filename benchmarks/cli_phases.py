"""Where ``deepdojo train builtin:digits`` spends its time, against a plain PyTorch script doing the same.

Each arm runs in a fresh process (imports count) and reports three phases:

- before epoch 1: process start -> the first training epoch begins (imports, data, checks, model,
  and for deepdojo the LR finder);
- epochs: the training epochs;
- after the last epoch: evaluation and whatever is written (deepdojo: baselines, diagnosis,
  interpretation, figures, report; the plain script: one accuracy on the validation split).

The plain script is what a careful user writes by hand: scikit-learn's digits scaled to [0, 1], an
80/20 split, a small CNN, AdamW with torch's OneCycleLR at a fixed LR, batch 64, the same number of
epochs as deepdojo's default for this data. Prints each arm's phases and the ratios, best of
``--repeats`` runs each (interleaved: noise hits both alike).

    PYTHONPATH=src python benchmarks/cli_phases.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

T0 = time.perf_counter()  # the child's clock starts before any import below it


def child_deepdojo(out: str) -> dict:
    import torch  # noqa: F401  (counted in "before epoch 1", as in the CLI)

    from deepdojo import run
    from deepdojo.config import TrainConfig
    from deepdojo.train.callbacks import Callback

    stamps: dict[str, float] = {}

    class Stamp(Callback):
        def before_epoch(self):
            if not self.in_lr_find:
                stamps.setdefault("first_epoch", time.perf_counter())

        def after_fit(self):
            if not self.in_lr_find:
                stamps["fit_end"] = time.perf_counter()

    cfg = TrainConfig(data="builtin:digits", out=out, seed=0)
    learn = run.build(cfg=cfg, quiet=True, callbacks=[Stamp()])
    run.fit(learn, cfg, quiet=True)
    run.finish(learn)
    end = time.perf_counter()
    return {"before": stamps["first_epoch"] - T0, "epochs": stamps["fit_end"] - stamps["first_epoch"],
            "after": end - stamps["fit_end"], "epochs_n": len(learn.history),
            "accuracy": learn.history[-1]["accuracy"]}


def child_plain(epochs: int) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from torch import nn

    torch.manual_seed(0)
    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(y)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    cut = int(0.8 * len(x))
    xt, yt, xv, yv = x[perm[:cut]], y[perm[:cut]], x[perm[cut:]], y[perm[cut:]]
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                          nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    steps = epochs * ((len(xt) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    first = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    fit_end = time.perf_counter()
    model.eval()
    with torch.no_grad():
        acc = (model(xv).argmax(1) == yv).float().mean().item()
    end = time.perf_counter()
    return {"before": first - T0, "epochs": fit_end - first, "after": end - fit_end, "epochs_n": epochs,
            "accuracy": acc}


def run_child(args: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, __file__, "--child", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        kind, arg = args.child
        print(json.dumps(child_deepdojo(arg) if kind == "deepdojo" else child_plain(int(arg))))
        return
    import tempfile

    best: dict[str, dict] = {}
    epochs = None
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            d = run_child(["deepdojo", out], args.threads)
        epochs = d["epochs_n"]
        p = run_child(["plain", str(epochs)], args.threads)
        for name, r in (("deepdojo", d), ("plain", p)):
            for k in ("before", "epochs", "after"):
                best.setdefault(name, {})[k] = min(best.get(name, {}).get(k, float("inf")), r[k])
            best[name]["accuracy"] = r["accuracy"]
    print(f"builtin:digits, {epochs} epochs, {args.threads} thread(s), best of {args.repeats}, "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, b in best.items():
        total = b["before"] + b["epochs"] + b["after"]
        print(f"  {name:9s} before epoch 1 {b['before']:.2f}s  epochs {b['epochs']:.2f}s  after the last "
              f"{b['after']:.2f}s  total {total:.2f}s  valid accuracy {b['accuracy']:.4f}")
    d, p = best["deepdojo"], best["plain"]
    print(f"  ratios deepdojo/plain: before epoch 1 {d['before'] / p['before']:.2f}, epochs "
          f"{d['epochs'] / p['epochs']:.2f}, after the last {d['after'] / max(p['after'], 1e-3):.1f} "
          f"(deepdojo writes baselines, diagnosis, interpretation, figures and the report; the plain "
          f"script prints one accuracy), overhead outside epochs {d['before'] + d['after'] - p['before'] - p['after']:.2f}s")


if __name__ == "__main__":
    main()
