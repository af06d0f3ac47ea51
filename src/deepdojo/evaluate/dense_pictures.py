"""Pictures for detection and segmentation: boxes drawn (truth and prediction), masks overlaid.

Each function returns a PIL image (and writes a PNG atomically when given a
path), so the report embeds them and ``interpret`` saves them.

Example:
    >>> import torch
    >>> img = torch.zeros(3, 16, 16, dtype=torch.uint8)
    >>> pred = torch.tensor([[2., 2., 10., 10., 0.9, 1.]] + [[-1., -1., -1., -1., 0., -1.]])
    >>> truth = torch.tensor([[1., 2., 2., 10., 10.]])
    >>> draw_boxes(img, pred, truth, ["a", "b"], scale=4).size
    (64, 64)
    >>> overlay_mask(img, torch.ones(16, 16, dtype=torch.long), 2).size
    (16, 16)
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from deepdojo.train.run_folder import atomic_write_bytes

# a colour per class (tab10), background class 0 of masks left uncoloured
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def _to_pil(image: torch.Tensor, scale: int) -> Image.Image:
    """uint8 ``(C, H, W)`` -> RGB PIL image enlarged ``scale`` times (nearest: pixels stay visible)."""
    arr = image.detach().cpu()
    if arr.dtype != torch.uint8:
        raise ValueError("pass the raw uint8 image (C, H, W), not the normalized tensor")
    arr = arr.permute(1, 2, 0).numpy()
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, 2)
    img = Image.fromarray(arr)
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST) if scale != 1 else img


def _save(img: Image.Image, path: str | Path | None) -> Image.Image:
    if path is not None:
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        atomic_write_bytes(Path(path), buf.getvalue())
    return img


def draw_boxes(image: torch.Tensor, pred: torch.Tensor | None, truth: torch.Tensor | None, classes: list[str],
               scale: int = 4, min_score: float = 0.25, path: str | Path | None = None) -> Image.Image:
    """Truth boxes dashed-thin in white, predictions in the class colour with ``class score``.

    ``pred``: decoded ``(D, 6)`` rows ``x0, y0, x1, y1, score, class`` (class -1: empty);
    ``truth``: ``(M, 5)`` rows ``class, x0, y0, x1, y1`` (class -1: padding).
    """
    img = _to_pil(image, scale)
    draw = ImageDraw.Draw(img)
    if truth is not None:
        for c, *box in truth.tolist():
            if c >= 0:
                draw.rectangle([v * scale for v in box], outline=(255, 255, 255), width=1)
    if pred is not None:
        for *box, score, c in pred.tolist():
            if c < 0 or score < min_score:
                continue
            colour = PALETTE[int(c) % len(PALETTE)]
            draw.rectangle([v * scale for v in box], outline=colour, width=2)
            draw.text((box[0] * scale + 2, box[1] * scale + 1), f"{classes[int(c)]} {score:.2f}", fill=colour)
    return _save(img, path)


def overlay_mask(image: torch.Tensor, mask: torch.Tensor, num_classes: int, alpha: float = 0.5, scale: int = 1,
                 path: str | Path | None = None) -> Image.Image:
    """The ``(H, W)`` class-id ``mask`` blended over the image in class colours (class 0 left as is)."""
    base = np.asarray(_to_pil(image, scale)).astype(np.float32)
    m = mask.detach().cpu().numpy()
    if scale != 1:
        m = np.kron(m, np.ones((scale, scale), m.dtype))
    colours = np.array([(0, 0, 0)] + [PALETTE[(k - 1) % len(PALETTE)] for k in range(1, num_classes)], np.float32)
    a = np.where(m > 0, alpha, 0.0)[..., None]
    out = base * (1 - a) + colours[m] * a
    return _save(Image.fromarray(out.round().astype(np.uint8)), path)
