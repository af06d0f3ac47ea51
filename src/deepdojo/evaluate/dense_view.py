"""Interpretation of detection and segmentation runs: worst images by task loss, per-class tables, PR curves.

Built from the validation pass that ``finish`` already made (kept outputs,
:mod:`deepdojo.evaluate.passes`), so no extra model call. The figures are
drawn by :mod:`deepdojo.report.dense_figures`.

- boxes (detection): per class AP@0.5 and AP@[.5:.95] with box counts, the
  precision-recall curve at IoU 0.5 of each class (the same matching as
  :func:`deepdojo.metrics.detection.coco_map`, so its mean is AP@0.5), and
  the images of highest per-image loss with found vs true boxes;
- masks (segmentation): per class Dice and IoU over the split's pixels, and
  the images of highest loss with their true and predicted masks.

Example:
    >>> import torch
    >>> from deepdojo.tasks import get_task
    >>> task = get_task("segmentation")
    >>> target = torch.zeros(3, 4, 4, dtype=torch.long); target[:, :2] = 1  # (N, H, W): top half class 1
    >>> out = torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).float() * 5  # (N, K, H, W) right
    >>> out[2] = -out[2]  # the third image is all wrong: the worst
    >>> v = DenseView.build(task, out, target, torch.zeros(3, 3, 4, 4, dtype=torch.uint8), ["bg", "top"], k=2)
    >>> s = v.summary()
    >>> s["kind"], [w["index"] for w in s["worst"]], [round(r["dice"], 3) for r in s["per_class"]]
    ('masks', [2, 0], [0.667, 0.667])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from deepdojo.evaluate.interpret import split_ids


@dataclass
class DenseView:
    """What the report shows of a detection or segmentation run's validation predictions."""

    kind: str  # "boxes" or "masks"
    classes: list[str]
    inputs: torch.Tensor | None  # uint8 (N, C, H, W) when the loader holds the images
    predicted: torch.Tensor  # boxes: (N, max_det, 6) x0 y0 x1 y1 score class; masks: (N, H, W) class ids
    targets: torch.Tensor  # boxes: (N, M, 5) class x0 y0 x1 y1 (-1 padding); masks: (N, H, W)
    losses: torch.Tensor  # (N,) the task's per-image loss
    table: list[dict[str, Any]]  # one row per class
    curves: list | None = None  # boxes: per class 101 precisions at recall 0, 0.01 .. 1 (IoU 0.5), None without truth
    ids: list[str] | None = None
    k: int = 8
    conf_threshold: float = 0.25

    @classmethod
    def from_pass(cls, p, data, k: int = 8) -> "DenseView":
        """From a prediction pass with kept outputs (:func:`deepdojo.evaluate.passes.predict_split`)."""
        return cls.build(p.task, p.outputs, p.targets, p.inputs, data.classes, split_ids(data, p.split), k)

    @classmethod
    def from_learner(cls, learn, split: str = "valid", k: int = 8) -> "DenseView":
        """One pass of ``learn``'s model over ``split`` (``train``/``valid``; test stays sealed)."""
        from deepdojo.evaluate.passes import predict_split

        return cls.from_pass(predict_split(learn, split, keep=True), learn.data, k)

    @classmethod
    def build(cls, task, outputs: torch.Tensor, targets: torch.Tensor, inputs: torch.Tensor | None,
              classes: list[str], ids: list[str] | None = None, k: int = 8) -> "DenseView":
        """Raw model outputs ``(N, ...)`` and targets -> the view (per-image losses, the per-class table)."""
        losses = torch.cat([task.per_example_loss(outputs[i : i + 64], targets[i : i + 64]).detach()
                            for i in range(0, len(outputs), 64)]) if len(outputs) else torch.zeros(0)
        if task.interpretation == "boxes":
            return cls._boxes(task, outputs, targets, inputs, classes, ids, k, losses)
        return cls._masks(task, outputs, targets, inputs, classes, ids, k, losses)

    @classmethod
    def _boxes(cls, task, outputs, targets, inputs, classes, ids, k, losses) -> "DenseView":
        from deepdojo.metrics.detection import coco_map

        found = task.detect(outputs, conf_threshold=min(task.conf_threshold, 0.01))  # the curves sweep every confidence
        truth = [{"boxes": t[t[:, 0] >= 0, 1:], "labels": t[t[:, 0] >= 0, 0].long()} for t in targets]
        r = coco_map(found, truth, num_classes=len(classes), curves=True)
        counts = torch.bincount(targets[..., 0][targets[..., 0] >= 0].long(), minlength=len(classes)).tolist()
        table = [{"class": c, "ap50": r["ap50_per_class"][i], "ap": r["ap_per_class"][i], "boxes": counts[i]}
                 for i, c in enumerate(classes)]
        return cls("boxes", classes, inputs, task.decode(outputs), targets, losses, table, r["pr50_per_class"],
                   ids, k, task.conf_threshold)

    @classmethod
    def _masks(cls, task, outputs, targets, inputs, classes, ids, k, losses) -> "DenseView":
        from deepdojo.metrics.dense import DicePerClass, IoUPerClass

        scores = {}
        for m in (DicePerClass(), IoUPerClass()):
            m.reset()
            m.update(outputs, targets)
            scores[m.name] = m.compute()
        predicted = outputs.argmax(1)  # (N, H, W)
        share = torch.bincount(targets.reshape(-1).long(), minlength=len(classes)).double() / max(targets.numel(), 1)
        table = [{"class": c, "dice": _num(scores["dice_per_class"][i]), "iou": _num(scores["iou_per_class"][i]),
                  "pixel_share": round(float(share[i]), 6)} for i, c in enumerate(classes)]
        return cls("masks", classes, inputs, predicted, targets, losses, table, None, ids, k)

    def worst(self, k: int | None = None) -> list[int]:
        """Indices of the ``k`` images of highest task loss, worst first."""
        k = self.k if k is None else k
        return torch.argsort(self.losses, descending=True, stable=True)[:k].tolist()

    def row(self, i: int) -> dict[str, Any]:
        out = {"index": i, "id": self.ids[i] if self.ids else str(i), "loss": round(float(self.losses[i]), 6)}
        if self.kind == "boxes":
            p, t = self.predicted[i], self.targets[i]
            out["found"] = int(((p[:, 5] >= 0) & (p[:, 4] > self.conf_threshold)).sum())
            out["true"] = int((t[:, 0] >= 0).sum())
        else:
            out["pixel_accuracy"] = round(float((self.predicted[i] == self.targets[i]).double().mean()), 6)
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-ready: ``kind``, ``per_class`` table, ``worst`` images, and for boxes the PR curves."""
        out = {"kind": self.kind, "classes": self.classes, "per_class": self.table,
               "worst": [self.row(i) for i in self.worst()]}
        if self.curves is not None:
            out["pr_curves_50"] = {"recall": [round(i / 100, 2) for i in range(101)],
                                   "precision": {c: (None if v is None else [round(x, 6) for x in v])
                                                 for c, v in zip(self.classes, self.curves)}}
        return out


def _num(v) -> float | None:
    return None if v is None or v != v else float(v)  # NaN (class in neither truth nor prediction) -> None
