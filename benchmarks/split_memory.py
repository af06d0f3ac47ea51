"""Memory held by a dataset's splits: one shared tensor indexed per split (now) vs one copy per split
(``x[idx]``, as before), and the per-epoch cost of indexing through the split's rows. Prints ratios.

    PYTHONPATH=src python benchmarks/split_memory.py [--n 20000] [--side 32]
"""

from __future__ import annotations

import argparse
import time

import torch

from deepdojo.data.core import Data
from deepdojo.data.loaders import TensorLoader


def held_bytes(*tensors: torch.Tensor) -> int:
    """Bytes of the distinct storages behind ``tensors``."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


def epoch_seconds(loader: TensorLoader, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _xb, _yb in loader:
            pass
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--side", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    x = torch.randint(0, 256, (args.n, 3, args.side, args.side), dtype=torch.uint8)
    y = torch.arange(args.n) % 10
    source = held_bytes(x, y)
    data = Data.from_tensors(x, y, valid_pct=0.2, batch_size=256, augment=None)
    shared = held_bytes(x, y, *(t for dl in (data.train, data.valid) for t in (dl.source_x, dl.source_y, dl.index)))
    tr, va = (torch.from_numpy(data.info["splits"][k]) for k in ("train", "valid"))
    copied = held_bytes(x, y, x[tr], y[tr], x[va], y[va])  # the source plus one copy per split
    print(f"dataset {tuple(x.shape)} uint8: {source / 2**20:.1f} MiB")
    print(f"held with splits as index arrays: {shared / 2**20:.1f} MiB ({shared / source:.2f}x the dataset)")
    print(f"held with splits as copies:       {copied / 2**20:.1f} MiB ({copied / source:.2f}x the dataset)")
    print(f"memory ratio index/copy: {shared / copied:.2f}")
    plain = TensorLoader(x[tr], y[tr], batch_size=256, shuffle=True)
    indexed = TensorLoader(x, y, batch_size=256, shuffle=True, index=tr)
    t_plain, t_indexed = epoch_seconds(plain), epoch_seconds(indexed)
    print(f"epoch over train (no transform): copied split {t_plain * 1e3:.1f} ms, indexed {t_indexed * 1e3:.1f} ms "
          f"(ratio {t_indexed / t_plain:.2f})")


if __name__ == "__main__":
    main()
