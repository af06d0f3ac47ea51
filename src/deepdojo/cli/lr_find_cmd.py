"""``deepdojo lr-find DATA``: the LR range test, its suggestions and plot."""

from __future__ import annotations

import argparse

from deepdojo.cli.common import add_data_model_flags, config_from_args, emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("lr-find", help="find a good learning rate for DATA (writes lr_find.png)")
    add_data_model_flags(p)
    p.add_argument("--num-it", type=int, default=100, dest="num_it", help="steps of the range test (default 100)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo import vision

    cfg = config_from_args(args)
    learn = vision.classifier(cfg.data, config=cfg, out=cfg.out, name=cfg.name, progress=False)
    result = learn.lr_find(num_it=args.num_it, show=not args.json)
    plot = learn.run.path / "lr_find.png"
    if args.json:
        emit_json({"suggestion": result.suggestion, "chosen": result.chosen, "suggestions": result.suggestions,
                   "explanation": result.explanation, "plot": str(plot)})
    else:
        print(f"plot: {plot}")
    return 0
