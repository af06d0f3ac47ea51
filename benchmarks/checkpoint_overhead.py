"""Per-step cost of resumable checkpoints and of the NaN/Inf gradient check, as ratios.

Trains the same model on the same data with: no checkpoints and no guard (baseline), the NaN guard
checking loss and gradients every step, and full-state checkpoints every N steps (fsync'd), all
measured in this run. Prints seconds per step and the ratio to the baseline.

    python benchmarks/checkpoint_overhead.py [--steps 300] [--every 50 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from deepdojo import Learner
from deepdojo.data import Data
from deepdojo.models import create_model
from deepdojo.train.guards import NanGuard
from deepdojo.train.resume import TrainingCheckpoints


def make_data(n: int = 8192, features: int = 256, classes: int = 10) -> Data:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, features, generator=g)
    y = (x[:, :classes].argmax(1))
    return Data.from_tensors(x, y, valid_pct=0.0, batch_size=128, seed=0)


def seconds_per_step(steps: int, guard: bool, every: int | None) -> float:
    data = make_data()
    model = create_model("mlp", 10, in_features=256, width=256, depth=3)  # ~0.2M parameters
    run_dir = tempfile.mkdtemp() if every is not None else None
    learn = Learner(model, data, seed=0, progress=False, run_dir=run_dir, default_callbacks=every is not None)
    if every is not None:
        saver = learn.callback(TrainingCheckpoints)
        saver.every_steps, saver.every_seconds = every or None, None
        if not guard:
            learn.remove_callback(NanGuard)
    elif guard:
        learn.add_callbacks([NanGuard()])
    epochs = max(1, steps // len(data.train))
    learn.fit(1, 1e-3)  # warm-up (allocations, first checkpoint)
    t0 = time.perf_counter()
    learn.fit(epochs, 1e-3)
    return (time.perf_counter() - t0) / (epochs * len(data.train))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=192)
    p.add_argument("--every", type=int, nargs="+", default=[100, 20])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    cases = [("baseline (no guard, no checkpoints)", False, None), ("NaN/Inf guard, loss + gradients", True, None)]
    cases += [("run folder, state checkpoints at epoch ends only", False, 0)]
    cases += [(f"run folder, state checkpoints every {n} steps too", False, n) for n in args.every]
    results = {}
    for _ in range(args.repeats):  # interleaved repeats, best of each: less noise from a shared machine
        for name, guard, every in cases:
            results[name] = min(results.get(name, float("inf")), seconds_per_step(args.steps, guard, every))
    base = results[cases[0][0]]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, MLP 256-256x3-10, batch 128, 64 steps/epoch")
    for name, _, _ in cases:
        print(f"{name:55s} {results[name] * 1e3:8.3f} ms/step  ratio {results[name] / base:.3f}")


if __name__ == "__main__":
    main()
