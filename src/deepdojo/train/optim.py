"""Optimizers from ``torch.optim`` by name, with weight decay where it belongs.

Weight decay (L2 for SGD/RMSprop/Adam, decoupled for AdamW) applies to
weight matrices and conv kernels only: decaying biases and normalization
scales only hurts (as in nanoGPT and timm).

Example:
    >>> import torch
    >>> opt = make_optimizer("sgd", torch.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9, nesterov=True)
    >>> type(opt).__name__, opt.param_groups[0]["nesterov"]
    ('SGD', True)
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

from deepdojo.errors import ConfigError

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw")


def param_groups(params: Iterable, weight_decay: float) -> list[dict[str, Any]]:
    """One group without decay for 1-D tensors (biases, norms); one with it for the rest.

    With ``weight_decay == 0`` a single group is returned (one fused update).
    """
    params = list(params)  # frozen ones too: unfreezing must not need a new optimizer
    if params and isinstance(params[0], dict):
        return params  # already grouped by the caller
    if not weight_decay:
        return [{"params": params, "weight_decay": 0.0}]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return [g for g in ({"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}) if g["params"]]


def make_optimizer(
    opt: str | type | Callable,
    params: Iterable,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float | None = None,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """Build an optimizer from a name, a ``torch.optim`` class or a factory ``f(params, lr=...)``.

    ``momentum=None`` takes each optimizer's usual value: 0.9 for SGD, 0 for RMSprop.
    """
    groups = param_groups(params, weight_decay)
    if not isinstance(opt, str):
        return opt(groups, lr=lr)
    name = opt.lower()
    if name == "sgd":
        m = 0.9 if momentum is None else momentum
        return torch.optim.SGD(groups, lr=lr, momentum=m, nesterov=nesterov and m > 0)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, momentum=momentum or 0.0, alpha=0.99)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=betas)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=betas)
    raise ConfigError(f"unknown optimizer {opt!r}", where="opt", fix=f"use one of {', '.join(OPTIMIZERS)}")


def momentum_key(opt: torch.optim.Optimizer) -> str | None:
    """Which group key carries momentum (for one-cycle momentum cycling), if any."""
    group = opt.param_groups[0]
    if "betas" in group:
        return "betas"
    if group.get("momentum", 0) > 0 and "nesterov" in group:
        return "momentum"
    return None
