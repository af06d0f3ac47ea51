"""GAN on builtin:digits: Frechet distance and class coverage after N epochs vs an untrained generator and real-vs-real.

Features: the logits of a small CNN classifier trained on the same real data in this run (no download).
Prints FD for real-vs-real (the floor: two disjoint real sets), the untrained generator and the trained
one, with ratios, and the class coverage of N generated samples.

    python benchmarks/gan_digits.py            # full: 30 GAN epochs
    python benchmarks/gan_digits.py --quick    # 3 epochs, to prove it runs
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import deepdojo
from deepdojo.metrics.frechet import class_coverage, frechet_distance


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=500, help="generated samples scored")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    epochs = args.epochs or (3 if args.quick else 30)

    clf = deepdojo.learner("builtin:digits", task="classification", progress=False)
    clf.fit(5 if args.quick else 15, 2e-3)
    clf.model.eval()

    def feats(x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return clf.model(x).float().numpy()  # (N, 10) logits

    train_x = torch.cat([xb for xb, _ in clf.data.train])
    valid_x = torch.cat([xb for xb, _ in clf.data.valid])
    real_t, real_v = feats(train_x), feats(valid_x)
    floor = frechet_distance(real_v, real_t)

    gan = deepdojo.learner("builtin:digits", task="gan", progress=False)
    gen = torch.Generator().manual_seed(0)
    untrained = feats(gan.model.sample(args.n, generator=gen))
    gan.fit(epochs, gan.task.default_lr)  # 2e-4, Adam betas (0.5, 0.999): the defaults `--task gan` trains with
    trained = feats(gan.model.sample(args.n, generator=torch.Generator().manual_seed(0)))

    fd_u, fd_t = frechet_distance(untrained, real_t), frechet_distance(trained, real_t)
    cov_u = class_coverage(untrained.argmax(1), 10)
    cov_t = class_coverage(trained.argmax(1), 10)
    print(f"FD real-vs-real (floor)     {floor:10.2f}")
    print(f"FD untrained generator      {fd_u:10.2f}   ({fd_u / max(floor, 1e-9):.1f}x floor)")
    print(f"FD after {epochs:3d} epochs         {fd_t:10.2f}   ({fd_t / max(floor, 1e-9):.1f}x floor, "
          f"{fd_u / max(fd_t, 1e-9):.1f}x lower than untrained)")
    print(f"class coverage untrained {cov_u['coverage']:.2f}, trained {cov_t['coverage']:.2f} "
          f"(max share {max(cov_t['shares']):.2f})")
    print("verdict:", "PASS" if fd_t < fd_u and cov_t["coverage"] >= cov_u["coverage"] else "FAIL",
          "(trained FD below untrained, coverage not lower)")


if __name__ == "__main__":
    main()
