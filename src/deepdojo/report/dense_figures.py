"""A detection or segmentation run's pictures: the worst validation images and the precision-recall curves.

Numbers come from :class:`deepdojo.evaluate.dense_view.DenseView`; this
module draws them into the run folder (``worst_images.png``, and for
detection ``pr_curves.png``) for the report and ``deepdojo interpret``.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from deepdojo.evaluate.dense_view import DenseView
    >>> from deepdojo.tasks import get_task
    >>> target = torch.zeros(2, 8, 8, dtype=torch.long); target[:, 2:6, 2:6] = 1
    >>> out = torch.randn(2, 2, 8, 8)
    >>> v = DenseView.build(get_task("segmentation"), out, target, torch.zeros(2, 3, 8, 8, dtype=torch.uint8), ["bg", "sq"])
    >>> d = Path(tempfile.mkdtemp())
    >>> write_dense_figures(v, d)
    ['worst_images.png']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepdojo.evaluate.dense_pictures import PALETTE, draw_boxes, overlay_mask
from deepdojo.figures import fig_to_png, plain_text, subplots
from deepdojo.io import atomic_write_bytes

# the names of dense_pictures.PALETTE's colours (tab10), for the legend of the mask pictures
COLOUR_NAMES = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey", "olive", "cyan")


def _caption(row: dict) -> str:
    extra = f"found {row['found']} / true {row['true']}" if "found" in row else f"pixels right {row['pixel_accuracy']:.1%}"
    return f"{row['id']}  loss {row['loss']:.3f}\n{extra}"


@plain_text
def worst_boxes_png(view) -> bytes | None:
    """The worst images by loss: true boxes thin white, found boxes in the class colour with class and score."""
    rows = [view.row(i) for i in view.worst()]
    if view.inputs is None or not rows:
        return None
    cols = min(4, len(rows))
    n_rows = -(-len(rows) // cols)
    fig, axes = subplots(n_rows, cols, figsize=(3.2 * cols, 3.8 * n_rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, r in zip(axes.flat, rows):
        i = r["index"]
        ax.imshow(np.asarray(draw_boxes(view.inputs[i], view.predicted[i], view.targets[i], view.classes,
                                        scale=4, min_score=view.conf_threshold)))
        ax.set_title(_caption(r), fontsize=7)
    fig.suptitle("highest loss first: true boxes white, found boxes coloured by class with their score", fontsize=9)
    fig.tight_layout()
    return fig_to_png(fig)


@plain_text
def worst_masks_png(view) -> bytes | None:
    """The worst images by loss, one row each: the image, the true mask, the predicted mask (overlaid)."""
    rows = [view.row(i) for i in view.worst()]
    if view.inputs is None or not rows:
        return None
    k = len(view.classes)
    fig, axes = subplots(len(rows), 3, figsize=(7.5, 2.5 * len(rows)), squeeze=False)
    for line, r in zip(axes, rows):
        i = r["index"]
        scale = max(1, 128 // max(view.inputs.shape[-2:]))
        blank = view.targets[i].new_zeros(view.targets[i].shape)
        pictures = [overlay_mask(view.inputs[i], blank, k, scale=scale),
                    overlay_mask(view.inputs[i], view.targets[i].long(), k, scale=scale),
                    overlay_mask(view.inputs[i], view.predicted[i].long(), k, scale=scale)]
        for ax, pic, what in zip(line, pictures, ("image", "truth", "prediction")):
            ax.imshow(np.asarray(pic))
            ax.axis("off")
            ax.set_title(_caption(r) if what == "image" else what, fontsize=7)
    colours = ", ".join(f"{c} {COLOUR_NAMES[i % len(COLOUR_NAMES)]}" for i, c in enumerate(view.classes[1:]))
    fig.suptitle(f"highest loss first; {view.classes[0]} uncoloured, {colours}", fontsize=9)
    fig.tight_layout()
    return fig_to_png(fig)


@plain_text
def pr_curves_png(view) -> bytes | None:
    """Precision against recall at IoU 0.5, one line per class (the interpolated precision COCO averages)."""
    if not view.curves:
        return None
    fig, ax = subplots(figsize=(6, 4.5))
    recall = np.linspace(0, 1, 101)
    for c, (name, curve) in enumerate(zip(view.classes, view.curves)):
        if curve is None:
            continue
        ap = view.table[c]["ap50"]
        ax.plot(recall, curve, color=np.array(PALETTE[c % len(PALETTE)]) / 255, label=f"{name} (AP@0.5 {ap:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("precision-recall per class, IoU 0.5 (validation)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig_to_png(fig)


def write_dense_figures(view, run_dir: Path) -> list[str]:
    """``worst_images.png`` (and ``pr_curves.png`` for boxes) in ``run_dir``; returns the names written."""
    run_dir = Path(run_dir)
    figures = {"worst_images.png": worst_boxes_png(view) if view.kind == "boxes" else worst_masks_png(view),
               "pr_curves.png": pr_curves_png(view) if view.kind == "boxes" else None}
    written = []
    for name, png in figures.items():
        if png is not None:
            atomic_write_bytes(run_dir / name, png)
            written.append(name)
    return written
