"""A GAN's picture: a grid of generated samples (``samples.png``) and its report section.

The numbers come from :class:`deepdojo.evaluate.gan_view.GANView`; this module only draws them.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from deepdojo.evaluate.gan_view import GANView
    >>> d = Path(tempfile.mkdtemp())
    >>> write_gan_figures(GANView(torch.rand(5, 1, 8, 8)), d)
    >>> from PIL import Image
    >>> Image.open(d / "samples.png").size   # 3x2 tiles of 32 px (8 px upscaled 4x), 2 px gaps
    (100, 66)
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch

from deepdojo.io import atomic_write_bytes


def tile_png(images: torch.Tensor, min_tile: int = 32, gap: int = 2) -> bytes:
    """Images (N, C, H, W) in [0, 1] -> a PNG grid, near-square, tiles upscaled (nearest) to at least ``min_tile``."""
    from PIL import Image

    n, c, h, w = images.shape
    up = max(1, math.ceil(min_tile / max(h, w)))
    x = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (N, H, W, C)
    x = x.repeat(up, 1).repeat(up, 2)  # (N, H*up, W*up, C)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    th, tw = h * up, w * up
    grid = np.full((rows * th + (rows - 1) * gap, cols * tw + (cols - 1) * gap, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[r * (th + gap):r * (th + gap) + th, q * (tw + gap):q * (tw + gap) + tw] = x[i]
    buf = io.BytesIO()
    Image.fromarray(grid[..., 0] if c == 1 else grid).save(buf, format="PNG")
    return buf.getvalue()


def write_gan_figures(view, run_dir: Path) -> None:
    """``samples.png``: the first (up to 64) generated samples of the view."""
    atomic_write_bytes(Path(run_dir) / "samples.png", tile_png(view.samples))
