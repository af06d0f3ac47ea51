"""Collaborative-filtering models over ``(B, 2)`` int64 ``(user, item)`` codes.

Code 0 is "unseen in training" (cold start, see :mod:`deepdojo.data.ratings`):
row 0 of every embedding and bias is fixed at zero (``padding_idx=0``), so a
new user's rating is the global bias plus the item's bias (and vice versa).

- ``dot``: ``y = squash(g + b_u + b_i + p_u . q_i)``, ``squash`` a sigmoid
  onto ``y_range`` (``None``: no squashing).
- ``collab_mlp``: embeddings of user and item concatenated through an MLP,
  plus the same biases, same output range.

Both return ``(B, num_classes)`` (``num_classes=1`` for ratings).

Example:
    >>> import torch
    >>> m = dot(1, n_users=5, n_items=4, n_factors=3, y_range=(0.5, 5.5))
    >>> out = m(torch.tensor([[1, 2], [0, 0]]))
    >>> out.shape, bool(((out > 0.5) & (out < 5.5)).all())
    (torch.Size([2, 1]), True)
    >>> float(m(torch.tensor([[0, 0]]))[0, 0])  # cold start, nothing known: the middle of the range
    3.0
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.models.registry import register_model

_EXAMPLE = {"input_shape": (2,), "kwargs": {"n_users": 40, "n_items": 30, "n_factors": 4, "y_range": (-10.0, 10.0)}}


def _embedding(n: int, dim: int) -> nn.Embedding:
    emb = nn.Embedding(n, dim, padding_idx=0)  # row 0: the cold-start code, kept at zero
    nn.init.normal_(emb.weight, 0, 0.01)
    with torch.no_grad():
        emb.weight[0].zero_()
    return emb


class _Collab(nn.Module):
    def __init__(self, num_classes: int, n_users: int, n_items: int, y_range: tuple[float, float] | None):
        super().__init__()
        self.num_classes = num_classes
        self.user_bias, self.item_bias = _embedding(n_users, num_classes), _embedding(n_items, num_classes)
        self.bias = nn.Parameter(torch.zeros(num_classes))
        self.y_range = tuple(float(v) for v in y_range) if y_range is not None else None

    def _check(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"expected (B, 2) user/item codes, got {tuple(x.shape)}")
        x = x.long()
        return x[:, 0], x[:, 1]  # (B,), (B,)

    def _squash(self, z: torch.Tensor) -> torch.Tensor:
        if self.y_range is None:
            return z
        lo, hi = self.y_range
        return lo + (hi - lo) * torch.sigmoid(z)

    def layer_groups(self) -> list[list[nn.Module | nn.Parameter]]:
        """Embeddings first, then what combines them (discriminative learning rates, freezing)."""
        emb = [self.user_factors, self.item_factors, self.user_bias, self.item_bias]
        return [emb, [m for m in (getattr(self, "mlp", None), self.bias) if m is not None]]

    def biases(self, u: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return self.bias + self.user_bias(u) + self.item_bias(i)  # (B, K)


class DotProductBias(_Collab):
    """Matrix factorization with user/item biases (see the module docstring)."""

    def __init__(self, num_classes: int, n_users: int, n_items: int, n_factors: int = 32,
                 y_range: tuple[float, float] | None = None):
        super().__init__(num_classes, n_users, n_items, y_range)
        self.n_factors = n_factors
        self.user_factors = _embedding(n_users, n_factors * num_classes)
        self.item_factors = _embedding(n_items, n_factors * num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, i = self._check(x)
        p = self.user_factors(u).view(len(u), self.num_classes, self.n_factors)  # (B, K, F)
        q = self.item_factors(i).view(len(i), self.num_classes, self.n_factors)
        return self._squash(self.biases(u, i) + (p * q).sum(-1))  # (B, K)


class CollabMLP(_Collab):
    """Neural collaborative filtering: user and item embeddings -> MLP, plus biases."""

    def __init__(self, num_classes: int, n_users: int, n_items: int, n_factors: int = 32, hidden: int = 64,
                 dropout: float = 0.1, y_range: tuple[float, float] | None = None):
        super().__init__(num_classes, n_users, n_items, y_range)
        self.user_factors, self.item_factors = _embedding(n_users, n_factors), _embedding(n_items, n_factors)
        self.mlp = nn.Sequential(nn.Linear(2 * n_factors, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, i = self._check(x)
        h = torch.cat([self.user_factors(u), self.item_factors(i)], 1)  # (B, 2F)
        return self._squash(self.biases(u, i) + self.mlp(h))  # (B, K)


def _needs(n_users, n_items):
    if n_users is None or n_items is None:
        from deepdojo.errors import ConfigError

        raise ConfigError("collaborative models need n_users and n_items", where="model_kwargs",
                          fix="train with --task collab (it passes them) or pass n_users=..., n_items=...")


@register_model("dot", kind="collab", example=_EXAMPLE)
def dot(num_classes: int = 1, n_users: int | None = None, n_items: int | None = None, n_factors: int = 32,
        y_range: tuple[float, float] | None = None, in_features: int = 2) -> nn.Module:
    """Dot product of user and item factors plus biases, squashed onto ``y_range``."""
    _needs(n_users, n_items)
    return DotProductBias(num_classes, n_users, n_items, n_factors, y_range)


@register_model("collab_mlp", kind="collab", example={**_EXAMPLE, "kwargs": {**_EXAMPLE["kwargs"], "dropout": 0.0}})
def collab_mlp(num_classes: int = 1, n_users: int | None = None, n_items: int | None = None, n_factors: int = 32,
               hidden: int = 64, dropout: float = 0.1, y_range: tuple[float, float] | None = None,
               in_features: int = 2) -> nn.Module:
    """User and item embeddings through an MLP, plus biases, squashed onto ``y_range``."""
    _needs(n_users, n_items)
    return CollabMLP(num_classes, n_users, n_items, n_factors, hidden, dropout, y_range)
