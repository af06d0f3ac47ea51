"""``deepdojo search DATA --trials N``: hyperparameter search; rerun to continue toward N."""

from __future__ import annotations

import argparse

from deepdojo.cli.common import _lr, emit_json

TRAIN_FLAGS = ("arch", "epochs", "lr", "batch_size", "opt", "weight_decay", "schedule", "seed", "valid_pct", "device",
               "augment", "size")


def add_parser(sub) -> None:
    p = sub.add_parser("search", help="search hyperparameters (random, log scale) on validation; rerun to resume")
    p.add_argument("data", metavar="DATA", help="folder path or builtin:NAME")
    p.add_argument("--trials", type=int, required=True, help="target count of complete trials in the study")
    p.add_argument("--space", help="TOML/YAML file with a [space] table (other keys: TrainConfig values)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=DIST",
                   help="e.g. 'lr=log(1e-4,1e-1)', 'batch_size=choice(32,64)', 'model_kwargs.dropout=uniform(0,0.5)'")
    p.add_argument("--config", help="TOML/YAML file with TrainConfig values every trial starts from")
    p.add_argument("--metric", default="accuracy", help="validation metric to optimize (default accuracy; *loss: minimized)")
    p.add_argument("--sampler", choices=["random", "tpe"], default="random")
    p.add_argument("--pruner", choices=["none", "median", "asha"], default="none")
    p.add_argument("--storage", help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: SQLite in the search folder)")
    p.add_argument("--study", help="study name (default: from DATA)")
    p.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    p.add_argument("--max-latency-ms", type=float, dest="max_latency_ms", help="constraint: inference ms per example")
    p.add_argument("--max-params", type=int, dest="max_params", help="constraint: parameter count")
    p.add_argument("--out", default="searches", help="folder for search folders (default: searches)")
    p.add_argument("--heartbeat", type=int, default=10, help="seconds between worker heartbeats (default 10)")
    p.add_argument("--arch")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=_lr)
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--opt", choices=["sgd", "rmsprop", "adam", "adamw"])
    p.add_argument("--weight-decay", type=float, dest="weight_decay")
    p.add_argument("--schedule", choices=["one_cycle", "constant", "cosine", "step", "exponential"])
    p.add_argument("--seed", type=int)
    p.add_argument("--valid-pct", type=float, dest="valid_pct")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--augment", choices=["auto", "none", "light", "default"])
    p.add_argument("--size", type=int)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo import search

    train = {k: getattr(args, k) for k in TRAIN_FLAGS if getattr(args, k) is not None}
    result = search.run(
        args.data, args.trials, args.space, params=args.param, config=args.config, metric=args.metric,
        sampler=args.sampler, pruner=args.pruner, storage=args.storage, study=args.study, workers=args.workers,
        max_latency_ms=args.max_latency_ms, max_params=args.max_params, out=args.out, heartbeat=args.heartbeat,
        quiet=args.json, **train,
    )
    if args.json:
        emit_json({k: v for k, v in result.to_json().items() if k != "rows"})
    return 0
