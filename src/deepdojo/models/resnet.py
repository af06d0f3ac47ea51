"""A small ResNet for small images: 3x3 stem, three stages of basic residual blocks.

Example:
    >>> import torch
    >>> SmallResNet(in_channels=1, num_classes=10)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.models.registry import register_model


class BasicBlock(nn.Module):
    """Two 3x3 convs with a skip connection: out = relu(x + F(x)) (He et al. 2015)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, norm_layer: type[nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = norm_layer(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = norm_layer(c_out)
        nn.init.zeros_(self.bn2.weight)  # each block starts as the identity: deep nets train from step one
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:  # 1x1 projection to match shape
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm_layer(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """stem -> stages of ``blocks`` BasicBlocks at ``widths`` (stride 2 after the first) -> pool -> linear."""

    def __init__(self, in_channels: int, num_classes: int, widths=(32, 64, 128), blocks=(1, 1, 1)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        stages, c = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                stages.append(BasicBlock(c, w, stride=2 if (i > 0 and j == 0) else 1))
                c = w
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.stages(self.stem(x)))


@register_model("resnet_small")
def resnet_small(num_classes: int, in_channels: int = 3, **kw) -> SmallResNet:
    return SmallResNet(in_channels, num_classes, **kw)
