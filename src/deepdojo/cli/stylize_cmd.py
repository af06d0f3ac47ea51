"""``deepdojo stylize CONTENT STYLE --out RESULT.png``: neural style transfer (Gatys et al.).

Prints which features were used (and, for the random-feature fallback, its
limit in one line), the losses every 50 evaluations and the files written:
RESULT.png, RESULT.compare.png (content | style | result), RESULT.losses.png
and RESULT.losses.json. An image that cannot be read is one line naming it
(exit 2) and nothing is written. See :mod:`deepdojo.stylize`.
"""

from __future__ import annotations

import argparse
import sys

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("stylize", help="paint CONTENT in the style of STYLE (neural style transfer)")
    p.add_argument("content", metavar="CONTENT", help="the image whose layout is kept")
    p.add_argument("style", metavar="STYLE", help="the image whose texture and colours are taken")
    p.add_argument("--out", required=True, help="result image (.png or .jpg); the comparison and loss curves go beside it")
    p.add_argument("--features", default="auto",
                   help="auto (cached vgg16 ImageNet weights, else random-vgg16), vgg16-imagenet, random-vgg16, "
                        "a weights FILE.safetensors, or a deepdojo RUN_DIR (default: auto)")
    p.add_argument("--steps", type=int, default=300, help="optimizer iterations (default 300)")
    p.add_argument("--optimizer", choices=["lbfgs", "adam"], default="lbfgs", help="default: lbfgs")
    p.add_argument("--size", type=int, default=256, help="longer image side in pixels (default 256)")
    p.add_argument("--content-weight", type=float, dest="content_weight", default=1.0)
    p.add_argument("--style-weight", type=float, dest="style_weight", default=1e6)
    p.add_argument("--tv-weight", type=float, dest="tv_weight", default=1e-2)
    p.add_argument("--lr", type=float, default=None, help="step size (default: 1 for lbfgs, 0.02 for adam)")
    p.add_argument("--init", choices=["content", "noise"], default="content", help="starting image (default content)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.stylize import stylize

    def log(row: dict) -> None:
        if not args.json:
            print(f"eval {row['eval']:4d}  total {row['total']:.4g}  content {row['content']:.4g}  "
                  f"style {row['style']:.4g}  tv {row['tv']:.4g}  ({row['seconds']:.1f}s)", flush=True)

    result = stylize(args.content, args.style, args.out, features=args.features, steps=args.steps,
                     optimizer=args.optimizer, size=args.size, content_weight=args.content_weight,
                     style_weight=args.style_weight, tv_weight=args.tv_weight, lr=args.lr, init=args.init,
                     seed=args.seed, log=log)
    if result.note:
        sys.stderr.write(f"deepdojo: note: {result.note}\n")
    if args.json:
        emit_json({"features": result.features, "note": result.note, "final": result.final(), "files": result.files})
    else:
        print(f"features: {result.features}")
        print("final: " + ", ".join(f"{k} {v:.4g}" for k, v in result.final().items()))
        for name in result.files.values():
            print(f"wrote {name}")
    return 0
