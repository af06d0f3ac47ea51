"""Small shared pieces for the model families: width scaling, explicit initialization.

Example:
    >>> from torch import nn
    >>> scaled(64, 0.5), scaled(3, 0.1)
    (32, 1)
    >>> m = init_weights(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Linear(4, 2)), scheme="xavier")
    >>> float(m[1].bias.detach().abs().sum())
    0.0
"""

from __future__ import annotations

from torch import nn

from deepdojo.errors import ConfigError

INIT_SCHEMES = ("kaiming", "xavier")


def scaled(channels: int, width_mult: float) -> int:
    """``channels * width_mult`` rounded, at least 1 (the width multiplier of MobileNet/timm)."""
    return max(1, int(round(channels * width_mult)))


def init_weights(model: nn.Module, scheme: str = "kaiming", nonlinearity: str = "relu") -> nn.Module:
    """Initialize conv and linear weights explicitly; biases to zero, norm layers to (1, 0).

    ``kaiming`` (He et al. 2015) keeps the activation variance constant through
    ReLU layers; ``xavier`` (Glorot & Bengio 2010) suits tanh/sigmoid. Returns
    ``model`` for chaining.
    """
    if scheme not in INIT_SCHEMES:
        raise ConfigError(f"unknown init scheme {scheme!r}", where="init", fix=f"use one of {', '.join(INIT_SCHEMES)}")
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            if scheme == "kaiming":
                nn.init.kaiming_normal_(m.weight, mode="fan_out" if not isinstance(m, nn.Linear) else "fan_in",
                                        nonlinearity=nonlinearity)
            else:
                nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model
