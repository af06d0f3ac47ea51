"""Semantic segmentation: a class for every pixel (U-Net, Dice + cross-entropy).

Targets are ``(B, H, W)`` int64 class ids (``0`` is usually the background);
the model (``arch="unet"``) outputs ``(B, K, H, W)`` logits. The loss is
pixel cross-entropy plus the soft Dice loss ``1 - mean_k 2|P_k T_k| /
(|P_k| + |T_k|)`` over the classes present in the batch (Dice keeps small
objects from drowning in background pixels; cross-entropy gives the
well-behaved gradient at the start). Metrics: mean Dice and IoU over the
classes present, per class after training.

Example:
    >>> import torch
    >>> t = Segmentation()
    >>> target = torch.tensor([[[0, 1], [1, 1]]])  # (B=1, H=2, W=2)
    >>> perfect = torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).float() * 50  # (1, 2, 2, 2) logits
    >>> round(float(t.loss(perfect, target)), 4)
    0.0
    >>> t.format_prediction(t.decode(perfect)[0], ["background", "cell"])["pixels"]
    {'background': 1, 'cell': 3}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.metrics.dense import Dice, DicePerClass, IoU, IoUPerClass
from deepdojo.tasks.base import Task, register_task


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, per_example: bool = False) -> torch.Tensor:
    """``1 - mean Dice`` of softmax probabilities vs one-hot targets over the classes present (per image if asked)."""
    k = logits.shape[1]
    probs = logits.float().softmax(1)  # (B, K, H, W)
    onehot = F.one_hot(target.long(), k).permute(0, 3, 1, 2).float()  # (B, K, H, W)
    dims = (2, 3) if per_example else (0, 2, 3)
    inter = (probs * onehot).sum(dims)  # (B, K) or (K,)
    total = probs.sum(dims) + onehot.sum(dims)
    present = onehot.sum(dims) > 0  # classes absent from the truth would only reward predicting nothing
    dice = 2 * inter / total.clamp_min(1e-6)
    return 1 - (dice * present).sum(-1) / present.sum(-1).clamp_min(1)


@register_task
class Segmentation(Task):
    name = "segmentation"
    description = "a class for every pixel (U-Net; Dice + cross-entropy)"
    monitor = "dice"
    minimize = False
    interpretation = "masks"
    report_sections = ("per_class_dice",)

    def __init__(self, dice_weight: float = 1.0):
        self.dice_weight = float(dice_weight)

    def output_size(self, data) -> int:
        return len(data.classes)

    def default_arch(self, data) -> str:
        return "unet"

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(pred.float(), target.long())
        return ce + self.dice_weight * soft_dice_loss(pred, target)

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ce = F.cross_entropy(pred.float(), target.long(), reduction="none").mean((1, 2))
        return ce + self.dice_weight * soft_dice_loss(pred, target, per_example=True)

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        return out.softmax(1)  # (B, K, H, W) class probabilities per pixel

    def metrics(self) -> list:
        return [Dice(), IoU()]

    def eval_metrics(self) -> list:
        return self.metrics() + [DicePerClass(), IoUPerClass()]

    def target_summary(self, targets: dict[str, np.ndarray], classes: list[str] | None) -> dict[str, Any]:
        k = len(classes) if classes else max(int(y.max()) + 1 for y in targets.values())
        return {"pixel_fraction": {split: (np.bincount(y.reshape(-1).astype(np.int64), minlength=k) / y.size).round(6).tolist()
                                   for split, y in targets.items()}}

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        """Decoded ``(K, H, W)`` probabilities -> the ``(H, W)`` class-id mask and pixels per class."""
        mask = out.argmax(0)  # (H, W)
        names = classes or [str(i) for i in range(out.shape[0])]
        counts = torch.bincount(mask.reshape(-1), minlength=len(names)).tolist()
        return {"mask": mask.tolist(), "pixels": {n: c for n, c in zip(names, counts) if c},
                "classes": names}

    def to_original(self, result: dict[str, Any], geometry) -> dict[str, Any]:
        """The class-id mask resized (nearest) to the original image; pixel counts and shares recounted."""
        mask = geometry.mask_to_original(np.asarray(result["mask"], dtype=np.int64))  # (height, width)
        names = result["classes"]
        counts = np.bincount(mask.reshape(-1), minlength=len(names))
        return {**result, "mask": mask.tolist(), "pixels": {n: int(c) for n, c in zip(names, counts) if c},
                "share": {n: round(float(c) / mask.size, 6) for n, c in zip(names, counts) if c},
                "image_size": [geometry.width, geometry.height]}

    def state(self) -> dict[str, Any]:
        return {"dice_weight": self.dice_weight}
