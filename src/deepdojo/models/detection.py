"""A YOLO-style single-stage detector (YOLOv2/v3 head on a small conv backbone), plain torch.

The image is cut into a ``G x G`` grid of cells (``G = size / stride``);
each cell predicts, for each of ``A`` anchor boxes, ``5 + K`` numbers:
``tx, ty`` (the box centre inside the cell, through a sigmoid), ``tw, th``
(log scale of the anchor's width and height), an objectness logit and K
class logits. Decoding, the anchors (k-means on the training boxes) and the
loss live in :mod:`deepdojo.tasks.detection`; the model only maps images to
``(B, A * (5 + K), G, G)`` raw outputs.

Example:
    >>> import torch
    >>> m = create_model("yolo", num_classes=3, in_channels=3, num_anchors=2, width=8)
    >>> m(torch.zeros(1, 3, 64, 64)).shape  # 2 anchors x (5 + 3) outputs on an 8x8 grid
    torch.Size([1, 16, 8, 8])
    >>> m.stride
    8
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepdojo.models.layers import init_weights
from deepdojo.models.registry import create_model, register_model


def conv_bn(cin: int, cout: int, stride: int = 1, k: int = 3) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> LeakyReLU(0.1), the Darknet block."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.LeakyReLU(0.1, inplace=True))


class YOLO(nn.Module):
    """A strided stem, ``downsamples - 1`` stride-2 stages (``width * 2^i`` channels), a 1x1 prediction head.

    The stem halves the resolution at once: a full-resolution first layer
    would cost as much as the rest of the network for little gain on
    small images.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, num_anchors: int = 3, width: int = 16,
                 downsamples: int = 3, prior: float = 0.01):
        super().__init__()
        self.num_classes, self.num_anchors, self.stride = num_classes, num_anchors, 2 ** downsamples
        layers, c = [conv_bn(in_channels, width, stride=2)], width
        for i in range(downsamples - 1):
            out = width * 2 ** (i + 1)
            layers += [conv_bn(c, out, stride=2), conv_bn(out, out)]
            c = out
        layers += [conv_bn(c, c), conv_bn(c, c)]
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, num_anchors * (5 + num_classes), 1)
        init_weights(self, nonlinearity="leaky_relu")
        with torch.no_grad():  # start with objectness ~ prior: the empty cells do not swamp the first steps
            bias = self.head.bias.view(num_anchors, 5 + num_classes)
            bias[:, 4] = -math.log((1 - prior) / prior)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, A * (5 + K), H / s, W / s)
        return self.head(self.backbone(x))


@register_model("yolo", kind="detector",
                example={"input_shape": (3, 32, 32), "kwargs": {"num_anchors": 2, "width": 8}})
def yolo(num_classes: int, in_channels: int = 3, num_anchors: int = 3, width: int = 16, downsamples: int = 3) -> YOLO:
    return YOLO(num_classes, in_channels, num_anchors, width, downsamples)


__all__ = ["YOLO", "conv_bn", "create_model", "yolo"]
