"""Batch-level augmentation with tensor ops: one affine warp per batch, on the device.

Flip, shift (random crop/pad), zoom and small rotation are folded into one
2x3 affine matrix per sample and applied with a single ``grid_sample`` call;
brightness and contrast are per-sample scalars. All randomness comes from the
generator the loader passes in (seeded per batch), so augmentation is
reproducible and resumable.

Example:
    >>> import torch
    >>> aug = make_augment("default")
    >>> g = torch.Generator().manual_seed(0)
    >>> aug(torch.rand(4, 3, 32, 32), g).shape
    torch.Size([4, 3, 32, 32])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from deepdojo.errors import ConfigError


@dataclass
class BatchAugment:
    """Random affine + photometric augmentation of images in [0, 1], shape (B, C, H, W).

    Args:
        flip: mirror left-right with probability 0.5 (wrong for digits and text).
        max_rotate: degrees, uniform in [-max_rotate, max_rotate].
        max_zoom: zoom in by a factor uniform in [1, max_zoom].
        max_shift: fraction of the side to shift by, in each direction.
        brightness, contrast: maximum relative change, uniform in [-v, v].
        padding_mode: ``grid_sample`` fill for pixels warped in from outside
            ("reflection" for photos, "zeros" for dark-background images).
    """

    flip: bool = True
    max_rotate: float = 10.0
    max_zoom: float = 1.1
    max_shift: float = 0.1
    brightness: float = 0.2
    contrast: float = 0.2
    padding_mode: str = "reflection"

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        b, dev = x.shape[0], x.device
        u = torch.rand(b, 7, generator=gen, device=dev) * 2 - 1  # (B, 7) uniform in [-1, 1]
        angle = u[:, 0] * math.radians(self.max_rotate)
        scale = 1.0 / (1.0 + (u[:, 1] + 1) / 2 * (self.max_zoom - 1.0))  # < 1 samples a smaller area = zoom in
        mirror = torch.where(u[:, 4] < 0, -1.0, 1.0) if self.flip else torch.ones(b, device=dev)
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack(
            [
                torch.stack([cos * mirror, -sin, u[:, 2] * 2 * self.max_shift], 1),
                torch.stack([sin * mirror, cos, u[:, 3] * 2 * self.max_shift], 1),
            ],
            1,
        )  # (B, 2, 3); grid coordinates span [-1, 1], so a shift of f sides is 2f
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode=self.padding_mode, align_corners=False)
        if self.brightness or self.contrast:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            c = (1 + u[:, 5] * self.contrast).view(b, 1, 1, 1)
            bright = (u[:, 6] * self.brightness).view(b, 1, 1, 1)
            x = ((x - mean) * c + mean + bright).clamp_(0.0, 1.0)
        return x


PRESETS = {
    # photos: mirror, warp, light changes
    "default": dict(flip=True, max_rotate=10.0, max_zoom=1.1, max_shift=0.1, brightness=0.2, contrast=0.2),
    # symbols and digits: no mirror, dark background
    "light": dict(flip=False, max_rotate=10.0, max_zoom=1.1, max_shift=0.08, brightness=0.1, contrast=0.1,
                  padding_mode="zeros"),
}


def make_augment(preset: str | None) -> BatchAugment | None:
    """The augmentation for a preset name: ``none``/None, ``light``, ``default``, ``auto``.

    ``auto`` means ``default`` here; callers that know their data (digits)
    resolve it to ``light`` first.
    """
    if preset in (None, "none"):
        return None
    preset = "default" if preset == "auto" else preset
    if preset not in PRESETS:
        raise ConfigError(f"unknown augmentation {preset!r}", where="augment", fix=f"use one of none, {', '.join(PRESETS)}")
    return BatchAugment(**PRESETS[preset])
