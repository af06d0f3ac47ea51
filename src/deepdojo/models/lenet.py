"""LeNet-5 (LeCun et al. 1998): two conv + pool stages, then three fully connected layers.

Built for 32x32 inputs as in the paper; any input of at least 16x16 works (an
adaptive pool fixes the 5x5 map the first linear layer expects).

Example:
    >>> import torch
    >>> LeNet5(in_channels=1, num_classes=10)(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from torch import nn

from deepdojo.models.layers import init_weights, scaled
from deepdojo.models.registry import register_model


class LeNet5(nn.Module):
    """conv5 -> pool -> conv5 -> pool -> 120 -> 84 -> classes. ``act_layer=nn.Tanh`` for the original."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width_mult: float = 1.0,
                 act_layer: type[nn.Module] = nn.ReLU, init: str = "kaiming"):
        super().__init__()
        c1, c2 = scaled(6, width_mult), scaled(16, width_mult)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5), act_layer(), nn.MaxPool2d(2),  # 32x32 in: (B, 6, 14, 14)
            nn.Conv2d(c1, c2, 5), act_layer(), nn.MaxPool2d(2),  # (B, 16, 5, 5)
            nn.AdaptiveAvgPool2d(5),
        )
        h1, h2 = scaled(120, width_mult), scaled(84, width_mult)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 25, h1), act_layer(), nn.Linear(h1, h2), act_layer(),
                                  nn.Linear(h2, num_classes))
        init_weights(self, init, "relu" if act_layer is nn.ReLU else "tanh")

    def layer_groups(self) -> list[nn.Module]:
        return [self.features, self.head]

    def forward(self, x):  # (B, C, H, W) -> (B, num_classes)
        return self.head(self.features(x))


@register_model("lenet5", example={"input_shape": (1, 32, 32)})
def lenet5(num_classes: int, in_channels: int = 1, **kw) -> LeNet5:
    return LeNet5(in_channels, num_classes, **kw)
