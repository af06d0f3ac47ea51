"""builtin:shapes_segmentation: U-Net to mean Dice >= 0.95 on validation in <= 5 minutes on the CPU.

Trains the FCN-8s-style baseline (``--arch fcn``: score maps of three resolutions summed, no learnt
decoder) for the same epochs and prints U-Net's lead over it. Also trains a per-pixel linear model (a 1x1 convolution on the pixels) for the same epochs: the shapes
have random colours, so a pixel's class is in its neighbourhood, not its colour. Prints mean Dice over
the classes present (background included, what the metric reports) and over the three shapes alone,
and the seconds taken (wall time on a shared machine is noisy: threads and load average printed too).

    python benchmarks/segmentation_shapes.py [--epochs 20] [--n 1500] [--threads 2] [--lr 1e-2] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from deepdojo.data.scenes import load_scenes
from deepdojo.metrics.dense import DicePerClass
from deepdojo.models import create_model
from deepdojo.train.callbacks import Callback
from deepdojo.train.learner import Learner


class PrintEpoch(Callback):
    def after_epoch(self):
        h = self.learn.history[-1]
        shown = {k: round(v, 4) for k, v in h.items() if isinstance(v, float) and k != "lr"}
        print(f"  epoch {h['epoch']}: {shown}", flush=True)


def train(model, data, epochs, lr, seed):
    learn = Learner(model, data, task="segmentation", lr=lr, seed=seed, progress=False, callbacks=[PrintEpoch()],
                    metrics=["dice", "iou", DicePerClass()])
    t0 = time.perf_counter()
    learn.fit_one_cycle(epochs, lr)
    return learn.history[-1], time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="200 images, 2 epochs: proves the script runs, no verdict")
    args = ap.parse_args()
    if args.quick:
        args.n, args.epochs = 200, 2
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    data = load_scenes("shapes_segmentation", n=args.n, seed=args.seed, batch_size=32)
    gen = time.perf_counter() - t0
    torch.manual_seed(args.seed)
    last, secs = train(create_model("unet", 4, in_channels=3, width=args.width, depth=3), data, args.epochs, args.lr,
                       args.seed)
    shapes = last["dice_per_class"][1:]
    print(f"unet: {args.epochs} epochs on {data.info['sizes']['train']} images: valid mean Dice {last['dice']:.4f} "
          f"(shapes only {sum(shapes) / 3:.4f}; per class {[round(v, 4) for v in last['dice_per_class']]}), IoU "
          f"{last['iou']:.4f} in {secs:.0f} s training (+{gen:.0f} s generating), {args.threads} threads, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"goal mean Dice >= 0.95 in <= 300 s: {'met' if last['dice'] >= 0.95 and secs + gen <= 300 else 'NOT met'}")
    torch.manual_seed(args.seed)
    fcn, fsecs = train(create_model("fcn", 4, in_channels=3, width=args.width, depth=5), data, args.epochs, args.lr,
                       args.seed)
    print(f"fcn (FCN-8s: 5 stages, finest scores at stride 8): valid mean Dice {fcn['dice']:.4f} (shapes only "
          f"{sum(fcn['dice_per_class'][1:]) / 3:.4f}), IoU {fcn['iou']:.4f} in {fsecs:.0f} s; "
          f"unet - fcn = {last['dice'] - fcn['dice']:.4f} Dice; time fcn / unet = {fsecs / secs:.2f}")
    torch.manual_seed(args.seed)
    lin, lsecs = train(nn.Conv2d(3, 4, 1), data, args.epochs, args.lr, args.seed)
    print(f"per-pixel linear model: valid mean Dice {lin['dice']:.4f} (shapes only "
          f"{sum(lin['dice_per_class'][1:]) / 3:.4f}) in {lsecs:.0f} s; unet - linear = {last['dice'] - lin['dice']:.4f}")


if __name__ == "__main__":
    main()
