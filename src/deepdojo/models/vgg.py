"""VGG (Simonyan & Zisserman 2014): stacks of 3x3 convs between 2x2 max pools.

Full (``small_input=False``): the torchvision layout, 7x7 adaptive pool and a
4096-wide head (VGG16: 138.4M parameters for 1000 classes; inputs from 32x32
up). Small (``small_input=True``): the CIFAR layout, batch norm after each conv
and a global pool with a 512-wide head. ``batch_norm`` overrides either default.

Example:
    >>> import torch
    >>> m = VGG("vgg11", in_channels=1, num_classes=10, small_input=True, width_mult=0.125)
    >>> m(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from torch import nn

from deepdojo.models.layers import init_weights, scaled
from deepdojo.models.registry import register_model

# Conv widths per stage; "M" is a 2x2 max pool that halves the image.
CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """``features`` (conv stages) -> adaptive pool -> ``head`` (dropout MLP)."""

    def __init__(self, config: str = "vgg16", in_channels: int = 3, num_classes: int = 1000,
                 width_mult: float = 1.0, small_input: bool = False, batch_norm: bool | None = None,
                 dropout: float = 0.5, act_layer: type[nn.Module] = nn.ReLU,
                 norm_layer: type[nn.Module] = nn.BatchNorm2d, init: str = "kaiming"):
        super().__init__()
        batch_norm = small_input if batch_norm is None else batch_norm
        stages, layers, c = [], [], in_channels
        for v in CONFIGS[config]:
            if v == "M":
                stages.append(nn.Sequential(*layers, nn.MaxPool2d(2)))  # (B, c, H/2, W/2)
                layers = []
                continue
            w = scaled(v, width_mult)
            layers += [nn.Conv2d(c, w, 3, padding=1)] + ([norm_layer(w)] if batch_norm else []) + [act_layer()]
            c = w
        self.features = nn.Sequential(*stages)
        out = 1 if small_input else 7
        hidden = scaled(512 if small_input else 4096, width_mult)
        self.pool = nn.AdaptiveAvgPool2d(out)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c * out * out, hidden), act_layer(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), act_layer(), nn.Dropout(dropout), nn.Linear(hidden, num_classes),
        )
        init_weights(self, init)

    def layer_groups(self) -> list[nn.Module]:
        return [self.features[:3], self.features[3:], self.head]

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.pool(self.features(x)))


_SMALL = {"input_shape": (3, 32, 32), "kwargs": {"small_input": True, "width_mult": 0.125, "dropout": 0.0}}


@register_model("vgg11", example=_SMALL)
def vgg11(num_classes: int, in_channels: int = 3, **kw) -> VGG:
    return VGG("vgg11", in_channels, num_classes, **kw)


@register_model("vgg16", example=_SMALL)
def vgg16(num_classes: int, in_channels: int = 3, **kw) -> VGG:
    return VGG("vgg16", in_channels, num_classes, **kw)
