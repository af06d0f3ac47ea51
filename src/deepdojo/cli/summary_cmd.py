"""``deepdojo summary ARCH --input 3x64x64``: layer-by-layer shapes, parameters and multiply-adds."""

from __future__ import annotations

import argparse
import ast

from deepdojo.cli.common import emit_json
from deepdojo.errors import ConfigError


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes joined by 'x' like 3x64x64, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return shape


def _kwarg(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word stays a string


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="show a model's layers: output shapes, parameters, multiply-adds, memory")
    p.add_argument("arch", metavar="ARCH", help="registered model name (see the list in the error for a wrong one)")
    p.add_argument("--input", type=_shape, required=True, help="one sample's shape, e.g. 3x64x64, 2x128 or 40")
    p.add_argument("--num-classes", type=int, default=10, dest="num_classes")
    p.add_argument("--batch-size", type=int, default=1, dest="batch_size")
    p.add_argument("--set", type=_kwarg, action="append", default=[], metavar="KEY=VALUE",
                   help="model argument, e.g. --set width_mult=0.5 --set small_input=True")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from deepdojo.models import create_model_for, model_kind
    from deepdojo.models.summary import summary

    kwargs = dict(args.set)
    model = create_model_for(args.arch, args.input, args.num_classes, **kwargs)
    tokens = model_kind(args.arch) == "sequence" and len(args.input) == 1
    try:
        s = summary(model, args.input, batch_size=args.batch_size, dtype=torch.long if tokens else torch.float32)
    except RuntimeError as exc:  # e.g. an image too small for the network's pools
        first = str(exc).splitlines()[0]
        raise ConfigError(f"model {args.arch!r} cannot run on input {list(args.input)}: {first}",
                          where="--input", fix="use a larger input or --set small_input=True") from None
    if args.json:
        emit_json({"arch": args.arch, **s.to_json()})
    else:
        print(s)
    return 0
