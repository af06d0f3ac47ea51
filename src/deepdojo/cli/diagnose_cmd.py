"""``deepdojo diagnose RUN [--human-error 1%]``: avoidable bias, variance, data mismatch, and what to do."""

from __future__ import annotations

import argparse

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("diagnose", help="read bias / variance / data mismatch off RUN's errors, with the actions to take")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--human-error", dest="human_error", help="human-level (Bayes proxy) error, e.g. 0.01 or 1%%")
    p.add_argument("--checkpoint", default="best")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.evaluate.diagnosis import parse_error
    from deepdojo.evaluate.finish import diagnose_run

    human = parse_error(args.human_error) if args.human_error is not None else None
    result = diagnose_run(args.run_dir, human_error=human, checkpoint=args.checkpoint)
    if args.json:
        emit_json(result.to_json())
    else:
        print(result.text())
    return 0
