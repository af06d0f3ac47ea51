"""``deepdojo export RUN --format onnx|exported-program``: the run's model in a standard form."""

from __future__ import annotations

import argparse

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export RUN's model to ONNX or a torch.export ExportedProgram (dynamic batch)")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--format", dest="fmt", choices=["onnx", "exported-program"], default="onnx")
    p.add_argument("--out", help="model file to write (default: RUN/export/model.onnx or model.pt2)")
    p.add_argument("--checkpoint", default="best", help="checkpoint name in RUN/checkpoints (default: best)")
    p.add_argument("--preprocessing", choices=["baked", "beside"], default="baked",
                   help="baked: the graph takes raw inputs and normalizes them; beside: the bare model, "
                        "with the normalization in the sidecar JSON")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.export import export_run

    path = export_run(args.run_dir, args.fmt, out=args.out, checkpoint=args.checkpoint, preprocessing=args.preprocessing)
    if args.json:
        emit_json({"model": str(path), "sidecar": str(path.with_suffix(".json")), "format": args.fmt})
    else:
        print(f"exported: {path}  (with {path.with_suffix('.json').name}: inputs, classes, preprocessing)")
    return 0
