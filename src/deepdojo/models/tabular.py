"""Tabular data: embeddings for categorical columns + continuous columns -> MLP.

Batch convention: one float tensor ``(B, k + n_cont)`` whose first ``k =
len(cardinalities)`` columns hold integer category codes ``0 .. n_i - 1`` and
whose remaining columns are continuous. Build the Data with
``Data.from_tensors(..., normalize=False)`` so the codes are not standardised;
the model normalises the continuous columns itself (BatchNorm).

Example:
    >>> import torch
    >>> m = TabularModel(num_classes=2, in_features=4, cardinalities=(3, 5))
    >>> x = torch.tensor([[0., 4., 0.5, -1.2], [2., 1., 0.1, 0.3]])  # codes, codes, cont, cont
    >>> m(x).shape
    torch.Size([2, 2])
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.layers import init_weights
from deepdojo.models.registry import register_model


def embedding_dim(cardinality: int) -> int:
    """The fastai rule of thumb: grows sub-linearly with the number of categories, at most 600."""
    return min(600, round(1.6 * cardinality**0.56))


class TabularModel(nn.Module):
    """Embeddings (one per categorical column) ++ normalised continuous -> ``depth`` x [Linear, BN, act, dropout] -> Linear."""

    def __init__(self, num_classes: int, in_features: int, cardinalities: tuple[int, ...] = (),
                 emb_dims: tuple[int, ...] | None = None, width: int = 64, depth: int = 2, dropout: float = 0.0,
                 act_layer: type[nn.Module] = nn.ReLU, init: str = "kaiming"):
        super().__init__()
        k = len(cardinalities)
        self.n_cat, self.n_cont = k, in_features - k
        if self.n_cont < 0:
            raise ConfigError(f"{k} categorical columns but only {in_features} input columns", where="cardinalities")
        emb_dims = tuple(emb_dims) if emb_dims is not None else tuple(embedding_dim(n) for n in cardinalities)
        self.embeds = nn.ModuleList(nn.Embedding(n, d) for n, d in zip(cardinalities, emb_dims))
        self.cont_norm = nn.BatchNorm1d(self.n_cont) if self.n_cont else nn.Identity()
        layers, n_in = [], sum(emb_dims) + self.n_cont
        for _ in range(depth):
            layers += [nn.Linear(n_in, width), nn.BatchNorm1d(width), act_layer()] + ([nn.Dropout(dropout)] if dropout else [])
            n_in = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(n_in, num_classes)
        init_weights(self, init)

    def layer_groups(self) -> list[nn.Module]:
        return [nn.ModuleList([self.embeds, self.cont_norm, self.body]), self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, k + n_cont) -> (B, num_classes)
        codes = x[:, : self.n_cat].long()  # (B, k)
        parts = [emb(codes[:, i]) for i, emb in enumerate(self.embeds)]  # k x (B, d_i)
        if self.n_cont:
            parts.append(self.cont_norm(x[:, self.n_cat:].float()))
        return self.head(self.body(torch.cat(parts, 1)))


@register_model("tabular", kind="tabular", example={"input_shape": (8,), "kwargs": {"cardinalities": (3, 5), "width": 32}})
def tabular(num_classes: int, in_features: int, **kw) -> TabularModel:
    return TabularModel(num_classes, in_features, **kw)
