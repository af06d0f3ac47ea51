"""Evaluation figures as PNG bytes: confusion matrix, example galleries, filters, activations, Grad-CAM."""

from __future__ import annotations

import math

import numpy as np
import torch

from deepdojo.figures import _show, gallery_png  # noqa: F401 (re-exported: they live in the bottom layer)
from deepdojo.report.plots import fig_to_png, plain_text, subplots


@plain_text
def confusion_png(cm: np.ndarray, classes: list[str]) -> bytes:
    """Counts with the row-normalized share as colour (rows: actual, columns: predicted)."""
    cm = np.asarray(cm)
    k = len(classes)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    side = min(12, 2.5 + 0.45 * k)
    fig, ax = subplots(figsize=(side, side))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), classes, rotation=90 if k > 6 else 0)
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", color="white" if share[i, j] > 0.5 else "black",
                        fontsize=8)
    ax.set_title("confusion matrix")
    fig.tight_layout()
    return fig_to_png(fig)


@plain_text  # the title carries a layer name from the user's model
def maps_png(maps: torch.Tensor, title: str, max_maps: int = 32) -> bytes:
    """Feature maps or filters ``(N, h, w)`` (or ``(N, C, h, w)``: channels averaged) in a grid."""
    m = maps.float()[:max_maps]
    if m.dim() == 4:
        m = m.mean(1) if m.shape[1] != 3 else m
    n = len(m)
    cols = min(8, n)
    rows = math.ceil(n / cols)
    fig, axes = subplots(rows, cols, figsize=(1.4 * cols, 1.4 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, a in zip(axes.flat, m):
        ax.imshow(a.permute(1, 2, 0).numpy() if a.dim() == 3 else a.numpy(), cmap=None if a.dim() == 3 else "viridis")
    fig.suptitle(title)
    fig.tight_layout()
    return fig_to_png(fig)


@plain_text
def gradcam_png(image: torch.Tensor, heat: torch.Tensor, caption: str) -> bytes:
    """The image ``(C, H, W)`` beside itself overlaid with the heat map ``(H, W)``."""
    fig, axes = subplots(1, 2, figsize=(6, 3.2))
    _show(axes[0], image)
    axes[0].set_title("image", fontsize=9)
    _show(axes[1], image)
    axes[1].imshow(heat.numpy(), cmap="jet", alpha=0.45, vmin=0, vmax=1)
    axes[1].set_title(caption, fontsize=9)
    fig.tight_layout()
    return fig_to_png(fig)
