"""Linear models and multi-layer perceptrons over flattened inputs.

Example:
    >>> import torch
    >>> m = MLP(in_features=2, num_classes=2, width=8, depth=2)
    >>> m(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
"""

from __future__ import annotations

from torch import nn

from deepdojo.models.layers import init_weights
from deepdojo.models.registry import register_model


class MLP(nn.Sequential):
    """Flatten -> ``depth`` x (Linear -> [BatchNorm] -> act -> [Dropout]) -> Linear.

    ``depth=0`` is the hyperplane: a single linear layer (logistic regression
    under cross-entropy).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        width: int = 64,
        depth: int = 2,
        act_layer: type[nn.Module] = nn.ReLU,
        dropout: float = 0.0,
        batch_norm: bool = False,
        init: str = "kaiming",
    ):
        layers: list[nn.Module] = [nn.Flatten()]
        n_in = in_features
        for _ in range(depth):
            layers.append(nn.Linear(n_in, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(act_layer())
            if dropout:
                layers.append(nn.Dropout(dropout))
            n_in = width
        layers.append(nn.Linear(n_in, num_classes))
        super().__init__(*layers)
        init_weights(self, init)  # Kaiming for ReLU-family hidden layers; "xavier" for tanh/sigmoid


@register_model("mlp", kind="vector")
def mlp(num_classes: int, in_features: int, **kw) -> MLP:
    return MLP(in_features, num_classes, **kw)


@register_model("linear", kind="vector")
def linear(num_classes: int, in_features: int) -> MLP:
    """One linear layer: logistic regression (classification) or linear regression."""
    return MLP(in_features, num_classes, depth=0)


@register_model("logistic", kind="vector")
def logistic(num_classes: int, in_features: int) -> MLP:
    """The hyperplane under cross-entropy: logistic (softmax) regression. Same model as ``linear``."""
    return MLP(in_features, num_classes, depth=0, init="xavier")
