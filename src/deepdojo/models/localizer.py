"""A classification-with-localization network: one vector ``[pc, bx, by, bh, bw, c1 .. cK]`` per image.

A small conv backbone (the Darknet block of :mod:`deepdojo.models.detection`)
keeps a coarse ``P x P`` map of *where* things are (adaptive average pooling
to a fixed grid, not to one number: a global average would throw away the
position the box head needs), then two fully connected layers map it to
``num_classes`` raw outputs. The localization task asks for ``5 + K`` of
them (objectness logit, the box's centre and size, K class logits) and owns
their meaning; any other image model with ``5 + K`` outputs works too
(``--arch resnet18``).

Example:
    >>> import torch
    >>> m = create_model("localizer", num_classes=5 + 3, in_channels=3, width=8)
    >>> m(torch.zeros(2, 3, 64, 64)).shape  # pc, bx, by, bh, bw and 3 class logits per image
    torch.Size([2, 8])
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.models.detection import conv_bn
from deepdojo.models.layers import init_weights
from deepdojo.models.registry import create_model, register_model


class Localizer(nn.Module):
    """``downsamples`` stride-2 stages (``width * 2^i`` channels) -> [``P x P`` average pool, global max pool] -> FC -> FC.

    The global max pool carries *what* (the strongest response of each
    feature, wherever it is), the coarse average map *where*.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, downsamples: int = 3,
                 pool: int = 4, hidden: int = 128, dropout: float = 0.0):
        super().__init__()
        layers, c = [], in_channels
        for i in range(downsamples):
            out = width * 2 ** i
            layers += [conv_bn(c, out), conv_bn(out, out, stride=2)]  # look at full resolution, then halve
            c = out
        self.features = nn.Sequential(*layers)
        self.where = nn.AdaptiveAvgPool2d(pool)  # (B, c, P, P): a coarse map of where things are
        self.what = nn.AdaptiveMaxPool2d(1)  # (B, c, 1, 1): the strongest evidence of each feature, anywhere
        self.head = nn.Sequential(nn.Linear(c * (pool * pool + 1), hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(hidden, num_classes))
        init_weights(self, nonlinearity="leaky_relu")

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        f = self.features(x)  # (B, c, H / 2^d, W / 2^d)
        return self.head(torch.cat([self.where(f).flatten(1), self.what(f).flatten(1)], 1))


@register_model("localizer", kind="image", example={"input_shape": (3, 32, 32), "kwargs": {"width": 4, "hidden": 16}})
def localizer(num_classes: int, in_channels: int = 3, width: int = 16, downsamples: int = 3, pool: int = 4,
              hidden: int = 128, dropout: float = 0.0) -> Localizer:
    return Localizer(num_classes, in_channels, width, downsamples, pool, hidden, dropout)


__all__ = ["Localizer", "create_model", "localizer"]
