"""Where a model input's pixels came from in the original image: undo the decode resize/crop.

Inference brings each image to the training input size — the whole image
stretched (a run trained at native size) or shorter side scaled then centre
cropped (a run trained with ``--size``). Box coordinates and masks predicted in
that model space are only useful to a user in the ORIGINAL image's pixels;
:class:`InputGeometry` holds the map ``model = original * scale - offset`` per axis.

Example:
    >>> g = InputGeometry.stretch(200, 100, 64, 64)  # a 200x100 image squashed to 64x64
    >>> g.box_to_original([32, 32, 64, 64])
    [100.0, 50.0, 200.0, 100.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class InputGeometry:
    """Original ``width x height``; model x = orig x * ``sx`` - ``left`` (y likewise with ``sy``, ``top``)."""

    width: int
    height: int
    sx: float
    sy: float
    left: float = 0.0
    top: float = 0.0

    @classmethod
    def stretch(cls, width: int, height: int, model_w: int, model_h: int) -> "InputGeometry":
        """The whole image resized to ``model_w x model_h`` (no crop)."""
        return cls(width, height, model_w / width, model_h / height)

    @classmethod
    def resize_crop(cls, width: int, height: int, size: int) -> "InputGeometry":
        """Shorter side to ``size`` then a centred square, exactly as :func:`check_images.resize_crop`."""
        if (width, height) == (size, size):
            return cls(width, height, 1.0, 1.0)
        scale = size / min(width, height)
        nw, nh = max(size, round(width * scale)), max(size, round(height * scale))
        return cls(width, height, nw / width, nh / height, (nw - size) // 2, (nh - size) // 2)

    def box_to_original(self, box) -> list[float]:
        """``[x0, y0, x1, y1]`` in model pixels -> original pixels, clipped to the image."""
        x0, y0, x1, y1 = (float(v) for v in box)
        xs = np.clip([(x0 + self.left) / self.sx, (x1 + self.left) / self.sx], 0, self.width)
        ys = np.clip([(y0 + self.top) / self.sy, (y1 + self.top) / self.sy], 0, self.height)
        return [round(float(xs[0]), 2), round(float(ys[0]), 2), round(float(xs[1]), 2), round(float(ys[1]), 2)]

    def mask_to_original(self, mask: np.ndarray) -> np.ndarray:
        """A model-space class-id mask ``(h, w)`` -> ``(height, width)``, nearest pixel centre.

        Original pixels outside a centre crop take the nearest predicted edge pixel.
        """
        h, w = mask.shape
        cols = np.floor((np.arange(self.width) + 0.5) * self.sx - self.left).astype(int).clip(0, w - 1)
        rows = np.floor((np.arange(self.height) + 0.5) * self.sy - self.top).astype(int).clip(0, h - 1)
        return mask[rows[:, None], cols[None, :]]
