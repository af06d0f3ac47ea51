"""Tabular data: embeddings for categorical columns + continuous columns -> MLP.

Batch convention: one float tensor ``(B, k + n_cont)`` whose first ``k =
len(cardinalities)`` columns hold integer category codes ``0 .. n_i - 1`` and
whose remaining columns are continuous. Build the Data with
``Data.from_tensors(..., normalize=False)`` so the codes are not standardised;
the model normalises the continuous columns itself (BatchNorm). Codes outside
``0 .. n_i - 1`` are a :class:`DataError` naming the column: checked over every
split when a :class:`Learner` meets the data, and in each forward pass on CPU
(on a GPU that check would cost a host sync per step).

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

from deepdojo.errors import ConfigError, DataError
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

    def check_codes(self, x: torch.Tensor, where: str = "input", names: list[str] | None = None) -> None:
        """Raise a one-line :class:`DataError` for the first column whose codes fall outside its cardinality."""
        if not self.n_cat or not len(x):
            return
        codes = x[:, : self.n_cat]  # (N, k)
        lo, hi = codes.amin(0).tolist(), codes.amax(0).tolist()  # one host read per call
        for i, (emb, a, b) in enumerate(zip(self.embeds, lo, hi)):
            if a < 0 or b >= emb.num_embeddings:
                bad = a if a < 0 else b
                name = f" ({names[i]!r})" if names and i < len(names) else ""
                raise DataError(f"categorical column {i}{name} has code {bad:g}, outside 0..{emb.num_embeddings - 1} "
                                f"(cardinality {emb.num_embeddings})", where=where,
                                fix="count cardinalities over all splits (max code + 1), or map unseen levels to a spare code")

    def check_data(self, data) -> None:
        """Check every split's codes once (the :class:`Learner` calls this when it meets the data)."""
        names = (data.info.get("tabular") or {}).get("columns")
        for part in ("train", "valid", "test"):
            x = getattr(getattr(data, part, None), "x", None)
            if isinstance(x, torch.Tensor):
                self.check_codes(x, where=f"{data.info.get('name', 'data')} {part} split", names=names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, k + n_cont) -> (B, num_classes)
        exporting = torch.compiler.is_compiling() or torch.compiler.is_exporting()  # a graph has no host reads
        if x.device.type == "cpu" and not exporting:  # free of device syncs here; PyTorch's IndexError names no column
            self.check_codes(x)
        codes = x[:, : self.n_cat].long()  # (B, k)
        parts = [emb(codes[:, i]) for i, emb in enumerate(self.embeds)]  # k x (B, d_i)
        if self.n_cont:
            parts.append(self.cont_norm(x[:, self.n_cat:].float()))
        return self.head(self.body(torch.cat(parts, 1)))


@register_model("tabular", kind="tabular", example={"input_shape": (8,), "kwargs": {"cardinalities": (3, 5), "width": 32}})
def tabular(num_classes: int, in_features: int, **kw) -> TabularModel:
    return TabularModel(num_classes, in_features, **kw)
