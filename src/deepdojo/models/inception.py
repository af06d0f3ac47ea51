"""An Inception network (Szegedy et al. 2014): parallel 1x1, 3x3, 5x5 and pool branches, concatenated.

The 1x1 convolutions before the 3x3 and 5x5 branches reduce the channels first,
which is what makes the wide module affordable: a 5x5 conv over 192 channels
costs 25*192 multiply-adds per output; after a 1x1 reduction to 16, 25*16.

Example:
    >>> import torch
    >>> InceptionModule(32, 8, (8, 16), (4, 8), 8)(torch.zeros(2, 32, 16, 16)).shape
    torch.Size([2, 40, 16, 16])
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.models.layers import init_weights, scaled
from deepdojo.models.registry import register_model


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, act_layer: type[nn.Module] = nn.ReLU,
            norm_layer: type[nn.Module] = nn.BatchNorm2d) -> nn.Sequential:
    """``k x k`` conv with 'same' padding -> norm -> activation."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), norm_layer(c_out), act_layer())


class InceptionModule(nn.Module):
    """Four branches over the same input; output channels = c1 + c3[1] + c5[1] + pool_proj."""

    def __init__(self, c_in: int, c1: int, c3: tuple[int, int], c5: tuple[int, int], pool_proj: int,
                 act_layer: type[nn.Module] = nn.ReLU, norm_layer: type[nn.Module] = nn.BatchNorm2d):
        super().__init__()
        kw = dict(act_layer=act_layer, norm_layer=norm_layer)
        self.branch1 = conv_bn(c_in, c1, 1, **kw)
        self.branch3 = nn.Sequential(conv_bn(c_in, c3[0], 1, **kw), conv_bn(c3[0], c3[1], 3, **kw))  # 1x1 reduce
        self.branch5 = nn.Sequential(conv_bn(c_in, c5[0], 1, **kw), conv_bn(c5[0], c5[1], 5, **kw))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(c_in, pool_proj, 1, **kw))
        self.out_channels = c1 + c3[1] + c5[1] + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c_in, H, W) -> (B, out_channels, H, W)
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


# GoogLeNet's inception 3a, 3b, 4a, 4b: (1x1, (3x3 reduce, 3x3), (5x5 reduce, 5x5), pool projection).
MODULES = [(64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64),
           (192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64)]


class InceptionNet(nn.Module):
    """3x3 stem (64) -> 3a, 3b -> max pool -> 4a, 4b -> global pool -> dropout -> linear."""

    def __init__(self, in_channels: int = 3, num_classes: int = 10, width_mult: float = 1.0, dropout: float = 0.2,
                 act_layer: type[nn.Module] = nn.ReLU, norm_layer: type[nn.Module] = nn.BatchNorm2d,
                 init: str = "kaiming"):
        super().__init__()
        s = lambda c: scaled(c, width_mult)  # noqa: E731
        c = s(64)
        self.stem = nn.Sequential(conv_bn(in_channels, c, 3, 1, act_layer, norm_layer), nn.MaxPool2d(2))
        blocks: list[nn.Module] = []
        for i, (c1, c3, c5, pp) in enumerate(MODULES):
            if i == 2:
                blocks.append(nn.MaxPool2d(2))  # (B, c, H/4, W/4)
            m = InceptionModule(c, s(c1), (s(c3[0]), s(c3[1])), (s(c5[0]), s(c5[1])), s(pp), act_layer, norm_layer)
            blocks.append(m)
            c = m.out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))
        init_weights(self, init)

    def layer_groups(self) -> list[nn.Module]:
        return [nn.ModuleList([self.stem, self.blocks[:2]]), self.blocks[2:], self.head]

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.blocks(self.stem(x)))


@register_model("inception", example={"input_shape": (3, 16, 16), "kwargs": {"width_mult": 0.125, "dropout": 0.0}})
def inception(num_classes: int, in_channels: int = 3, **kw) -> InceptionNet:
    return InceptionNet(in_channels, num_classes, **kw)
