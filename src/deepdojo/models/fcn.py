"""FCN-8s-style segmentation (Long, Shelhamer & Darrell 2015), the baseline U-Net is measured against, plain torch.

A VGG-like encoder of ``depth`` stages (two 3x3 conv + BatchNorm + ReLU,
then 2x2 max pooling) ends in the "fully connected" layers as convolutions
(``fc6`` a 3x3, ``fc7`` a 1x1: the same move as the sliding-window
detector's). Class scores are predicted at the coarsest resolution
(stride ``2^depth``, 32 for the paper's 5 stages), upsampled 2x and summed
with scores predicted from the encoder at stride ``2^(depth-1)`` ("pool4"),
upsampled 2x again and summed with those at ``2^(depth-2)`` ("pool3"), then
upsampled to the input (the "8s": the finest skip is at stride 8 for depth 5).

Unlike U-Net the decoder has no learnt layers of its own: the skips add
*scores*, not features, and the upsampling is bilinear. The skip scorers
start at zero, as in the paper, so training starts from the coarse
prediction (FCN-32s) and learns what the finer maps add.

Example:
    >>> import torch
    >>> m = create_model("fcn", num_classes=4, in_channels=3, width=8, depth=3)
    >>> m(torch.zeros(2, 3, 30, 30)).shape  # any size: scores are resized to each skip and to the input
    torch.Size([2, 4, 30, 30])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.layers import init_weights
from deepdojo.models.registry import create_model, register_model
from deepdojo.models.unet import double_conv


class FCN8s(nn.Module):
    """Encoder stages (``width * 2^i`` channels, at most ``8 * width``), conv fc6/fc7, three score maps summed."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, depth: int = 5, fc_width: int | None = None):
        super().__init__()
        if depth < 3:
            raise ConfigError(f"FCN-8s needs depth >= 3 (two skips below the coarsest stage), got {depth}",
                              where="model_kwargs", fix="use depth=3 for small images, 5 as in the paper")
        chans = [min(width * 2 ** i, width * 8) for i in range(depth)]
        self.stages = nn.ModuleList([double_conv(in_channels if i == 0 else chans[i - 1], chans[i]) for i in range(depth)])
        fc = fc_width or 2 * chans[-1]
        self.fc = nn.Sequential(nn.Conv2d(chans[-1], fc, 3, padding=1), nn.ReLU(inplace=True),  # fc6 as a conv
                                nn.Conv2d(fc, fc, 1), nn.ReLU(inplace=True))  # fc7 as a 1x1 conv
        self.score = nn.Conv2d(fc, num_classes, 1)  # stride 2^depth
        self.score_mid = nn.Conv2d(chans[-2], num_classes, 1)  # "pool4": stride 2^(depth-1)
        self.score_fine = nn.Conv2d(chans[-3], num_classes, 1)  # "pool3": stride 2^(depth-2)
        init_weights(self)
        for m in (self.score_mid, self.score_fine):
            nn.init.zeros_(m.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, K, H, W)
        size, pooled = x.shape[-2:], []
        for stage in self.stages:
            x = F.max_pool2d(stage(x), 2, ceil_mode=True)  # ceil: odd sizes keep their last row
            pooled.append(x)
        s = self.score(self.fc(x))  # (B, K, H / 2^d, W / 2^d)
        mid = self.score_mid(pooled[-2])
        s = F.interpolate(s, size=mid.shape[-2:], mode="bilinear", align_corners=False) + mid
        fine = self.score_fine(pooled[-3])
        s = F.interpolate(s, size=fine.shape[-2:], mode="bilinear", align_corners=False) + fine
        return F.interpolate(s, size=size, mode="bilinear", align_corners=False)


@register_model("fcn", kind="segmenter", example={"input_shape": (3, 32, 32), "kwargs": {"width": 4, "depth": 3}})
def fcn(num_classes: int, in_channels: int = 3, width: int = 16, depth: int = 5, fc_width: int | None = None) -> FCN8s:
    return FCN8s(num_classes, in_channels, width, depth, fc_width)


__all__ = ["FCN8s", "create_model", "fcn"]
