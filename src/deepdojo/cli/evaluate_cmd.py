"""``deepdojo evaluate RUN --split valid|test|train``: metrics of a run's checkpoint on a split.

The test split goes through the test vault: each look is logged in
``RUN/test_log.jsonl`` and from the second look on a warning says how many.
"""

from __future__ import annotations

import argparse
import sys

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate RUN's checkpoint on a split (the test split is logged and counted)")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--split", default="valid", choices=["train", "valid", "test"])
    p.add_argument("--checkpoint", default="best", help="checkpoint name in RUN/checkpoints (default: best)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.evaluate.run_eval import evaluate_run

    result = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    if result["warning"]:
        sys.stderr.write(f"deepdojo: warning: {result['warning']}\n")
    if args.json:
        emit_json(result)
        return 0
    look = f" (look {result['look']} at this test set, logged in test_log.jsonl)" if result["look"] else ""
    print(f"{args.split} split, checkpoint {args.checkpoint}{look}:")
    for key, value in result["metrics"].items():
        if isinstance(value, float):
            print(f"  {key:<16} {value:.4f}")
    return 0
