"""Loader throughput: first-pass decoding (checked, process pool) vs a plain Pillow loop, and a
later epoch's cost per sample vs indexing an in-memory tensor directly. Prints ratios.

    PYTHONPATH=src python benchmarks/loader.py [--n 2000] [--side 128]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from deepdojo.data.check_images import decode_many
from deepdojo.data.core import Data


def make_images(root: Path, n: int, side: int) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        field = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(field).resize((side, side), Image.Resampling.BICUBIC)
        rel = f"{i % 2}/{i:05d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        img.save(root / rel, quality=90)
        paths.append(rel)
    return paths


def plain_pillow(root: Path, paths: list[str]) -> list[np.ndarray]:
    out = []
    for rel in paths:
        with Image.open(root / rel) as im:
            out.append(np.asarray(im.convert("RGB")))
    return out


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--side", type=int, default=128)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp())
    paths = make_images(root, args.n, args.side)
    t_plain = timed(lambda: plain_pillow(root, paths))
    t_one = timed(lambda: decode_many(root, paths, None, workers=1))
    t_pool = timed(lambda: decode_many(root, paths, None, workers=2))
    n = args.n
    print(f"first pass, {n} JPEGs {args.side}x{args.side}:")
    print(f"  plain Pillow loop        {n / t_plain:8.0f} images/s")
    print(f"  checked decode, 1 proc   {n / t_one:8.0f} images/s  ({t_plain / t_one:.2f}x plain)")
    print(f"  checked decode, 2 procs  {n / t_pool:8.0f} images/s  ({t_plain / t_pool:.2f}x plain)")

    arrays, _ = decode_many(root, paths, None, workers=2)
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()  # (N, 3, H, W) uint8
    y = torch.arange(n) % 2
    data = Data.from_tensors(x, y, valid_pct=0.2, batch_size=64, augment=None)
    loader, xt = data.train, data.train.x
    mean, std = torch.tensor(data.info["transform"]["mean"]).view(1, -1, 1, 1), torch.tensor(data.info["transform"]["std"]).view(1, -1, 1, 1)

    def direct():  # the baseline: shuffle, index, normalize by hand
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            xb = xt[perm[i : i + 64]].float().div_(255).sub_(mean).div_(std)

    def through_loader():
        for xb, yb in loader:
            pass

    t_direct = t_loader = float("inf")
    for _ in range(5):  # interleaved, best of 5: machine noise hits both alike
        t_direct, t_loader = min(t_direct, timed(direct, 1)), min(t_loader, timed(through_loader, 1))
    per = 1e6 / len(xt)
    print(f"later epochs, {len(xt)} samples per epoch:")
    print(f"  direct tensor indexing   {t_direct * per:8.2f} us/sample")
    print(f"  TensorLoader             {t_loader * per:8.2f} us/sample  ({t_loader / t_direct:.2f}x direct; goal <= 2x)")


if __name__ == "__main__":
    main()
