"""A model registry in the style of timm: ``create_model(name, **kw)``, ``list_models()``.

Every builder takes ``num_classes`` and either ``in_channels`` (images
``(C, H, W)``, signals ``(C, L)``) or ``in_features`` (flat vectors, tabular
rows, feature sequences ``(T, F)``), plus its own keyword arguments. Sequence
models over token ids ``(T,)`` take ``vocab_size`` instead.

Each builder may register an ``example``: keyword arguments and an input shape
for a tiny, fast instance (used by the contract tests and ``deepdojo summary``).

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
_KINDS: dict[str, str] = {}  # name -> "image" | "vector" | "signal" | "sequence" | "tabular" | "language_model" | "seq2seq"
# | "collab" | "detector" | "segmenter"
_EXAMPLES: dict[str, dict] = {}
# A small input per kind when a builder registers none: (C, H, W), (F,), (C, L), (T, F), (F,).
DEFAULT_EXAMPLE_SHAPES = {"image": (3, 32, 32), "detector": (3, 32, 32), "segmenter": (3, 32, 32), "vector": (8,),
                          "signal": (2, 64), "sequence": (12, 4), "tabular": (8,)}


def register_model(name: str, kind: str = "image", example: dict | None = None) -> Callable:
    """Decorator adding a builder to the registry under ``name``.

    ``example``: ``{"input_shape": (...), "kwargs": {...}}`` for a tiny instance
    (defaults: :data:`DEFAULT_EXAMPLE_SHAPES` and no keyword arguments).
    """

    def wrap(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        _MODELS[name], _KINDS[name] = fn, kind
        _EXAMPLES[name] = dict(example or {})
        return fn

    return wrap


def model_example(name: str) -> tuple[tuple[int, ...], dict]:
    """``(input_shape, kwargs)`` of a tiny instance of ``name`` (for tests, summaries, demos)."""
    kind = model_kind(name)
    ex = _EXAMPLES[name]
    return tuple(ex.get("input_shape", DEFAULT_EXAMPLE_SHAPES.get(kind, (8,)))), dict(ex.get("kwargs", {}))


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
    """Build ``name`` for samples of ``input_shape`` (``(C, H, W)``, ``(C, L)``, ``(T, F)``, ``(T,)`` or ``(F,)``)."""
    kind = model_kind(name)
    needs = {"image": (3, "images (C, H, W)", "--arch mlp for vector data"),
             "detector": (3, "images (C, H, W)", "an image data set"),
             "segmenter": (3, "images (C, H, W)", "an image data set"),
             "autoencoder": (3, "images (C, H, W)", "an image data set"),
             "signal": (2, "signals (C, L)", "--arch mlp for vector data")}
    if kind in needs:
        ndim, what, fix = needs[kind]
        if len(input_shape) != ndim:
            raise ConfigError(f"model {name!r} needs {what} but the data has samples of shape {tuple(input_shape)}",
                              where="arch", fix=f"use {fix}")
        return create_model(name, num_classes, in_channels=input_shape[0], **kwargs)
    if kind == "gan":  # generator and discriminator both need the full image shape
        return create_model(name, num_classes, input_shape=tuple(input_shape), **kwargs)
    if kind in ("language_model", "seq2seq"):  # token ids in, token logits out: sizes come from the task's kwargs
        return create_model(name, num_classes, **kwargs)
    if kind == "sequence":
        if len(input_shape) == 2:  # (T, F) feature sequences, or (C, T) signals read channels_first
            return create_model(name, num_classes, in_features=input_shape[0 if kwargs.get("channels_first") else 1],
                                **kwargs)
        if "vocab_size" not in kwargs:
            raise ConfigError(f"model {name!r} over token ids needs vocab_size", where="model_kwargs",
                              fix="pass vocab_size=<number of tokens>")
        return create_model(name, num_classes, **kwargs)
    return create_model(name, num_classes, in_features=math.prod(input_shape), **kwargs)


def default_arch(input_shape: tuple[int, ...]) -> str:
    """The model ``arch="auto"`` picks: a small CNN for images, an MLP otherwise."""
    return "cnn" if len(input_shape) == 3 else "mlp"


def _check_name(name: str) -> None:
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list_models(), n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"use one of {', '.join(list_models())}"
        raise ConfigError(f"unknown model {name!r}", where="arch", fix=fix)
