"""builtin:digits, 5 seeds: LR from the finder, one-cycle. Goal: >= 99.0% mean validation accuracy.

    python benchmarks/digits.py [--epochs 15] [--seeds 5] [--arch cnn] [--rule valley] [--threads 1]

``--rule`` picks which LR-finder suggestion to train with (valley is the default rule).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from deepdojo import vision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--arch", default="cnn")
    ap.add_argument("--rule", default="valley", choices=["valley", "steepest", "minimum_div10"])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steady on a busy machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    accs, secs = [], []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        learn = vision.classifier("builtin:digits", arch=args.arch, seed=seed, out=None, progress=False)
        found = learn.lr_find(show=False)
        lr = found.suggestions.get(args.rule, found.suggestion)
        learn.fit_one_cycle(args.epochs, lr)
        secs.append(time.perf_counter() - t0)
        accs.append(learn.history[-1]["accuracy"])
        print(f"seed {seed}: lr {lr:.2e} ({args.rule})  valid accuracy {accs[-1]:.4f}  {secs[-1]:.1f}s", flush=True)
    mean = statistics.mean(accs)
    print(f"\n{args.arch}, {args.epochs} epochs one-cycle, {args.seeds} seeds: mean valid accuracy {mean:.4f} "
          f"(min {min(accs):.4f}, max {max(accs):.4f}); goal >= 0.9900: {'met' if mean >= 0.99 else 'NOT met'}")
    print(f"seconds per run (LR finder + training): mean {statistics.mean(secs):.1f}, total {sum(secs):.1f}")


if __name__ == "__main__":
    main()
