"""Box- and mask-aware batch augmentation: flip, scale (zoom in = crop, zoom out = pad) and translation.

One affine warp per image on the device (a single ``grid_sample`` call per
batch), with the targets moved by the same map: box corners are transformed,
clipped to the image, and a box mostly pushed out of the picture is dropped
(its row becomes padding) and counted in :attr:`SceneAugment.dropped`, so no
box disappears silently; masks are warped with nearest sampling (class ids
stay ids) and the area brought in from outside is background (0), like the
image's zero padding.

The map from an input pixel coordinate ``p`` to the output is
``q = s * (mirror(p) - c) + c + t`` (``c`` the image centre, ``s`` the zoom,
``t`` the shift in pixels; ``mirror(x) = W - x``), applied to continuous
coordinates, so box edges and pixel centres move alike.

Example:
    >>> import torch
    >>> aug = SceneAugment([0.5] * 3, [0.25] * 3, scale=(2.0, 2.0), max_shift=0.0, flip=False)
    >>> x = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    >>> boxes = torch.tensor([[[0.0, 12.0, 12.0, 20.0, 20.0], [1.0, 0.0, 0.0, 4.0, 4.0]]])  # (B, M, 5)
    >>> _, moved = aug(x, boxes, torch.Generator().manual_seed(0))
    >>> moved[0].tolist()  # zoom x2 about the centre: the centre box doubles, the corner one leaves the picture
    [[0.0, 8.0, 8.0, 24.0, 24.0], [-1.0, -1.0, -1.0, -1.0, -1.0]]
    >>> aug.dropped, aug.seen
    (1, 2)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from deepdojo.data.transforms import ImageBatchTransform


class SceneAugment(ImageBatchTransform):
    """uint8 ``(B, C, H, W)`` -> normalized float, warped at random with its boxes ``(B, M, 5)`` or masks ``(B, H, W)``.

    Args:
        mean, std: per-channel normalization (training statistics).
        scale: zoom range ``(low, high)``, drawn log-uniform; above 1 crops, below 1 shrinks with zero padding.
        max_shift: translation, as a fraction of each side, uniform in ``[-max_shift, max_shift]``.
        flip: mirror left-right with probability 0.5.
        min_visible: a box keeps at least this share of its (transformed) area inside the image, else it is dropped.
    Saved as a plain image transform: predict never augments.
    """

    def __init__(self, mean, std, scale: tuple[float, float] = (0.75, 1.33), max_shift: float = 0.1,
                 flip: bool = True, min_visible: float = 0.4):
        super().__init__(mean, std)
        if not 0 < scale[0] <= scale[1]:
            raise ValueError(f"scale must be 0 < low <= high, got {scale}")
        self.scale, self.max_shift, self.flip, self.min_visible = tuple(scale), float(max_shift), flip, float(min_visible)
        self.dropped = 0  # boxes pushed out of the picture so far (their rows became padding)
        self.seen = 0  # real boxes that went through

    def draw(self, b: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per image: zoom ``s`` (B,), shifts ``tx, ty`` as fractions of the side (B,), mirror sign (B,) of +-1."""
        u = torch.rand(b, 4, generator=gen, device=gen.device).to(device)  # (B, 4) uniform in [0, 1)
        lo, hi = math.log(self.scale[0]), math.log(self.scale[1])
        s = torch.exp(lo + u[:, 0] * (hi - lo))
        tx, ty = (u[:, 1] * 2 - 1) * self.max_shift, (u[:, 2] * 2 - 1) * self.max_shift
        mirror = torch.where(u[:, 3] < 0.5, -1.0, 1.0) if self.flip else torch.ones(b, device=device)
        return s, tx, ty, mirror

    def __call__(self, xb, yb, gen):
        if gen is None:
            return super().__call__(xb, yb, None)
        x = xb.float().div_(255.0)  # (B, C, H, W) in [0, 1]
        b, _, h, w = x.shape
        s, tx, ty, mirror = self.draw(b, gen, x.device)
        # output -> input in grid units ([-1, 1] spans the image): u_in = mirror * (u_out - 2t) / s
        zero = torch.zeros_like(s)
        theta = torch.stack([torch.stack([mirror / s, zero, -mirror * 2 * tx / s], 1),
                             torch.stack([zero, 1 / s, -2 * ty / s], 1)], 1)  # (B, 2, 3)
        grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)  # (B, H, W, 2)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        x = x.sub_(self.mean.to(x.device)).div_(self.std.to(x.device))
        if yb.dim() == 3 and yb.shape[-1] == 5 and yb.is_floating_point():
            yb = self.move_boxes(yb, s, tx * w, ty * h, mirror, w, h)
        else:  # (B, H, W) class ids: the same warp, nearest, outside = background
            m = F.grid_sample(yb[:, None].float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
            yb = m[:, 0].round().to(yb.dtype)
        return x, yb

    def move_boxes(self, yb: torch.Tensor, s, tx, ty, mirror, w: int, h: int) -> torch.Tensor:
        """Box rows ``(B, M, 5)`` under the warp; rows left mostly outside become padding (``-1``) and are counted."""
        real = yb[..., 0] >= 0  # (B, M)
        x0, y0, x1, y1 = yb[..., 1], yb[..., 2], yb[..., 3], yb[..., 4]
        flipped = (mirror < 0)[:, None]
        x0, x1 = torch.where(flipped, w - x1, x0), torch.where(flipped, w - x0, x1)
        s, tx, ty = s[:, None], tx[:, None], ty[:, None]
        x0, x1 = s * (x0 - w / 2) + w / 2 + tx, s * (x1 - w / 2) + w / 2 + tx
        y0, y1 = s * (y0 - h / 2) + h / 2 + ty, s * (y1 - h / 2) + h / 2 + ty
        area = (x1 - x0) * (y1 - y0)
        cx0, cx1, cy0, cy1 = x0.clamp(0, w), x1.clamp(0, w), y0.clamp(0, h), y1.clamp(0, h)
        inside = (cx1 - cx0).clamp_min(0) * (cy1 - cy0).clamp_min(0)
        keep = real & (inside >= self.min_visible * area.clamp_min(1e-6)) & (cx1 - cx0 >= 1) & (cy1 - cy0 >= 1)
        self.seen += int(real.sum())
        self.dropped += int((real & ~keep).sum())
        moved = torch.stack([yb[..., 0], cx0, cy0, cx1, cy1], -1)
        return torch.where(keep[..., None], moved, torch.full_like(moved, -1.0))
