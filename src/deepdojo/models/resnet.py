"""Residual networks (He et al. 2015): ResNet-18/34 (basic blocks), ResNet-50 (bottlenecks), a small ResNet.

Full stem (``small_input=False``): 7x7 stride-2 conv + 3x3 max pool, as in the
paper and torchvision (ResNet-50: 25.6M parameters for 1000 classes). Small-image
stem (``small_input=True``): one 3x3 stride-1 conv and no pool, so 32x32 images
keep their detail. Each block's last BatchNorm starts at zero: every block
begins as the identity, which is why very deep ResNets train from the first step.

Example:
    >>> import torch
    >>> m = resnet18(num_classes=10, in_channels=1, small_input=True, width_mult=0.25)
    >>> m(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.models.layers import init_weights, scaled
from deepdojo.models.registry import register_model


def _shortcut(c_in: int, c_out: int, stride: int, norm_layer: type[nn.Module]) -> nn.Module:
    """Identity, or a 1x1 projection when the block changes shape."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), norm_layer(c_out))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a skip connection: out = act(x + F(x))."""

    expansion = 1

    def __init__(self, c_in: int, c_out: int, stride: int = 1, norm_layer: type[nn.Module] = nn.BatchNorm2d,
                 act_layer: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = norm_layer(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = norm_layer(c_out)
        nn.init.zeros_(self.bn2.weight)  # the block starts as the identity
        self.shortcut = _shortcut(c_in, c_out, stride, norm_layer)
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (carries the stride) -> 1x1 expand (x4), with a skip connection."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1, norm_layer: type[nn.Module] = nn.BatchNorm2d,
                 act_layer: type[nn.Module] = nn.ReLU):
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = norm_layer(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = norm_layer(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = norm_layer(c_out)
        nn.init.zeros_(self.bn3.weight)
        self.shortcut = _shortcut(c_in, c_out, stride, norm_layer)
        self.act = act_layer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))  # (B, width, H, W)
        out = self.act(self.bn2(self.conv2(out)))  # (B, width, H/stride, W/stride)
        out = self.bn3(self.conv3(out))  # (B, 4 * width, H/stride, W/stride)
        return self.act(out + self.shortcut(x))


class ResNet(nn.Module):
    """stem -> four stages of ``layers`` blocks (widths 64..512 x ``width_mult``, stride 2 from stage 2) -> pool -> fc."""

    def __init__(self, block: type[nn.Module], layers: tuple[int, ...], in_channels: int = 3,
                 num_classes: int = 1000, width_mult: float = 1.0, small_input: bool = False,
                 norm_layer: type[nn.Module] = nn.BatchNorm2d, act_layer: type[nn.Module] = nn.ReLU,
                 init: str = "kaiming"):
        super().__init__()
        c = scaled(64, width_mult)
        if small_input:
            stem = [nn.Conv2d(in_channels, c, 3, 1, 1, bias=False), norm_layer(c), act_layer()]
        else:  # (B, C, 224, 224) -> (B, 64, 56, 56)
            stem = [nn.Conv2d(in_channels, c, 7, 2, 3, bias=False), norm_layer(c), act_layer(), nn.MaxPool2d(3, 2, 1)]
        self.stem = nn.Sequential(*stem)
        stages = []
        for i, n in enumerate(layers):
            width = scaled(64 * 2**i, width_mult)
            blocks = []
            for j in range(n):
                blocks.append(block(c, width, 2 if (i > 0 and j == 0) else 1, norm_layer, act_layer))
                c = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(c, num_classes)
        zero = [m for m in self.modules() if isinstance(m, (BasicBlock, Bottleneck))]
        init_weights(self, init)
        for m in zero:  # init_weights reset every norm to 1: re-zero each block's last one
            nn.init.zeros_((m.bn3 if isinstance(m, Bottleneck) else m.bn2).weight)

    def layer_groups(self) -> list[nn.Module]:
        return [nn.ModuleList([self.stem, self.stages[:2]]), self.stages[2:], self.head]

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.pool(self.stages(self.stem(x))))


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


@register_model("resnet_small", example={"input_shape": (3, 16, 16), "kwargs": {"widths": (8, 16, 16)}})
def resnet_small(num_classes: int, in_channels: int = 3, **kw) -> SmallResNet:
    return SmallResNet(in_channels, num_classes, **kw)


_SMALL = {"input_shape": (3, 16, 16), "kwargs": {"small_input": True, "width_mult": 0.125}}


@register_model("resnet18", example=_SMALL)
def resnet18(num_classes: int, in_channels: int = 3, **kw) -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2), in_channels, num_classes, **kw)


@register_model("resnet34", example=_SMALL)
def resnet34(num_classes: int, in_channels: int = 3, **kw) -> ResNet:
    return ResNet(BasicBlock, (3, 4, 6, 3), in_channels, num_classes, **kw)


@register_model("resnet50", example=_SMALL)
def resnet50(num_classes: int, in_channels: int = 3, **kw) -> ResNet:
    return ResNet(Bottleneck, (3, 4, 6, 3), in_channels, num_classes, **kw)
