"""Report sections of a detection or segmentation run: per-class AP / Dice, PR curves, the worst images.

Reads ``interpretation.json`` written by :class:`deepdojo.evaluate.dense_view.DenseView`
and the pictures of :mod:`deepdojo.report.dense_figures`.
"""

from __future__ import annotations

from typing import Any

from deepdojo.report.sections_eval import _img, _rows
from deepdojo.train.run_folder import RunFolder


def dense_sections(run: RunFolder, it: dict[str, Any]) -> list[tuple[str, str]]:
    """``(title, html)`` pairs: the per-class table, (detection) the PR curves, the worst images with their losses."""
    worst_rows = [[w["id"], w["loss"], *([w["found"], w["true"]] if "found" in w else [w["pixel_accuracy"]])]
                  for w in it["worst"]]
    if it["kind"] == "boxes":
        table = _rows(["class", "AP@0.5", "AP@[.5:.95]", "true boxes"],
                      [[r["class"], r["ap50"], r["ap"], r["boxes"]] for r in it["per_class"]])
        out = [("Per-class AP (validation)", table),
               ("Precision-recall per class (IoU 0.5)", _img(run, "pr_curves.png", "precision-recall curves"))]
        head = ["id", "loss", "boxes found", "true boxes"]
        title = "Worst images by loss: found vs true boxes"
    else:
        table = _rows(["class", "Dice", "IoU", "pixel share"],
                      [[r["class"], r["dice"], r["iou"], r["pixel_share"]] for r in it["per_class"]])
        out = [("Per-class Dice and IoU (validation)", table)]
        head = ["id", "loss", "pixels right"]
        title = "Worst images by loss: true vs predicted masks"
    out.append((title, _img(run, "worst_images.png", "worst validation images") + _rows(head, worst_rows)))
    return out
