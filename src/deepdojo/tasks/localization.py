"""Classification with localization: one object or none per image, its class and its box.

The curriculum's target vector ``y = [pc, bx, by, bh, bw, c1 .. cK]``:
``pc`` says whether there is an object; when ``pc = 0`` every other entry
is a "don't care" (``?``) and only the ``pc`` term of the loss counts.

Targets are ``(B, 5)`` (or ``(B, 1, 5)``, the detection layout with one
row) float rows ``class, x0, y0, x1, y1`` in pixels, class ``-1`` for "no
object". The model outputs ``(B, 5 + K)`` raw values (``arch="localizer"``,
or any image model with that many outputs): an objectness logit, the box
``bx, by`` (centre) and ``bh, bw`` (size) as fractions of the image through
a sigmoid, and K class logits. Per image the loss is

    BCE(pc) + [object] * (box_weight * KL(box) + CE(class))

where ``KL(box)`` is the binary cross-entropy of the four box fractions
less the targets' own entropy (the same gradient as BCE, and 0 for an
exact box). The masked terms go through ``torch.where``, so a "no object"
image gives its box and class outputs exactly zero gradient.

Example:
    >>> import torch
    >>> t = Localization(image_size=[32, 32])
    >>> out = torch.tensor([[9.0, 0.0, 0.0, 0.0, 0.0, 9.0, -9.0]])  # object, centred, half the image, class 0
    >>> row = t.decode(out)[0]  # p_object, x0, y0, x1, y1, class, p_class...
    >>> [round(v, 2) for v in row[:6].tolist()]
    [1.0, 8.0, 8.0, 24.0, 24.0, 0.0]
    >>> t.format_prediction(row, ["circle", "square"])["box"]
    [8.0, 8.0, 24.0, 24.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.errors import ConfigError, DataError
from deepdojo.metrics.localization import KEYS, LocalizationScore, localization_scores
from deepdojo.tasks.base import Task, register_task, versus


def one_box_targets(target: torch.Tensor) -> torch.Tensor:
    """``(B, 5)`` rows from ``(B, 5)`` or padded ``(B, M, 5)`` targets holding at most one box per image."""
    if target.dim() == 2 and target.shape[-1] == 5:
        return target
    if target.dim() != 3 or target.shape[-1] != 5:
        raise DataError(f"localization targets must be (N, 5) rows of class, x0, y0, x1, y1; got {tuple(target.shape)}",
                        where="targets", fix="load boxes (builtin:shapes_localization, a COCO/YOLO/VOC folder)")
    real = target[..., 0] >= 0  # (B, M)
    if bool((real.sum(1) > 1).any()):
        raise DataError("an image has 2 or more boxes; localization finds one object or none",
                        where="targets", fix="use --task detection")
    first = real.float().argmax(1)  # the real row (padding follows it); row 0 when there is none
    return target[torch.arange(len(target), device=target.device), first]


@register_task
class Localization(Task):
    name = "localization"
    description = "one object or none per image: its class and its box ([pc, bx, by, bh, bw, c1..cK])"
    monitor = "loc_accuracy"
    minimize = False
    report_sections = ("baselines",)

    def __init__(self, image_size: list | None = None, box_weight: float = 5.0):
        if box_weight <= 0:
            raise ConfigError(f"box_weight must be > 0, got {box_weight}", where="task")
        self.image_size = None if image_size is None else [int(s) for s in image_size]  # (H, W)
        self.box_weight = float(box_weight)

    # ----------------------------------------------------------- set-up from the data
    def output_size(self, data) -> int:
        self._check(data)
        return 5 + len(data.classes)

    def default_arch(self, data) -> str:
        return "localizer"

    def model_kwargs(self, data) -> dict[str, Any]:
        self._check(data)
        return {}

    def _check(self, data) -> None:
        """One box or none per image, named when not (every split: a format check, not a look at test labels)."""
        name = data.info.get("name", "data")
        if not data.classes:
            raise DataError("localization needs class names", where=name, fix="load boxes with their classes")
        y = data.train.source_y
        if y.dim() == 3 and y.shape[-1] == 5:
            many = ((y[..., 0] >= 0).sum(1) > 1).nonzero().flatten().tolist()
            if many:
                ids = data.info.get("ids") or [f"row {i}" for i in range(len(y))]
                shown = ", ".join(str(ids[i]) for i in many[:5]) + (f" and {len(many) - 5} more" if len(many) > 5 else "")
                raise DataError(f"{len(many)} image(s) have 2 or more boxes ({shown}); localization finds one object "
                                "or none", where=name, fix="use --task detection")
        elif not (y.dim() == 2 and y.shape[-1] == 5):
            raise DataError(f"localization targets must be rows of class, x0, y0, x1, y1; got {tuple(y.shape)}",
                            where=name, fix="load boxes (builtin:shapes_localization, a COCO/YOLO/VOC folder)")
        self.image_size = list(data.input_shape[1:])

    def _size(self, device) -> torch.Tensor:
        if self.image_size is None:
            raise ConfigError("the localization task does not know the image size", where="task",
                              fix="call task.model_kwargs(data) before training, or pass image_size=[H, W]")
        h, w = self.image_size
        return torch.tensor([w, h], device=device, dtype=torch.float32)  # (x, y) scale

    # ----------------------------------------------------------- raw outputs -> one box
    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """``(B, 5 + K)`` raw -> ``(B, 6 + K)`` rows ``p_object, x0, y0, x1, y1, class, p_class_1 .. p_class_K``."""
        out = out.float()
        wh = self._size(out.device)
        frac = out[:, 1:5].sigmoid()  # bx, by, bh, bw
        centre, size = frac[:, :2] * wh, frac[:, [3, 2]] * wh  # (B, 2) in pixels: (cx, cy), (w, h)
        probs = out[:, 5:].softmax(-1)
        return torch.cat([out[:, :1].sigmoid(), centre - size / 2, centre + size / 2,
                          probs.argmax(-1, keepdim=True).float(), probs], 1)

    # ----------------------------------------------------------- the loss
    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.per_example_loss(pred, target).mean()

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B,)``: BCE on ``pc`` for every image; box and class terms only where there is an object."""
        pred, t = pred.float(), one_box_targets(target).float()
        if pred.shape[-1] < 6:
            raise ConfigError(f"the model gives {pred.shape[-1]} outputs; localization needs 5 + number of classes",
                              where="model", fix="build it with num_classes = task.output_size(data)")
        has = t[:, 0] >= 0  # (B,)
        obj = F.binary_cross_entropy_with_logits(pred[:, 0], has.float(), reduction="none")
        wh = self._size(pred.device)
        corners = torch.where(has[:, None], t[:, 1:5], torch.zeros_like(t[:, 1:5]) + wh.repeat(2) / 4)  # ? -> any box
        centre = (corners[:, :2] + corners[:, 2:]) / 2 / wh
        size = (corners[:, 2:] - corners[:, :2]) / wh  # (w, h) fractions
        frac = torch.stack([centre[:, 0], centre[:, 1], size[:, 1], size[:, 0]], 1).clamp(1e-6, 1 - 1e-6)  # bx by bh bw
        entropy = -(torch.xlogy(frac, frac) + torch.xlogy(1 - frac, 1 - frac))
        box = (F.binary_cross_entropy_with_logits(pred[:, 1:5], frac, reduction="none") - entropy).sum(1)
        cls = F.cross_entropy(pred[:, 5:], t[:, 0].long().clamp_min(0), reduction="none")
        return obj + torch.where(has, self.box_weight * box + cls, torch.zeros_like(obj))

    # ----------------------------------------------------------- metrics and evaluation
    def metrics(self) -> list:
        return [LocalizationScore(self.decode, key) for key in KEYS]

    def baselines(self, x_train, y_train, x_valid, y_valid, num_classes, budget_s, seed) -> dict[str, dict]:
        """Majority presence and class with the mean training box, scored like the model on validation."""
        tr = one_box_targets(torch.as_tensor(y_train)).double()
        va = one_box_targets(torch.as_tensor(y_valid)).float()
        has = tr[:, 0] >= 0
        k = int(num_classes or (int(tr[:, 0].max()) + 1))
        present = bool(has.float().mean() >= 0.5)
        cls = int(torch.bincount(tr[has, 0].long(), minlength=k).argmax()) if has.any() else 0
        box = tr[has, 1:5].mean(0) if has.any() else torch.zeros(4, dtype=torch.float64)
        row = torch.cat([torch.tensor([float(present)], dtype=torch.float64), box, torch.tensor([float(cls)],
                        dtype=torch.float64), F.one_hot(torch.tensor(cls), k).double()]).float()
        scores = localization_scores(row.expand(len(va), -1), va)
        return {"majority_mean_box": {**scores, "predicts": {"object": present, "class": cls,
                                                             "box": [round(float(v), 2) for v in box]}}}

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        base = baselines.get("majority_mean_box")
        if not base or "loc_accuracy" not in model_metrics:
            return []
        said = [f"the model {versus('the simplest guess', 'majority + mean box', model_metrics['loc_accuracy'] - base['loc_accuracy'], 'localization accuracy')}"]
        if model_metrics.get("mean_iou") == model_metrics.get("mean_iou") and base["mean_iou"] == base["mean_iou"]:
            said.append(f"mean IoU on images with an object: model {model_metrics['mean_iou']:.4f}, "
                        f"mean training box {base['mean_iou']:.4f}")
        return said

    def target_summary(self, targets: dict[str, np.ndarray], classes: list[str] | None) -> dict[str, Any]:
        out = {}
        for split, y in targets.items():
            t = one_box_targets(torch.as_tensor(y)).numpy()
            has = t[:, 0] >= 0
            k = len(classes) if classes else int(t[:, 0].max()) + 1
            wh = t[has, 3:5] - t[has, 1:3]
            out[split] = {"with_object": int(has.sum()), "without_object": int((~has).sum()),
                          "per_class": np.bincount(t[has, 0].astype(int), minlength=k).tolist(),
                          "mean_box_wh": wh.mean(0).round(2).tolist() if has.any() else None}
        return {"objects": out}

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        """A decoded ``(6 + K,)`` row -> ``{"object", "p_object"}`` plus ``class``, ``score``, ``box`` when present."""
        p = float(out[0])
        shown: dict[str, Any] = {"object": p > 0.5, "p_object": round(p, 6)}
        if p > 0.5:
            k = int(out[5])
            names = classes or [str(i) for i in range(len(out) - 6)]
            shown.update({"class": names[k], "score": round(float(out[6 + k]), 6),
                          "box": [round(float(v), 2) for v in out[1:5]]})
        return shown

    def to_original(self, result: dict[str, Any], geometry) -> dict[str, Any]:
        """The box in model pixels -> the original image's pixels (undoing the inference resize/crop)."""
        return {**result, "box": geometry.box_to_original(result["box"])} if "box" in result else result

    def state(self) -> dict[str, Any]:
        return {"image_size": self.image_size, "box_weight": self.box_weight}
