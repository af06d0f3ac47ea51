"""A 1D CNN for signals ``(B, C, L)``: conv-norm-act blocks that halve the length, global pool, linear.

Example:
    >>> import torch
    >>> CNN1d(in_channels=2, num_classes=3, widths=(8, 16))(torch.zeros(4, 2, 100)).shape
    torch.Size([4, 3])
"""

from __future__ import annotations

from torch import nn

from deepdojo.models.layers import init_weights, scaled
from deepdojo.models.registry import register_model


class CNN1d(nn.Module):
    """Per width: conv(k) stride 1 -> conv(k) stride 2, each with norm and activation."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, widths: tuple[int, ...] = (32, 64, 128),
                 kernel_size: int = 5, width_mult: float = 1.0, dropout: float = 0.1,
                 act_layer: type[nn.Module] = nn.ReLU, norm_layer: type[nn.Module] = nn.BatchNorm1d,
                 init: str = "kaiming"):
        super().__init__()
        layers, c, p = [], in_channels, kernel_size // 2
        for w in (scaled(w, width_mult) for w in widths):
            layers += [nn.Conv1d(c, w, kernel_size, 1, p, bias=False), norm_layer(w), act_layer(),
                       nn.Conv1d(w, w, kernel_size, 2, p, bias=False), norm_layer(w), act_layer()]  # (B, w, L/2)
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, num_classes))
        init_weights(self, init)

    def layer_groups(self) -> list[nn.Module]:
        return [self.features, self.head]

    def forward(self, x):  # (B, C, L) -> (B, num_classes)
        return self.head(self.features(x))


@register_model("cnn1d", kind="signal", example={"input_shape": (2, 64), "kwargs": {"widths": (8, 16), "dropout": 0.0}})
def cnn1d(num_classes: int, in_channels: int = 1, **kw) -> CNN1d:
    return CNN1d(in_channels, num_classes, **kw)
