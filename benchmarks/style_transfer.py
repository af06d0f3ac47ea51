"""Neural style transfer: L-BFGS against Adam on the same objective, as ratios measured in this run.

Both optimizers start from the content image with the same features and weights and run STEPS
iterations. Printed per optimizer: seconds per iteration and per loss evaluation (an L-BFGS
iteration may evaluate more than once in its line search), final weighted losses; then the
ratios (L-BFGS / Adam) and when L-BFGS first reached Adam's final loss (evaluations, seconds).

    python benchmarks/style_transfer.py --quick                      # ~10 s: 64 px, narrow random VGG
    python benchmarks/style_transfer.py --size 256 --steps 300 --threads 2   # the full comparison
    python benchmarks/style_transfer.py --content a.jpg --style b.jpg --features vgg16-imagenet

Without --content/--style a generated colour ramp and a stripe/noise texture are used.
"""

from __future__ import annotations

import argparse
import time

import torch

from deepdojo.models.style_features import FeatureTap
from deepdojo.stylize import load_image, resolve_features
from deepdojo.tasks.style_transfer import StyleObjective, StyleWeights, optimize_image


def generated(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(1, 3, size, size)`` content (smooth colour ramp with a disc) and style (stripes and noise)."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    disc = (((xx - 0.5) ** 2 + (yy - 0.5) ** 2) < 0.08).float()
    content = torch.stack([xx, yy * (1 - disc) + disc, 1 - xx])[None]
    gen = torch.Generator().manual_seed(0)
    style = torch.stack([(torch.sin(xx * 60 + yy * 20) > 0).float(), (torch.sin(yy * 45) > 0).float(),
                         torch.rand(size, size, generator=gen)])[None]
    return content, style


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="64 px, a quarter-width random VGG, 30 steps")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--features", default="random-vgg16", help="as deepdojo stylize --features (default random-vgg16)")
    ap.add_argument("--content")
    ap.add_argument("--style")
    args = ap.parse_args()
    size, steps, width = (64, 30, 0.25) if args.quick else (args.size, args.steps, 1.0)
    torch.set_num_threads(args.threads)
    if args.content and args.style:
        content, style = load_image(args.content, size), load_image(args.style, size)
    else:
        content, style = generated(size)
    feats = resolve_features(args.features, width_mult=width)
    tap = FeatureTap(feats.net, [feats.content_layer, *feats.style_layers])
    objective = StyleObjective(tap, feats.content_layer, feats.style_layers, content, style, feats.normalize,
                               StyleWeights())
    print(f"features: {feats.source}; {size} px; {steps} iterations each; {args.threads} thread(s)")
    optimize_image(objective, content, steps=2, optimizer="adam")  # warm-up: allocations, first backward
    runs = {}
    for name in ("lbfgs", "adam"):
        t0 = time.perf_counter()
        _, history = optimize_image(objective, content, steps=steps, optimizer=name)
        seconds = time.perf_counter() - t0
        runs[name] = {"seconds": seconds, "evals": len(history), "history": history,
                      "per_iter": seconds / steps, "per_eval": seconds / len(history), **history[-1]}
        r = runs[name]
        print(f"{name:6s} {r['per_iter']:.4f} s/iteration  {r['per_eval']:.4f} s/evaluation  ({r['evals']} evals, "
              f"{seconds:.1f} s)  final total {r['total']:.4g}  style {r['style']:.4g}  content {r['content']:.4g}  "
              f"tv {r['tv']:.4g}")
    lb, ad = runs["lbfgs"], runs["adam"]
    print(f"ratio L-BFGS/Adam: {lb['per_iter'] / ad['per_iter']:.2f}x seconds per iteration, "
          f"{lb['per_eval'] / ad['per_eval']:.2f}x seconds per evaluation, "
          f"{lb['total'] / ad['total']:.3g}x final total loss, {lb['style'] / ad['style']:.3g}x final style loss")
    reached = next((row for row in lb["history"] if row["total"] <= ad["total"]), None)
    if reached is None:
        print(f"verdict: L-BFGS did not reach Adam's final loss ({ad['total']:.4g}) in {steps} iterations")
    else:
        print(f"verdict: L-BFGS reached Adam's final loss after {reached['eval'] + 1} evaluations "
              f"({reached['seconds']:.1f} s) vs Adam's {ad['evals']} ({ad['seconds']:.1f} s): "
              f"{ad['seconds'] / max(reached['seconds'], 1e-9):.1f}x less time")


if __name__ == "__main__":
    main()
