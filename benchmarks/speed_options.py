"""Step time of the Learner with each speed option, as a ratio to the same Learner without it.

Options: ``bf16`` autocast, ``channels_last`` memory format, ``torch.compile`` (inductor), on a
small ResNet over 32x32 images. The baseline and each option are timed interleaved for ROUNDS
rounds (median step time over the steps after a warm-up that includes compilation), so machine
noise hits all alike. Results depend on the CPU (its bf16 and NHWC kernels); on a GPU pass
``--device cuda`` (not measured in the session that wrote this: no GPU was lent).

    python benchmarks/speed_options.py [--device cpu|cuda] [--steps 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from deepdojo import Learner
from deepdojo.data.loaders import TensorLoader
from deepdojo.models import create_model
from deepdojo.train.callbacks import Callback, CancelFit

OPTIONS = {"baseline": {}, "bf16": {"bf16": True}, "channels_last": {"channels_last": True},
           "compile": {"compile": True}, "channels_last+bf16": {"channels_last": True, "bf16": True}}


class StepTimer(Callback):
    def __init__(self, warmup: int, steps: int):
        self.warmup, self.steps, self.times, self.t = warmup, steps, [], None

    def after_batch(self):
        if self.learn.device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        if self.t is not None and self.learn.step > self.warmup:
            self.times.append(now - self.t)
        self.t = now
        if self.learn.step >= self.warmup + self.steps:
            raise CancelFit()


def step_time(device: str, steps: int, **opts) -> float:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(4096, 3, 32, 32, generator=g), torch.randint(0, 10, (4096,), generator=g)
    torch.manual_seed(0)
    model = create_model("resnet18", 10, in_channels=3, small_input=True, width_mult=0.25)
    timer = StepTimer(warmup=5, steps=steps)
    learn = Learner(model, (TensorLoader(x, y, batch_size=64, shuffle=True), None), device=device, progress=False,
                    default_callbacks=False, callbacks=[timer], **opts)
    learn.fit(100, 1e-3)
    return statistics.median(timer.times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[], help="options to leave out (e.g. compile where no C++ compiler)")
    args = ap.parse_args()
    names = [n for n in OPTIONS if n not in args.skip]
    times = {n: [] for n in names}
    for _ in range(args.rounds):
        for n in names:
            times[n].append(step_time(args.device, args.steps, **OPTIONS[n]))
    base = statistics.median(times["baseline"])
    print(f"{args.device}, torch {torch.__version__}: median step time, ratio to baseline (lower is faster)")
    for n in names:
        t = statistics.median(times[n])
        print(f"  {n:20s} {t * 1e3:8.2f} ms  {t / base:5.2f}x")


if __name__ == "__main__":
    main()
