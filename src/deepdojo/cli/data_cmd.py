"""``deepdojo data check DATA``: list every bad item by path and reason (exit 2 when any).

``deepdojo data suspects RUN``: write ``RUN/label_suspects.csv``, the examples
the run's model confidently contradicts. ``deepdojo data download NAME``:
fetch a catalogue dataset into the cache (``download:NAME`` elsewhere).
"""

from __future__ import annotations

import argparse
import sys

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="data tools: check DATA, suspects RUN, download NAME")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    check = actions.add_parser("check", help="check every item of DATA and list the bad ones")
    check.add_argument("data", metavar="DATA", help="image folder or .csv/.tsv file")
    check.add_argument("--size", type=int, help="decode images at SIZE x SIZE (needed for mixed sizes)")
    check.add_argument("--max-pixels", type=int, dest="max_pixels", help="refuse larger images as decompression bombs")
    check.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    check.set_defaults(run=run_check)
    suspects = actions.add_parser("suspects", help="list the examples RUN's model confidently contradicts")
    suspects.add_argument("run_dir", metavar="RUN")
    suspects.add_argument("--checkpoint", default="best")
    suspects.add_argument("--top", type=int, default=200, help="rows kept in label_suspects.csv (default 200)")
    suspects.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    suspects.set_defaults(run=run_suspects)
    fetch = actions.add_parser("download", help="fetch a catalogue dataset (mnist, fashion_mnist, cifar10, imagenette160)")
    fetch.add_argument("name", metavar="NAME")
    fetch.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    fetch.set_defaults(run=run_download)


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


def run_suspects(args: argparse.Namespace) -> int:
    from deepdojo.evaluate.suspects import suspects_for_run
    from deepdojo.report.html_report import write_report

    result = suspects_for_run(args.run_dir, checkpoint=args.checkpoint, top=args.top)
    write_report(args.run_dir)  # the report's suspects section follows the new CSV
    if args.json:
        emit_json(result)
    else:
        for r in result["top"]:
            print(f"{r['rank']:>4}  {r['split']:<5} {r['id']:<30} given {r['given']!r:<12} "
                  f"predicted {r['predicted']!r} ({r['confidence']:.2f})")
        print(f"{result['suspects']} suspects: {result['csv']}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from deepdojo.data.download import download_files

    paths = download_files(args.name)
    if args.json:
        emit_json({"name": args.name, "files": [str(p) for p in paths]})
    else:
        print("\n".join(str(p) for p in paths))
    return 0
