"""Sliding window: every crop classified one by one vs the fully convolutional pass, same maps, measured speed-up.

Both run in this process on the same images and the same weights (the
curriculum's 14x14 window classifier: conv 5x5 -> max-pool -> FC 400 -> FC
400 -> K); crops are classified in batches (the fair form of the naive
loop: the speed-up measured is the shared overlap, not Python overhead).
Prints the largest difference between the two score maps and the ratio.

    python benchmarks/sliding_window.py [--size 128] [--images 8] [--threads 2] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from deepdojo.models.sliding_window import WindowCNN, conv_scores, crop_scores, to_fully_convolutional


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128, help="image side in pixels")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--window", type=int, default=14)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="64x64 images, 2 of them, 1 repeat")
    args = ap.parse_args()
    if args.quick:
        args.size, args.images, args.repeats = 64, 2, 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = WindowCNN(num_classes=4, in_channels=3, window=args.window, width=16, hidden=400).eval()
    conv = to_fully_convolutional(model)
    images = torch.randn(args.images, 3, args.size, args.size)
    a, b = crop_scores(model, images, logits=True), conv_scores(conv, images, logits=True)
    diff = float((a - b).abs().max())
    n = a.shape[-1] * a.shape[-2]
    with torch.no_grad():
        t_crops = best_of(lambda: crop_scores(model, images), args.repeats)
        t_conv = best_of(lambda: conv_scores(conv, images), args.repeats)
    print(f"{args.images} images of {args.size}x{args.size}, {n} windows of {args.window}x{args.window} each at stride "
          f"{model.stride}; {args.threads} threads, load average {os.getloadavg()[0]:.1f}")
    print(f"every crop cut out and classified: {t_crops * 1e3:.1f} ms; fully convolutional: {t_conv * 1e3:.1f} ms; "
          f"speed-up {t_crops / t_conv:.1f}x; max |difference| of the score maps {diff:.2e}")
    print(f"same outputs (<= 1e-5): {'yes' if diff <= 1e-5 else 'NO'}; faster: {'yes' if t_conv < t_crops else 'NO'}")


if __name__ == "__main__":
    main()
