"""Does a model accept the data's inputs? One line naming the smallest input it does, instead of a traceback.

The check runs a forward pass of a copy of the model built on PyTorch's
``meta`` device: shapes are checked by every layer, but no memory is used
and no arithmetic is done, so it costs milliseconds even for big models.

Example:
    >>> build_checked("lenet5", (1, 8, 8), 10)
    Traceback (most recent call last):
    ...
    deepdojo.errors.ConfigError: arch: model 'lenet5' does not accept 8x8 images; the smallest it accepts is 16x16 (fix: resize with --size 16 (size=16), or pick a model for small inputs such as --arch cnn)
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.registry import create_model_for, model_kind

MAX_SIDE = 1024
CHECKED_KINDS = ("image", "vector", "signal", "tabular", "sequence")  # kinds whose example input is a plain tensor


def _accepts(name: str, shape: tuple[int, ...], num_classes: int, kwargs: dict) -> bool | None:
    """True/False: the forward pass on ``shape`` works; None: the check itself cannot run for this model."""
    if model_kind(name) not in CHECKED_KINDS:  # token-id, pair and detection models: inputs are not plain tensors
        return None
    try:
        with torch.device("meta"):
            model = create_model_for(name, shape, num_classes, **kwargs).eval()
    except ConfigError:
        raise
    except Exception:
        return None
    long_ids = model_kind(name) == "sequence" and "vocab_size" in kwargs
    x = torch.zeros((2, *shape), dtype=torch.long if long_ids else torch.float32, device="meta")
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, ValueError, IndexError) as exc:
        return False if "meta" not in str(exc).lower() or "size" in str(exc).lower() else None
    except Exception:
        return None
    return True


def smallest_side(name: str, shape: tuple[int, ...], num_classes: int, kwargs: dict) -> int | None:
    """The smallest square side ``s`` (above the current one) with ``(C, s, s)`` accepted, or None."""
    c, h, _ = shape
    lo, hi = h, None
    side = max(h + 1, 2)
    while side <= MAX_SIDE:  # doubling, then bisection (models accept every size above their minimum)
        if _accepts(name, (c, side, side), num_classes, kwargs):
            hi = side
            break
        lo, side = side, side * 2
    if hi is None:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _accepts(name, (c, mid, mid), num_classes, kwargs):
            hi = mid
        else:
            lo = mid
    return hi


def build_checked(name: str, input_shape: tuple[int, ...], num_classes: int, **kwargs) -> nn.Module:
    """:func:`~deepdojo.models.create_model_for`, after checking the model accepts ``input_shape``."""
    model = create_model_for(name, input_shape, num_classes, **kwargs)
    if _accepts(name, tuple(input_shape), num_classes, kwargs) is False:
        shape = tuple(input_shape)
        if len(shape) == 3:
            side = smallest_side(name, shape, num_classes, kwargs)
            got = f"{shape[2]}x{shape[1]} images"
            if side is not None:
                raise ConfigError(f"model {name!r} does not accept {got}; the smallest it accepts is {side}x{side}",
                                  where="arch", fix=f"resize with --size {side} (size={side}), or pick a model for "
                                                    "small inputs such as --arch cnn")
            raise ConfigError(f"model {name!r} does not accept {got}", where="arch", fix="pick another --arch")
        raise ConfigError(f"model {name!r} does not accept inputs of shape {shape}", where="arch",
                          fix="pick a model for this kind of data (see `deepdojo summary`)")
    return model
