"""``deepdojo data check DATA``: list every bad item by path and reason (exit 2 when any)."""

from __future__ import annotations

import argparse
import sys

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="inspect a data source: 'deepdojo data check DATA'")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    check = actions.add_parser("check", help="check every item of DATA and list the bad ones")
    check.add_argument("data", metavar="DATA", help="image folder or .csv/.tsv file")
    check.add_argument("--size", type=int, help="decode images at SIZE x SIZE (needed for mixed sizes)")
    check.add_argument("--max-pixels", type=int, dest="max_pixels", help="refuse larger images as decompression bombs")
    check.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    from deepdojo.data.check_images import MAX_PIXELS
    from deepdojo.data.check_source import check_source

    report = check_source(args.data, size=args.size, max_pixels=args.max_pixels or MAX_PIXELS)
    if args.json:
        emit_json({"data": args.data, **report.to_json()})
    else:
        print(report.format())
        if report.ok:
            print(f"{args.data}: OK")
        else:
            sys.stderr.write(f"deepdojo: {len(report.errors)} bad items in {args.data}\n")
    return 0 if report.ok else 2
