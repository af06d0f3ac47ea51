"""A small CNN: conv-BN-ReLU blocks that halve the image, then pool and classify.

Example:
    >>> import torch
    >>> SimpleCNN(in_channels=3, num_classes=4)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 4])
"""

from __future__ import annotations

from torch import nn

from deepdojo.models.registry import register_model


def conv_bn(c_in: int, c_out: int, stride: int = 1, act_layer: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """3x3 conv (no bias: BatchNorm has one) -> BatchNorm -> activation."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), act_layer())


class SimpleCNN(nn.Module):
    """``widths`` stages of [conv stride 1, conv stride 2]; global average pool; linear head."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        widths: tuple[int, ...] = (32, 64, 128),
        dropout: float = 0.1,
        act_layer: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        layers, c = [], in_channels
        for w in widths:
            layers += [conv_bn(c, w, 1, act_layer), conv_bn(w, w, 2, act_layer)]  # (B, w, H/2, W/2)
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.features(x))


@register_model("cnn", example={"input_shape": (3, 16, 16), "kwargs": {"widths": (8, 16), "dropout": 0.0}})
def cnn(num_classes: int, in_channels: int = 3, **kw) -> SimpleCNN:
    return SimpleCNN(in_channels, num_classes, **kw)
