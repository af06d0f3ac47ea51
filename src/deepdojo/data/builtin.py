"""Built-in datasets that need no network: ``builtin:NAME``.

Example:
    >>> data = load_builtin("xor", seed=0)
    >>> data.task, data.classes, data.input_shape
    ('classification', ['0', '1'], (2,))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deepdojo.data.core import Data
from deepdojo.data.signals import EEG_BANDS, eeg_arrays, signal_data
from deepdojo.errors import DataError


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits as uint8 images ``(1797, 1, 8, 8)`` in 0..255 and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]  # 0..16 -> 0..255
    return x, d.target.astype(np.int64)


def xor_arrays(n: int = 400, seed: int = 0, noise: float = 0.1):
    """Four noisy clusters at the corners of a square; label = x > 0 XOR y > 0."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    x = (corners * 2 - 1) + rng.normal(0, noise, size=(n, 2))
    return x.astype(np.float32), (corners[:, 0] ^ corners[:, 1]).astype(np.int64)


def spirals_arrays(n: int = 600, seed: int = 0, noise: float = 0.05):
    """Two interleaved spirals (1.5 turns each): not separable by any line."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0.1, 1.0, n) * 3 * np.pi
    r = t / (3 * np.pi)
    x = np.stack([r * np.cos(t + np.pi * y), r * np.sin(t + np.pi * y)], 1) + rng.normal(0, noise, (n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def moons_arrays(n: int = 500, seed: int = 0, noise: float = 0.15):
    """scikit-learn's two half moons."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


def circles_arrays(n: int = 500, seed: int = 0, noise: float = 0.08):
    """scikit-learn's two concentric circles: separable only by a curved boundary."""
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


def blobs_arrays(n: int = 600, seed: int = 0):
    """scikit-learn's Gaussian blobs: four classes in two dimensions."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=n, centers=4, cluster_std=1.0, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


def diabetes_arrays():
    """scikit-learn's diabetes regression: 442 patients, 10 features, a float target."""
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    return d.data.astype(np.float32), d.target.astype(np.float32)


SHAPES = ("circle", "square", "triangle")


