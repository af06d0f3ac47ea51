"""Box-aware batch augmentation: our SceneAugment (one affine grid_sample) against kornia, when installed.

Prints, measured in the same run: the time per batch of mirror-only augmentation (the old default, the
baseline), of SceneAugment (flip + zoom + shift, boxes moved, clipped, dropped and counted) and of
kornia's AugmentationSequential(RandomHorizontalFlip, RandomAffine(scale, translate), data_keys
["input", "bbox_xyxy"]) as ratios; and a correctness check for each: one painted rectangle per image,
warped, and the largest distance (pixels) between the transformed box and the bounding box of the
transformed pixels, over the boxes that stay wholly inside the picture.

    python benchmarks/box_augment.py [--quick] [--threads 2] [--batch 32] [--size 64]

kornia is optional (pip install kornia); without it only our two are measured.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from deepdojo.data.box_augment import SceneAugment
from deepdojo.data.scenes import FlipBatchTransform


def painted(n: int, size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = torch.zeros(n, 3, size, size, dtype=torch.uint8)
    boxes = torch.zeros(n, 1, 5)
    for i in range(n):
        x0, y0 = rng.integers(size // 4, size // 2, 2)
        w, h = rng.integers(4, size // 4, 2)
        x[i, :, y0:y0 + h, x0:x0 + w] = 255
        boxes[i, 0] = torch.tensor([0, x0, y0, x0 + w, y0 + h], dtype=torch.float32)
    return x, boxes


def worst_error(images: torch.Tensor, boxes: torch.Tensor, size: int) -> float:
    """Max |transformed box - bounding box of the transformed pixels| over boxes wholly inside (pixels)."""
    errs = []
    for img, b in zip(images, boxes):
        if not ((b >= 0).all() and (b[[0, 2]] <= size).all() and (b[[1, 3]] <= size).all()):
            continue
        ys, xs = np.nonzero(img.numpy() > 0.5)
        if len(xs):
            errs.append(np.abs(b.numpy() - [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).max())
    return float(max(errs)) if errs else float("nan")


def timed(fn, reps: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reps = 10 if args.quick else 100
    x, boxes = painted(args.batch, args.size)
    ours = SceneAugment([0.0] * 3, [1.0] * 3)
    flip = FlipBatchTransform([0.0] * 3, [1.0] * 3)
    gen = torch.Generator().manual_seed(0)
    t_flip = timed(lambda: flip(x, boxes, gen), reps)
    t_ours = timed(lambda: ours(x, boxes, gen), reps)
    img, moved = ours(x, boxes, torch.Generator().manual_seed(1))
    err_ours = worst_error(img[:, 0], moved[:, 0, 1:], args.size)
    print(f"batch {args.batch}x3x{args.size}x{args.size}, {args.threads} threads, {reps} reps")
    print(f"mirror only (baseline): {t_flip * 1e3:.2f} ms/batch")
    print(f"SceneAugment: {t_ours * 1e3:.2f} ms/batch = {t_ours / t_flip:.2f}x the baseline; "
          f"box vs pixels worst error {err_ours:.2f} px; dropped {ours.dropped} of {ours.seen} boxes")
    try:
        import kornia.augmentation as K
    except ImportError:
        print("kornia: not installed (pip install kornia) - not compared")
        return
    kaug = K.AugmentationSequential(K.RandomHorizontalFlip(p=0.5),
                                    K.RandomAffine(degrees=0.0, translate=(0.1, 0.1), scale=(0.75, 1.33), p=1.0),
                                    data_keys=["input", "bbox_xyxy"])
    xf = x.float() / 255

    def run_kornia():
        return kaug(xf, boxes[..., 1:])

    t_k = timed(run_kornia, reps)
    torch.manual_seed(1)
    kimg, kbox = run_kornia()
    err_k = worst_error(kimg[:, 0], kbox[:, 0], args.size)
    print(f"kornia: {t_k * 1e3:.2f} ms/batch = {t_k / t_flip:.2f}x the baseline = {t_k / t_ours:.2f}x SceneAugment; "
          f"box vs pixels worst error {err_k:.2f} px (no clipping or dropping of boxes: done by the caller)")
    print(f"verdict: {'SceneAugment' if t_ours <= t_k and err_ours <= err_k + 1e-6 else 'kornia'} "
          f"is faster{' and as exact' if err_ours <= err_k + 1e-6 else ''}")


if __name__ == "__main__":
    main()
