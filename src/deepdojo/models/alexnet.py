"""AlexNet (Krizhevsky et al. 2012), the torchvision single-tower layout, plus a small-image variant.

Full (``small_input=False``): 11x11 stride-4 stem, three 3x3/2 max pools, 6x6
adaptive pool, two 4096-wide dropout layers; 61.1M parameters for 1000 classes;
inputs from 63x63 up (224x224 as in the paper). Small (``small_input=True``):
3x3 stride-1 stem and 2x2 pools for 32x32-ish images, a 2x2 pool before the head.

Example:
    >>> import torch
    >>> m = AlexNet(in_channels=3, num_classes=10, small_input=True, width_mult=0.25)
    >>> m(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from torch import nn

from deepdojo.models.layers import init_weights, scaled
from deepdojo.models.registry import register_model


class AlexNet(nn.Module):
    """Five convs (64, 192, 384, 256, 256 x ``width_mult``) -> pool -> dropout MLP head."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1000, width_mult: float = 1.0,
                 small_input: bool = False, dropout: float = 0.5, act_layer: type[nn.Module] = nn.ReLU,
                 init: str = "kaiming"):
        super().__init__()
        c1, c2, c3, c4, c5 = (scaled(c, width_mult) for c in (64, 192, 384, 256, 256))
        if small_input:
            stem, pool, out = nn.Conv2d(in_channels, c1, 3, 1, 1), lambda: nn.MaxPool2d(2), 2
        else:
            stem, pool, out = nn.Conv2d(in_channels, c1, 11, 4, 2), lambda: nn.MaxPool2d(3, 2), 6
        self.features = nn.Sequential(
            stem, act_layer(), pool(),  # 224 in: (B, 64, 27, 27)
            nn.Conv2d(c1, c2, 5, padding=2), act_layer(), pool(),  # (B, 192, 13, 13)
            nn.Conv2d(c2, c3, 3, padding=1), act_layer(),
            nn.Conv2d(c3, c4, 3, padding=1), act_layer(),
            nn.Conv2d(c4, c5, 3, padding=1), act_layer(), pool(),  # (B, 256, 6, 6)
        )
        self.pool = nn.AdaptiveAvgPool2d(out)
        hidden = scaled(4096, width_mult)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(c5 * out * out, hidden), act_layer(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), act_layer(), nn.Linear(hidden, num_classes),
        )
        init_weights(self, init)

    def layer_groups(self) -> list[nn.Module]:
        return [self.features[:6], self.features[6:], self.head]

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.pool(self.features(x)))


@register_model("alexnet", example={"input_shape": (3, 32, 32),
                                    "kwargs": {"small_input": True, "width_mult": 0.125, "dropout": 0.0}})
def alexnet(num_classes: int, in_channels: int = 3, **kw) -> AlexNet:
    return AlexNet(in_channels, num_classes, **kw)
