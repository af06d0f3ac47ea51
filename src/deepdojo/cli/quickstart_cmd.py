"""``deepdojo quickstart``: the whole pipeline on built-in digits, as an image folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from deepdojo.cli.common import emit_json
from deepdojo.config import TrainConfig


def add_parser(sub) -> None:
    p = sub.add_parser("quickstart", help="export digits to an image folder, find the LR, train a CNN, write a report")
    p.add_argument("--out", default="demo", help="folder for the exported data and the run (default: demo)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.cli.train_cmd import train
    from deepdojo.data.builtin import export_image_folder

    t0 = time.perf_counter()
    out = Path(args.out)
    folder = out / "data" / "digits"
    if not folder.exists():
        export_image_folder("digits", folder)
    if not args.json:
        print(f"exported scikit-learn's 8x8 digits to {folder} (one subfolder per class)")
    cfg = TrainConfig(data=str(folder), arch="cnn", epochs=args.epochs, lr="auto", out=str(out / "runs"), seed=0)
    summary = train(cfg, quiet=args.json)
    summary["seconds_total"] = round(time.perf_counter() - t0, 2)
    if args.json:
        emit_json(summary)
    else:
        print(f"done in {summary['seconds_total']:.1f}s. Open the report: {summary['report']}")
    return 0
