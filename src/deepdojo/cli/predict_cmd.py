"""``deepdojo predict RUN_DIR INPUT...``: classify image files with a trained run (or an exported
``.onnx`` / ``.pt2`` model written by ``deepdojo export``, with its sidecar JSON beside it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict INPUT images (or comma-separated feature rows) with RUN_DIR's model")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder, or an exported model file (.onnx / .pt2)")
    p.add_argument("inputs", metavar="INPUT", nargs="+")
    p.add_argument("--checkpoint", default="best", help="checkpoint name in RUN_DIR/checkpoints (default: best)")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per input")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.export import ExportedModel, is_exported_path
    from deepdojo.predict import Predictor

    if is_exported_path(args.run_dir):
        predictor = ExportedModel.load(args.run_dir)
    else:
        predictor = Predictor.from_run(args.run_dir, checkpoint=args.checkpoint)
    results = [predictor.predict_input(item, top=args.top) for item in args.inputs]
    if args.json:
        emit_json({"run_dir": str(Path(args.run_dir)), "predictions": results})
    else:
        for r in results:
            top = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in r.get("top", []))
            print(f"{r['input']}: {r['prediction']}" + (f"  ({top})" if top else ""))
    return 0
