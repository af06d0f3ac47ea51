"""The JSON record of a source's preprocessing, written by every source into ``data.info["preprocess"]``.

Kept free of heavy imports so :mod:`deepdojo.data.core` can build the default
record; :mod:`deepdojo.data.preprocess` turns a record back into a callable.

Kinds and their keys (every record has ``"kind"``):

=================  ==============================================================
``image``          ``channels``, ``height``, ``width``, ``size`` (None: native),
                   ``mode`` ("L"/"RGB"), ``mean``/``std`` (per channel, [0, 1] units),
                   ``max_pixels``, ``decode`` (what the decode does, in words)
``features``       ``n_features``, ``mean``/``std`` (None: not standardized)
``tensor``         ``shape``, ``dtype``: inputs used as given
``signal``         ``channels``, ``length``, ``mean``/``std`` (per channel; see :mod:`deepdojo.data.signals`)
``tabular``        see :class:`deepdojo.data.preprocess.TabularEncoder`
``text``           ``level``, ``vocab``, ``max_len``, ``pad_index``, ``unk_index``, ``text_col``
``language_model`` ``level``, ``vocab``, ``block_size``
=================  ==============================================================

Example:
    >>> image_spec(channels=1, height=8, width=8, mean=[0.5], std=[0.25])["mode"]
    'L'
"""

from __future__ import annotations

from typing import Any

IMAGE_DECODE = ("EXIF orientation applied, transparency composited onto white, 16-bit scaled to 8-bit, "
                "shorter side resized to size then center-cropped (bilinear)")


def image_spec(*, channels: int, height: int, width: int, mean: list[float] | None, std: list[float] | None,
               size: int | None = None, max_pixels: int | None = None) -> dict[str, Any]:
    """How an image file becomes a model input: decode, (resize + crop), channels, normalization."""
    return {"kind": "image", "channels": int(channels), "height": int(height), "width": int(width),
            "size": size, "mode": "L" if channels == 1 else "RGB",
            "mean": None if mean is None else list(mean), "std": None if std is None else list(std),
            "max_pixels": max_pixels, "decode": IMAGE_DECODE}


def features_spec(n_features: int, mean: list[float] | None = None, std: list[float] | None = None) -> dict[str, Any]:
    """Numeric feature vectors, standardized with training statistics when ``mean``/``std`` are given."""
    return {"kind": "features", "n_features": int(n_features), "mean": mean, "std": std}


def tensor_spec(shape: tuple[int, ...], dtype: str) -> dict[str, Any]:
    """Inputs taken as they are (one sample of ``shape``)."""
    return {"kind": "tensor", "shape": list(shape), "dtype": dtype}


def default_spec(x, transform_json: dict | None) -> dict[str, Any]:
    """The record :meth:`Data.from_tensors` writes for ``x`` ``(N, ...)`` and its eval transform's JSON."""
    shape = tuple(x.shape[1:])
    if transform_json and transform_json.get("kind") == "image":
        return image_spec(channels=shape[0], height=shape[1], width=shape[2],
                          mean=transform_json["mean"], std=transform_json["std"])
    if transform_json and transform_json.get("kind") == "features":
        return features_spec(shape[0], transform_json["mean"], transform_json["std"])
    if x.is_floating_point() and len(shape) == 1:
        return features_spec(shape[0])
    return tensor_spec(shape, str(x.dtype).replace("torch.", ""))
