"""U-Net (Ronneberger et al. 2015) for per-pixel classes, plain torch.

An encoder halves the resolution ``depth`` times (doubling channels), a
decoder doubles it back, and each decoder stage concatenates the encoder
features of its resolution (the skip connections that keep edges sharp).
Outputs ``(B, K, H, W)`` logits; H and W need not be multiples of
``2^depth`` (the decoder crops/pads to the skip's size).

Example:
    >>> import torch
    >>> m = create_model("unet", num_classes=4, in_channels=3, width=8, depth=2)
    >>> m(torch.zeros(2, 3, 30, 30)).shape
    torch.Size([2, 4, 30, 30])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepdojo.models.layers import init_weights
from deepdojo.models.registry import create_model, register_model


def double_conv(cin: int, cout: int) -> nn.Sequential:
    """(conv 3x3 -> BatchNorm -> ReLU) twice: one U-Net stage."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, depth: int = 3):
        super().__init__()
        chans = [width * 2 ** i for i in range(depth + 1)]  # e.g. 16, 32, 64, 128
        self.down = nn.ModuleList([double_conv(in_channels, chans[0])]
                                  + [double_conv(chans[i], chans[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))])
        self.merge = nn.ModuleList([double_conv(2 * chans[i], chans[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(chans[0], num_classes, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, K, H, W)
        skips = []
        for i, stage in enumerate(self.down):
            x = stage(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()  # the bottom stage is x itself
        for up, merge in zip(self.up, self.merge):
            skip = skips.pop()
            x = up(x)
            dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
            x = F.pad(x, (0, dw, 0, dh))  # odd sizes: the upsampled map is one pixel short
            x = merge(torch.cat([skip, x], 1))
        return self.head(x)


@register_model("unet", kind="segmenter", example={"input_shape": (3, 32, 32), "kwargs": {"width": 4, "depth": 2}})
def unet(num_classes: int, in_channels: int = 3, width: int = 16, depth: int = 3) -> UNet:
    return UNet(num_classes, in_channels, width, depth)


__all__ = ["UNet", "create_model", "double_conv", "unet"]
