"""A model registry in the style of timm: ``create_model(name, **kw)``, ``list_models()``.

Every builder takes ``num_classes`` and either ``in_channels`` (images) or
``in_features`` (flat vectors), plus its own keyword arguments.

Example:
    >>> from deepdojo.models import create_model
    >>> m = create_model("cnn", num_classes=10, in_channels=1)
    >>> import torch
    >>> m(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

import difflib
import math
from typing import Callable

from torch import nn

from deepdojo.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_KINDS: dict[str, str] = {}  # name -> "image" | "vector" | "any"


def register_model(name: str, kind: str = "image") -> Callable:
    """Decorator adding a builder to the registry under ``name``."""

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name], _KINDS[name] = fn, kind
        return fn

    return wrap


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return sorted(_MODELS)


def model_kind(name: str) -> str:
    _check_name(name)
    return _KINDS[name]


def create_model(name: str, num_classes: int, **kwargs) -> nn.Module:
    """Build a registered model; unknown names and arguments are clear errors."""
    _check_name(name)
    try:
        return _MODELS[name](num_classes=num_classes, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad argument for model {name!r}: {exc}", where="model_kwargs") from None


def create_model_for(name: str, input_shape: tuple[int, ...], num_classes: int, **kwargs) -> nn.Module:
    """Build ``name`` for samples of ``input_shape`` (``(C, H, W)`` or ``(F,)``)."""
    kind = model_kind(name)
    if kind == "image":
        if len(input_shape) != 3:
            raise ConfigError(
                f"model {name!r} needs images (C, H, W) but the data has samples of shape {tuple(input_shape)}",
                where="arch", fix="use --arch mlp for vector data",
            )
        return create_model(name, num_classes, in_channels=input_shape[0], **kwargs)
    return create_model(name, num_classes, in_features=math.prod(input_shape), **kwargs)


def default_arch(input_shape: tuple[int, ...]) -> str:
    """The model ``arch="auto"`` picks: a small CNN for images, an MLP otherwise."""
    return "cnn" if len(input_shape) == 3 else "mlp"


def _check_name(name: str) -> None:
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list_models(), n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(list_models())}"
        raise ConfigError(f"unknown model {name!r}", where="arch", fix=fix)
