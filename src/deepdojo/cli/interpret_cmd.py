"""``deepdojo interpret RUN``: top losses, most uncertain, most-confused pairs, per-class accuracy,
error-analysis CSV export/import; for image models, filters, activation maps and Grad-CAM; for text
models, the top-loss sentences and the tokens that moved each prediction most (occlusion).

Figures go to ``RUN/interpret/``; the report's sections are refreshed too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepdojo.cli.common import emit_json


def add_parser(sub) -> None:
    p = sub.add_parser("interpret", help="what RUN's model gets wrong, error analysis, filters and Grad-CAM")
    p.add_argument("run_dir", metavar="RUN")
    p.add_argument("--split", default="valid", choices=["train", "valid"], help="never test: it is sealed")
    p.add_argument("--checkpoint", default="best")
    p.add_argument("--top", type=int, default=12, help="examples per gallery (default 12)")
    p.add_argument("--export-errors", dest="export_errors", metavar="CSV", help="write misclassified examples with tag columns")
    p.add_argument("--tags", default="blurry,mislabeled,other", help="tag columns for --export-errors")
    p.add_argument("--import-errors", dest="import_errors", metavar="CSV", help="read a filled-in export: error categories")
    p.add_argument("--layer", help="layer for activation maps and Grad-CAM (default: the last convolution)")
    p.add_argument("--image", type=int, help="index within the split for activations and Grad-CAM (default: top loss)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from deepdojo.evaluate.interpret import import_errors

    if args.import_errors:
        table = import_errors(args.import_errors)
        if args.json:
            emit_json(table)
        else:
            print(f"{table['errors']} errors, {table['untagged']} untagged; mislabeled: {table['mislabeled_fraction']:.1%}")
            for row in table["table"]:
                print(f"  {row['category']:<16} {row['count']:>5}  {row['percent']:5.1f}%")
        return 0
    from deepdojo.cli.collab_interpret import interpret_factors, is_factors_run

    if is_factors_run(args.run_dir):  # a recommender: item biases, factor map, nearest items
        return interpret_factors(args)
    result = interpret_run(args)
    if args.json:
        emit_json(result)
    elif "per_class" in result:  # detection / segmentation
        for r in result["per_class"]:
            print("  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
        for w in result["worst"][:5]:
            print(f"worst: {w['id']} loss {w['loss']:.3f}")
        print(f"figures: {result['folder']}")
    else:
        for a, p, n in result["most_confused"][:5]:
            print(f"confused {a} -> {p}: {n}")
        for t in result.get("texts", [])[:args.top]:
            moved = ", ".join(f"{m['token']!r} {m['effect']:+.2f}" for m in t["moved_most"])
            print(f"[{t['actual']} -> {t['predicted']} p={t['probability']:.2f}] {t['text']}\n    moved most: {moved}")
        print(f"figures: {result['folder']}")
        if result.get("errors_csv"):
            print(f"error analysis CSV: {result['errors_csv']} (fill in the tag columns, then --import-errors)")
    return 0


def interpret_run(args: argparse.Namespace) -> dict:
    from deepdojo.report.interpretation_figures import write_interpretation
    from deepdojo.evaluate.interpret import Interpretation
    from deepdojo.evaluate.run_eval import learner_for_run, load_run_data
    from deepdojo.evaluate.text_interpret import text_explanations
    from deepdojo.report.html_report import write_report

    run_dir = Path(args.run_dir)
    learn, _ = learner_for_run(run_dir, load_run_data(run_dir), args.checkpoint)
    if learn.task.interpretation in ("boxes", "masks"):
        return dense_interpret(learn, run_dir, args)
    interp = Interpretation.from_learner(learn, args.split)
    interp.texts = text_explanations(learn, interp, k=args.top)  # texts: occlusion of each token of the top losses
    folder = run_dir / "interpret"
    folder.mkdir(exist_ok=True)
    summary = write_interpretation(interp, folder, k=args.top)
    if args.split == "valid":  # the report shows validation
        write_interpretation(interp, run_dir, k=args.top)
        write_report(run_dir)
    out = {"folder": str(folder), "most_confused": summary["most_confused"], "per_class_accuracy": summary["per_class_accuracy"]}
    if interp.texts:
        out["texts"] = interp.texts
    if args.export_errors:
        tags = tuple(t.strip() for t in args.tags.split(",") if t.strip())
        out["errors_csv"] = str(interp.export_errors(args.export_errors, tags))
    if learn.data.is_image:
        out["figures"] = image_figures(learn, interp, folder, args.layer, args.image)
    return out


def dense_interpret(learn, run_dir: Path, args: argparse.Namespace) -> dict:
    """Detection / segmentation: per-class AP or Dice, PR curves, the worst images; into RUN/interpret/ (and the report)."""
    from deepdojo.evaluate.dense_view import DenseView
    from deepdojo.io import write_json
    from deepdojo.report.dense_figures import write_dense_figures
    from deepdojo.report.html_report import write_report

    view = DenseView.from_learner(learn, args.split, k=args.top)
    summary = view.summary()
    folder = run_dir / "interpret"
    targets = [folder] + ([run_dir] if args.split == "valid" else [])  # the report shows validation
    for target in targets:
        target.mkdir(exist_ok=True)
        write_json(target / "interpretation.json", summary)
        figures = write_dense_figures(view, target)
    if args.split == "valid":
        write_report(run_dir)
    return {"folder": str(folder), "kind": summary["kind"], "per_class": summary["per_class"],
            "worst": summary["worst"], "figures": [str(folder / f) for f in figures]}


def image_figures(learn, interp, folder: Path, layer: str | None, index: int | None) -> list[str]:
    """filters.png, activations.png and grad_cam.png for one image of the split."""
    from deepdojo.evaluate.visualize import activation_maps, first_layer_filters, grad_cam
    from deepdojo.report.plots_eval import gradcam_png, maps_png
    from deepdojo.io import atomic_write_bytes

    model = learn.model
    i = index if index is not None else interp.top_losses(1)[0]["index"]
    raw = interp.inputs[i]  # (C, H, W) uint8
    x, _ = learn.data.valid.transform(raw[None].to(learn.device), None, None)  # preprocessed like validation
    figures = {
        "filters.png": maps_png(first_layer_filters(model), "first-layer filters"),
        "activations.png": maps_png(activation_maps(model, x, layer), f"activations of {layer or 'the last convolution'}"),
    }
    row = interp.row(i)
    heat = grad_cam(model, x, layer=layer)
    figures["grad_cam.png"] = gradcam_png(raw, heat, f"Grad-CAM for '{row['predicted']}' (actual '{row['actual']}')")
    for name, png in figures.items():
        atomic_write_bytes(folder / name, png)
    return [str(folder / n) for n in figures]
