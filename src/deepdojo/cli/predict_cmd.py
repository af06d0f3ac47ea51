"""``deepdojo predict RUN_DIR INPUT...``: predict with a trained run, preprocessing inputs exactly as training did.

RUN_DIR may also be an exported ``.onnx`` / ``.pt2`` model written by ``deepdojo export`` (its sidecar JSON beside it).

INPUT is an image file or folder, a CSV/TSV of rows (a table run: raw values,
categories as text; an image-list run: its path column; a text run: its text
column), a comma-separated row, or a text. Inputs that differ from the
training data (image size, channels) are warned about, or refused with ``--strict``.
RUN_DIR may also be an exported ``.onnx`` / ``.pt2`` model written by ``deepdojo export``
(with its sidecar JSON beside it).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from deepdojo.cli.common import emit_json
from deepdojo.cli.dense_output import format_line, write_masks


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict INPUT images, folders, CSV rows or texts with RUN_DIR's model")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder, or an exported model file (.onnx / .pt2)")
    p.add_argument("inputs", metavar="INPUT", nargs="+")
    p.add_argument("--checkpoint", default="best", help="checkpoint name in RUN_DIR/checkpoints (default: best)")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per input")
    p.add_argument("--strict", action="store_true",
                   help="refuse inputs that differ from the training data (size, channels) instead of warning")
    p.add_argument("--out", default=None, help="segmentation: folder for one mask PNG per input (class ids, original size)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.export import ExportedModel, is_exported_path
    from deepdojo.predict import Predictor

    if is_exported_path(args.run_dir):
        predictor = ExportedModel.load(args.run_dir)
        results = [predictor.predict_input(item, top=args.top) for item in args.inputs]
    else:
        predictor = Predictor.from_run(args.run_dir, checkpoint=args.checkpoint)
        if hasattr(predictor.task, "compare_embeddings"):  # verification: distances between the inputs
            return _verify(predictor, args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # each note is printed once below, as one line
            results = predictor.predict_items(args.inputs, top=args.top, strict=args.strict)
        for note in predictor.notes:
            sys.stderr.write(f"deepdojo: warning: {note}\n")
    results = write_masks(results, args.out)
    if args.json:
        emit_json({"run_dir": str(Path(args.run_dir)), "predictions": results})
    else:
        for r in results:
            line = format_line(r)
            if line is not None:
                print(line)
                continue
            top = ", ".join(f"{t.get('class', t.get('token'))} {t['probability']:.3f}" for t in r.get("top", []))
            cold = f"  [cold start: {r['cold_start']}]" if r.get("cold_start") else ""  # ratings: an unseen id
            print(f"{r['input']}: {r['prediction']}" + (f"  ({top})" if top else "") + cold)
    return 0


def _verify(predictor, args: argparse.Namespace) -> int:
    """``a.png b.png [c.png ...]``: each later image against the first: distance and same/different."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = predictor.verify(args.inputs, strict=args.strict)
    for note in predictor.notes:
        sys.stderr.write(f"deepdojo: warning: {note}\n")
    if args.json:
        emit_json({"run_dir": str(Path(args.run_dir)), **out})
        return 0
    for p in out["pairs"]:
        verdict = ("same" if p["same"] else "different") if "same" in p else "no threshold chosen (run had no validation)"
        limit = f" (threshold {p['threshold']:.4f})" if "threshold" in p else ""
        print(f"{p['a']} vs {p['b']}: distance {p['distance']:.4f} -> {verdict}{limit}")
    return 0
