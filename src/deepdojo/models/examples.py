"""Tiny instances of every registered model and matching input batches (contract tests, demos, docs).

Example:
    >>> model, x = example_model("lstm", num_classes=3), example_batch("lstm", batch=4)
    >>> x.dtype, model(x).shape
    (torch.int64, torch.Size([4, 3]))
"""

from __future__ import annotations

import torch

from deepdojo.models.registry import create_model, model_example, model_kind

KNOWN_KINDS = ("image", "vector", "signal", "sequence", "tabular", "collab")


def example_batch(name: str, batch: int = 8, seed: int = 0) -> torch.Tensor:
    """A batch for ``name``'s example input: token ids (with trailing padding), tabular codes, or floats."""
    shape, kw = model_example(name)
    g = torch.Generator().manual_seed(seed)
    if model_kind(name) == "sequence" and len(shape) == 1:
        x = torch.randint(1, kw["vocab_size"], (batch, *shape), generator=g)
        x[: batch // 2, shape[0] // 2:] = 0  # half the rows padded after the middle
        return x
    if model_kind(name) == "collab":  # (user, item) codes, 0 = cold start
        return torch.stack([torch.randint(0, kw["n_users"], (batch,), generator=g),
                            torch.randint(0, kw["n_items"], (batch,), generator=g)], 1)
    x = torch.randn(batch, *shape, generator=g)
    if model_kind(name) == "tabular":
        for i, n in enumerate(kw.get("cardinalities", ())):
            x[:, i] = torch.randint(0, n, (batch,), generator=g).float()
    return x


def example_model(name: str, num_classes: int = 4, seed: int = 0, **override) -> torch.nn.Module:
    """The registered tiny instance of ``name`` built under ``seed``."""
    shape, kw = model_example(name)
    kind = model_kind(name)
    if kind in ("image", "signal"):
        kw["in_channels"] = shape[0]
    elif kind == "sequence" and len(shape) == 2:
        kw["in_features"] = shape[1]
    elif kind in ("vector", "tabular"):
        kw["in_features"] = shape[0]
    kw.update(override)
    torch.manual_seed(seed)
    return create_model(name, num_classes, **kw)
