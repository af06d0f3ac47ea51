"""The schema of a weights file's metadata: what ``predict`` trusts besides the weights.

The metadata lives in the safetensors header under the same hash as the
tensors (see ``checkpoint.py``). It is still checked field by field when it is
written and when it is read, so that a bug, a hand-made dict or a file from
another version gives one line naming the field instead of a wrong answer
(reversed classes, a zero std that turns every probability into NaN).

Fields with a validator in :data:`META_FIELDS` are checked; other keys (for
example what ``learn.save(path, extra={...})`` adds) are kept as they are,
covered by the hash but not interpreted. A new field that predict will rely
on registers its validator with :func:`register_meta_field`, and a new
transform kind with :func:`register_transform_kind`.

Example:
    >>> check_meta({"task": "classification", "classes": ["cat", "dog"], "num_classes": 2,
    ...             "input_shape": [3, 8, 8], "transform": {"kind": "image", "mean": [.5] * 3, "std": [.2] * 3}})
    >>> check_meta({"task": "classification", "classes": ["cat", "cat"]})
    Traceback (most recent call last):
    ...
    deepdojo.errors.CheckpointError: checkpoint metadata: classes: class names must be unique, 'cat' appears twice (fix: ...)
"""

from __future__ import annotations

import math
from typing import Any, Callable

from deepdojo.errors import CheckpointError

# the largest input predict will allocate for one example: 2**28 elements (1 GiB of float32)
MAX_INPUT_ELEMENTS = 2**28
MAX_DIM = 2**20


class MetaError(ValueError):
    """One field is wrong; :func:`check_meta` turns it into a :class:`CheckpointError`."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _nonempty_str(v: Any, meta: dict) -> None:
    if not isinstance(v, str) or not v:
        raise MetaError(f"expected a non-empty string, got {v!r}")


def _classes(v: Any, meta: dict) -> None:
    if v is None:
        return
    if not isinstance(v, list) or not v:
        raise MetaError(f"expected a non-empty list of class names, got {type(v).__name__}")
    seen = set()
    for name in v:
        if not isinstance(name, str):
            raise MetaError(f"class names must be strings, got {name!r}")
        if name in seen:
            raise MetaError(f"class names must be unique, {name!r} appears twice")
        seen.add(name)
    n = meta.get("num_classes")
    if meta.get("task") == "classification" and _is_int(n) and n != len(v):
        raise MetaError(f"{len(v)} class names for a model with {n} outputs")


def _positive_int(v: Any, meta: dict) -> None:
    if not _is_int(v) or v < 1:
        raise MetaError(f"expected a positive integer, got {v!r}")


def _epoch(v: Any, meta: dict) -> None:
    if not _is_int(v) or v < 0:
        raise MetaError(f"expected an integer >= 0, got {v!r}")


def _input_shape(v: Any, meta: dict) -> None:
    if v is None:
        return
    if not isinstance(v, list) or not 1 <= len(v) <= 4 or not all(_is_int(d) and 1 <= d <= MAX_DIM for d in v):
        raise MetaError(f"expected 1 to 4 dimensions, each 1..{MAX_DIM}, got {v!r}")
    if math.prod(v) > MAX_INPUT_ELEMENTS:
        raise MetaError(f"{v} is {math.prod(v)} elements per example, more than {MAX_INPUT_ELEMENTS}")


def _dict(v: Any, meta: dict) -> None:
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        raise MetaError(f"expected a mapping with string keys, got {type(v).__name__}")


def _optional_dict(v: Any, meta: dict) -> None:
    if v is not None:
        _dict(v, meta)


def _finite_list(v: Any, what: str, positive: bool = False) -> list[float]:
    if not isinstance(v, list) or not v or not all(_is_number(x) for x in v):
        raise MetaError(f"{what}: expected a non-empty list of numbers, got {v!r}"[:200])
    bad = next((x for x in v if not math.isfinite(x) or (positive and x <= 0)), None)
    if bad is not None:
        rule = "finite and > 0" if positive else "finite"
        raise MetaError(f"{what}: every value must be {rule}, got {bad!r}")
    return v


def _mean_std(record: dict, meta: dict, channels_from: Callable[[list[int]], int]) -> None:
    mean = _finite_list(record.get("mean"), "mean")
    std = _finite_list(record.get("std"), "std", positive=True)
    if len(mean) != len(std):
        raise MetaError(f"{len(mean)} means but {len(std)} stds")
    shape = meta.get("input_shape")
    if isinstance(shape, list) and shape and len(mean) not in (1, channels_from(shape)):
        raise MetaError(f"{len(mean)} means/stds for input shape {shape}")


TRANSFORM_KINDS: dict[str, Callable[[dict, dict], None]] = {
    "image": lambda r, meta: _mean_std(r, meta, lambda s: s[0]),  # per channel of (C, H, W)
    "features": lambda r, meta: _mean_std(r, meta, lambda s: s[-1]),  # per column of (F,)
    "signal": lambda r, meta: _mean_std(r, meta, lambda s: s[0]),  # per channel of (C, T) (data/signals.py)
}


def _transform(v: Any, meta: dict) -> None:
    if v is None:
        return
    if not isinstance(v, dict):
        raise MetaError(f"expected a mapping or null, got {type(v).__name__}")
    kind = v.get("kind")
    if kind not in TRANSFORM_KINDS:
        raise MetaError(f"unknown transform kind {kind!r} (known: {', '.join(sorted(TRANSFORM_KINDS))})")
    try:
        TRANSFORM_KINDS[kind](v, meta)
    except MetaError as exc:
        raise MetaError(f"{kind}: {exc}") from None


META_FIELDS: dict[str, Callable[[Any, dict], None]] = {
    "task": _nonempty_str,
    "arch": _nonempty_str,
    "num_classes": _positive_int,  # the model's output size
    "classes": _classes,  # output index -> name
    "input_shape": _input_shape,  # one example, e.g. [C, H, W] or [F]
    "transform": _transform,  # what predict applies to a raw input, see data/transforms.py
    "model_kwargs": _dict,
    "epoch": _epoch,
    "record": _dict,  # the epoch's metrics when it was saved
    "task_state": _optional_dict,  # what the task chose on validation (e.g. a multi-label threshold)
    "decode": _optional_dict,  # image decode settings predict repeats (size, mode)
}


def register_meta_field(name: str, validator: Callable[[Any, dict], None]) -> None:
    """Check ``name`` in every checkpoint from now on: ``validator(value, meta)`` raises :class:`MetaError`."""
    META_FIELDS[name] = validator


def register_transform_kind(kind: str, validator: Callable[[dict, dict], None]) -> None:
    """Accept transforms ``{"kind": kind, ...}``; ``validator(record, meta)`` raises :class:`MetaError`."""
    TRANSFORM_KINDS[kind] = validator


def check_meta(meta: Any, where: str | None = None) -> None:
    """Raise a one-line :class:`CheckpointError` naming the first field that breaks the schema."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint metadata: expected a mapping, got {type(meta).__name__}", where=where,
                              fix="re-save the checkpoint with this version of deepdojo")
    for key, validator in META_FIELDS.items():
        if key in meta:
            try:
                validator(meta[key], meta)
            except MetaError as exc:
                raise CheckpointError(f"checkpoint metadata: {key}: {exc}", where=where,
                                      fix="re-save the checkpoint with this version of deepdojo") from None
