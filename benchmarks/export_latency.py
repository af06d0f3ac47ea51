"""Per-example inference latency: eager PyTorch vs the exported program vs onnxruntime, in one run.

A small CNN and a ResNet (deepdojo's registry, random weights) in eval mode; for each batch size
the three run interleaved for ROUNDS rounds (so machine noise hits all alike) and the median
time per example is printed with its ratio to eager. Outputs are checked to agree to 1e-5 first.

    python benchmarks/export_latency.py [--rounds 5] [--iters 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from deepdojo.export import export_module, load_exported
from deepdojo.models import create_model

MODELS = {"cnn": ({"in_channels": 3, "widths": (32, 64)}, (3, 32, 32)),
          "resnet18": ({"in_channels": 3, "small_input": True, "width_mult": 0.5}, (3, 32, 32))}


def per_example(fn, x: torch.Tensor, iters: int) -> float:
    with torch.no_grad():
        fn(x)  # warm-up (allocations, onnxruntime's first run)
        t0 = time.perf_counter()
        for _ in range(iters):
            fn(x)
    return (time.perf_counter() - t0) / iters / len(x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    args = ap.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median microseconds per example")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kw, shape) in MODELS.items():
            model = create_model(name, 10, **kw).eval()
            x8 = torch.randn(8, *shape)
            runners = {"eager": model,
                       "exported": load_exported(export_module(model, x8, "exported-program", Path(tmp, f"{name}.pt2"))),
                       "onnxruntime": load_exported(export_module(model, x8, "onnx", Path(tmp, f"{name}.onnx")))}
            for bs in (1, 32):
                x = torch.randn(bs, *shape)
                with torch.no_grad():
                    want = model(x)
                    for k, fn in runners.items():
                        torch.testing.assert_close(fn(x), want, rtol=1e-5, atol=1e-5, msg=lambda m: f"{k}: {m}")
                times = {k: [] for k in runners}
                for _ in range(args.rounds):
                    for k, fn in runners.items():
                        times[k].append(per_example(fn, x, args.iters))
                med = {k: statistics.median(v) for k, v in times.items()}
                cells = "  ".join(f"{k} {med[k] * 1e6:8.1f}us ({med[k] / med['eager']:.2f}x)" for k in runners)
                print(f"{name:9s} batch {bs:3d}:  {cells}")


if __name__ == "__main__":
    main()
