"""``deepdojo report RUN``: regenerate RUN/report.html from what the run folder holds."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepdojo.cli.common import emit_json
from deepdojo.errors import DataError


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="regenerate RUN/report.html (self-contained, opens offline)")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.report.html_report import write_report

    if not (Path(args.run_dir) / "config.json").is_file():
        raise DataError("not a run folder (no config.json)", where=args.run_dir, fix="pass a folder made by 'deepdojo train'")
    path = write_report(args.run_dir)
    if args.json:
        emit_json({"report": str(path)})
    else:
        print(f"report: {path}")
    return 0
