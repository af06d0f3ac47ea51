"""builtin:shapes_detection: the YOLO-style detector to mAP@0.5 >= 0.90 on validation in <= 5 minutes on the CPU.

Also trains, for the same epochs, a linear detector (the same grid head as one strided linear map of the
pixels: no hidden layer) to show the data needs depth. Prints the figures and the seconds taken
(wall time on a shared machine is noisy: the thread count and the machine's load are printed too).

    python benchmarks/detection_shapes.py [--epochs 60] [--n 2000] [--threads 2] [--lr 1e-2] [--augment scene]

``--augment`` chooses the training augmentation (``scene``: flip + zoom + shift with the boxes moved along,
the default of ``builtin:shapes_detection``; ``flip``: mirror only; ``none``); ``--compare-flip`` also trains
with mirror-only augmentation in the same run and prints the mAP difference.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from deepdojo.models import create_model
from deepdojo.tasks import get_task
from deepdojo.train.callbacks import Callback
from deepdojo.train.learner import Learner


class PrintEpoch(Callback):
    def after_epoch(self):
        h = self.learn.history[-1]
        shown = {k: round(v, 4) for k, v in h.items() if isinstance(v, float) and k != "lr"}
        print(f"  epoch {h['epoch']}: {shown}", flush=True)


def train(arch_or_model, data, epochs, lr, seed):
    task = get_task("detection")
    kw = task.model_kwargs(data)
    torch.manual_seed(seed)
    if arch_or_model == "yolo":
        model = create_model("yolo", len(data.classes), in_channels=3, **kw)
    else:  # linear: one 8x8-strided conv from pixels straight to the head's outputs
        model = nn.Conv2d(3, kw["num_anchors"] * (5 + len(data.classes)), 8, stride=8)
    learn = Learner(model, data, task=task, lr=lr, seed=seed, progress=False, callbacks=[PrintEpoch()])
    t0 = time.perf_counter()
    learn.fit_one_cycle(epochs, lr)
    secs = time.perf_counter() - t0
    return learn.history[-1], secs, task


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--n", type=int, default=2000, help="generated images (80%% train)")
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-linear", action="store_true")
    ap.add_argument("--augment", default="scene", choices=["scene", "flip", "none"])
    ap.add_argument("--compare-flip", action="store_true", help="also train with mirror-only augmentation")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    from deepdojo.data.scenes import load_scenes

    data = load_scenes("shapes_detection", n=args.n, seed=args.seed, batch_size=32,
                       augment="auto" if args.augment == "scene" else args.augment)
    gen = time.perf_counter() - t0
    last, secs, task = train("yolo", data, args.epochs, args.lr, args.seed)
    print(f"yolo: {args.epochs} epochs on {data.info['sizes']['train']} images: valid mAP@0.5 {last['map_50']:.4f}, "
          f"mAP@[.5:.95] {last['map_50_95']:.4f} in {secs:.0f} s training (+{gen:.0f} s generating), "
          f"{args.threads} threads, load average {os.getloadavg()[0]:.1f}; anchors {[[round(v, 1) for v in a] for a in task.anchors]}")
    print(f"goal mAP@0.5 >= 0.90 in <= 300 s: {'met' if last['map_50'] >= 0.9 and secs + gen <= 300 else 'NOT met'}")
    if getattr(data.train.transform, "seen", 0):
        t = data.train.transform
        print(f"augmentation dropped {t.dropped} of {t.seen} training boxes ({t.dropped / t.seen:.1%}) pushed out of the picture")
    if args.compare_flip:
        flip_data = load_scenes("shapes_detection", n=args.n, seed=args.seed, batch_size=32, augment="flip")
        fl, fsecs, _ = train("yolo", flip_data, args.epochs, args.lr, args.seed)
        print(f"mirror-only augmentation: valid mAP@0.5 {fl['map_50']:.4f} ({fsecs:.0f} s); "
              f"{args.augment} - flip = {last['map_50'] - fl['map_50']:+.4f}; time ratio {secs / fsecs:.2f}")
    if not args.no_linear:
        lin, lsecs, _ = train("linear", data, args.epochs, args.lr, args.seed)
        print(f"linear detector: valid mAP@0.5 {lin['map_50']:.4f} ({lsecs:.0f} s); yolo - linear = "
              f"{last['map_50'] - lin['map_50']:.4f}")


if __name__ == "__main__":
    main()