def shapes_dataset(n: int = 600, size: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    """Generated images of one circle, square or triangle each, with its box and mask.

    Returns ``x`` uint8 ``(N, 3, size, size)``, ``y`` int64 (index into
    :data:`SHAPES`), ``boxes`` float32 ``(N, 4)`` as ``x0, y0, x1, y1`` in
    pixels, ``masks`` bool ``(N, size, size)``: for classification, detection
    and segmentation alike.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5  # pixel centres
    x = np.empty((n, 3, size, size), np.uint8)
    masks = np.empty((n, size, size), bool)
    boxes = np.empty((n, 4), np.float32)
    y = rng.integers(0, 3, n)
    for i in range(n):
        r = rng.uniform(size * 0.15, size * 0.3)
        cx, cy = rng.uniform(r, size - r, 2)
        if y[i] == 0:
            m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        elif y[i] == 1:
            m = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
        else:  # apex up: inside when below the apex and within the widening sides
            m = (yy >= cy - r) & (yy <= cy + r) & (np.abs(xx - cx) <= (yy - (cy - r)) / 2)
        bg, fg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        while np.abs(fg.astype(int) - bg).sum() < 150:  # keep the shape visible
            fg = rng.integers(0, 256, 3)
        x[i] = np.where(m[None], fg[:, None, None], bg[:, None, None])
        masks[i] = m
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        boxes[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return {"x": x, "y": y.astype(np.int64), "boxes": boxes, "masks": masks}


def shapes_arrays(seed: int = 0):
    d = shapes_dataset(seed=seed)
    return d["x"], d["y"]


BUILTINS = {
    "digits": digits_arrays,
    "xor": xor_arrays,
    "spirals": spirals_arrays,
    "moons": moons_arrays,
    "circles": circles_arrays,
    "blobs": blobs_arrays,
    "diabetes": diabetes_arrays,
    "shapes": shapes_arrays,
    "eeg": eeg_arrays,  # generated EEG-like signals (N, 2, 128): data/signals.py
}
FIXED = ("digits", "diabetes")  # real data sets: no seed to shape them


def builtin_names() -> list[str]:
    from deepdojo.data.scenes import SCENES

    return sorted([*BUILTINS, "ratings", *SCENES])


def builtin_arrays(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The raw arrays of a built-in dataset (``seed`` shapes the generated ones)."""
    if name not in BUILTINS:
        raise DataError(
            f"unknown built-in dataset {name!r}", where=f"builtin:{name}", fix=f"use one of {', '.join(builtin_names())}"
        )
    fn = BUILTINS[name]
    return fn() if name in FIXED else fn(seed=seed)


def load_builtin(name: str, seed: int = 0, batch_size: int = 64, valid_pct: float = 0.2, augment: str | None = "auto",
                 test_pct: float = 0.0) -> Data:
    """A built-in dataset as :class:`Data` (stratified split under ``seed``; ``test_pct`` seals a test slice).

    Images (digits) get the ``light`` augmentation for ``augment="auto"``: no
    mirroring, since a mirrored digit is not the same digit. ``diabetes`` is
    a regression (float targets); ``shapes`` names its classes; ``eeg`` is a set of
    signals (:func:`~deepdojo.data.signals.eeg_arrays`) whose classes are frequency bands.
    """
    if name == "ratings":  # pairs of ids, not feature rows
        return load_ratings_builtin(seed=seed, batch_size=batch_size, valid_pct=valid_pct)
    from deepdojo.data.scenes import SCENES, load_scenes

    if name in SCENES:  # boxes or masks as targets, not class labels
        return load_scenes(name, seed=seed, batch_size=batch_size, valid_pct=valid_pct, test_pct=test_pct,
                           augment=None if augment in (None, "none") else "auto")
    x, y = builtin_arrays(name, seed)
    if x.ndim == 3 and x.dtype == np.float32:  # signals (N, C, T): per-channel standardized, cnn1d by default
        return signal_data(x, y, valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size,
                           classes=list(EEG_BANDS), name=f"builtin:{name}")
    is_image = x.ndim == 4
    if augment == "auto":
        augment = "light" if is_image else None
    return Data.from_tensors(
        torch.from_numpy(x), torch.from_numpy(y), valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size,
        augment=augment if is_image else None, name=f"builtin:{name}",
        classes=list(SHAPES) if name == "shapes" else None,
    )


def export_image_folder(name: str, path: str | Path) -> Path:
    """Write an image built-in as PNGs in class subfolders (``path/<class>/<i>.png``)."""
    from PIL import Image

    x, y = builtin_arrays(name)
    if x.ndim != 4:
        raise DataError(f"builtin:{name} is not an image dataset", where=f"builtin:{name}", fix="use builtin:digits")
    path = Path(path)
    for i, (img, label) in enumerate(zip(x, y)):
        folder = path / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[0], mode="L").save(folder / f"{i:05d}.png")
    return path


RATINGS_NOISE = 0.3  # the planted ratings' noise sd: the RMSE no model can beat (the noise floor)


def ratings_arrays(n_users: int = 300, n_items: int = 200, rank: int = 3, density: float = 0.25,
                   noise: float = RATINGS_NOISE, seed: int = 0) -> dict[str, np.ndarray]:
    """A planted rank-``rank`` ratings matrix plus biases and Gaussian noise of sd ``noise``.

    ``rating = 3 + b_user + b_item + u . v + noise`` for a random ``density``
    share of (user, item) pairs; ``clean`` is the rating without noise, so the
    best possible RMSE is ``noise`` (the noise floor).
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 1 / rank ** 0.25, (n_users, rank))
    v = rng.normal(0, 1 / rank ** 0.25, (n_items, rank))
    bu, bi = rng.normal(0, 0.3, n_users), rng.normal(0, 0.3, n_items)
    pairs = np.flatnonzero(rng.random(n_users * n_items) < density)
    users, items = pairs // n_items, pairs % n_items
    clean = 3.0 + bu[users] + bi[items] + (u[users] * v[items]).sum(1)
    return {"users": users, "items": items, "clean": clean.astype(np.float32),
            "ratings": (clean + rng.normal(0, noise, len(clean))).astype(np.float32)}


def load_ratings_builtin(seed: int = 0, batch_size: int = 64, valid_pct: float = 0.2) -> Data:
    """``builtin:ratings``: :func:`ratings_arrays` as collaborative-filtering :class:`Data` (per-user split)."""
    from deepdojo.data.ratings import ratings_data

    d = ratings_arrays(seed=seed)
    return ratings_data([f"u{k}" for k in d["users"]], [f"i{k}" for k in d["items"]], d["ratings"], split="user",
                        valid_pct=valid_pct, seed=seed, batch_size=batch_size, name="builtin:ratings")
