"""Identities for verification / one-shot learning: splits that hold out whole identities, and ``builtin:glyphs``.

A verification model must recognise *new* people (characters, products) from
one example, so validation and test identities never appear in training:
:func:`identity_splits` assigns each identity (class) to exactly one split.
An image folder with one sub-folder per identity becomes such data with
``load_data(folder, task="verification")`` — tasks that need it register their
name in :data:`HELD_OUT_IDENTITY_TASKS`.

``builtin:glyphs`` is generated (no network): each identity is a glyph of three
random pen strokes (quadratic Bézier curves); each example redraws it with
jittered control points, a random rotation, scale, shift and pen width — like
handwritten characters of an unknown alphabet (the Omniglot setting).

Example:
    >>> data = load_glyphs(n_identities=30, per_identity=4, seed=0)
    >>> data.task, data.input_shape, len(data.classes)
    ('verification', (1, 28, 28), 30)
    >>> train_ids = set(data.train.source_y[data.train.index].tolist())
    >>> train_ids.isdisjoint(data.valid.source_y[data.valid.index].tolist())
    True
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from deepdojo.data.core import Data
from deepdojo.errors import DataError

GROUP_SIZE = 4  # K examples per identity in each training batch (P = batch_size // K identities)
HELD_OUT_IDENTITY_TASKS: set[str] = {"verification"}  # task names whose data holds out whole classes (tasks add aliases)


def identity_splits(labels: np.ndarray, valid_pct: float = 0.2, test_pct: float = 0.0,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """Row indices per split with every identity in exactly one split (``valid_pct``/``test_pct`` of the identities)."""
    labels = np.asarray(labels).reshape(-1)
    ids = np.unique(labels)
    n_valid, n_test = int(round(len(ids) * valid_pct)), int(round(len(ids) * test_pct))
    if valid_pct > 0:
        n_valid = max(n_valid, 2)  # pairs of different identities need two
    if test_pct > 0:
        n_test = max(n_test, 2)
    if len(ids) - n_valid - n_test < 2:
        raise DataError(f"{len(ids)} identities cannot be split into train/valid/test with unseen identities "
                        f"({n_valid} valid, {n_test} test leave {len(ids) - n_valid - n_test} to train)",
                        where="identities", fix="give at least 6 identities (one folder each), or lower valid_pct/test_pct")
    order = np.random.default_rng(seed).permutation(ids)
    parts = {"valid": order[:n_valid], "test": order[n_valid:n_valid + n_test], "train": order[n_valid + n_test:]}
    return {k: np.flatnonzero(np.isin(labels, v)) for k, v in parts.items() if len(v)}


def identity_data(x: torch.Tensor, y: torch.Tensor, classes: list[str], *, valid_pct: float, test_pct: float,
                  seed: int, batch_size: int, name: str, **kw) -> Data:
    """:class:`Data` for the ``verification`` task whose splits hold out whole identities."""
    counts = np.bincount(y.numpy(), minlength=len(classes))
    single = [classes[i] for i in np.flatnonzero(counts == 1)]
    if len(single) == len(classes):
        raise DataError("every identity has one example: nothing to learn 'same' from", where=name,
                        fix="give each identity (folder) two or more images")
    splits = identity_splits(y.numpy(), valid_pct, test_pct, seed)
    data = identity_data_with_splits(x, y, classes, splits, seed=seed, batch_size=batch_size, name=name, **kw)
    if single:
        data.info.warnings = [*data.info.warnings, f"{len(single)} identities have a single image (e.g. {single[0]!r}): "
                              "they serve only as negatives"]
    return data


def identity_data_with_splits(x: torch.Tensor, y: torch.Tensor, classes: list[str], splits: dict[str, np.ndarray], *,
                              seed: int, batch_size: int, name: str, **kw) -> Data:
    """:class:`Data` for ``verification`` from identity-disjoint ``splits`` (row indices per split)."""
    with warnings.catch_warnings():  # "class X has no validation examples" is the point here, not a problem
        warnings.simplefilter("ignore")
        data = Data.from_tensors(x, y, splits=splits, batch_size=batch_size, seed=seed, task="verification",
                                 classes=classes, name=name, **kw)
    data.info.warnings = [w for w in data.info.warnings if "none in valid" not in w]
    data.train.group_size = GROUP_SIZE  # P x K identity batches: every anchor has K - 1 positives to mine
    return data


def identity_folder(folder, *, valid_pct: float, test_pct: float, seed: int, batch_size: int,
                    augment: str | None = "auto") -> Data:
    """An :class:`~deepdojo.data.images.ImageFolder` (one sub-folder per identity) with identities held out."""
    if augment == "auto":
        augment = "light" if folder.x.shape[1] == 1 else "default"
    data = identity_data(folder.x, torch.from_numpy(folder.labels), folder.classes, valid_pct=valid_pct,
                         test_pct=test_pct, seed=seed, batch_size=batch_size, name=str(folder.root), ids=folder.paths,
                         fingerprint=folder.fingerprint, augment=augment)
    data.info.decode = {"size": folder.size, "mode": "L" if folder.x.shape[1] == 1 else "RGB"}
    data.info["preprocess"].update(size=folder.size, max_pixels=folder.max_pixels)
    return data


# ------------------------------------------------------------------------------------------ builtin:glyphs
def glyph_arrays(n_identities: int = 100, per_identity: int = 20, size: int = 28, strokes: int = 3,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(x uint8 (N, 1, size, size), y int64 (N,))``: ``per_identity`` handwritten-like drawings of each glyph."""
    rng = np.random.default_rng(seed)
    protos = rng.uniform(0.15, 0.85, (n_identities, strokes, 3, 2))  # (K, S, 3 control points, xy) in [0, 1]
    grid = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="xy"), -1).reshape(-1, 2) + 0.5  # (P, 2)
    ys = np.repeat(np.arange(n_identities), per_identity)
    n = len(ys)
    ctrl = protos[ys] + rng.normal(0, 0.035, (n, strokes, 3, 2))  # (N, S, 3, 2): the hand wobbles
    angle, scale = rng.uniform(-0.3, 0.3, n), rng.uniform(0.75, 1.1, n)
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (N, 2, 2)
    shift = rng.uniform(-0.15, 0.15, (n, 1, 1, 2))
    ctrl = np.einsum("nscj,nij->nsci", ctrl - 0.5, rot) + 0.5 + shift  # rotate/scale about the centre, then shift
    t = np.linspace(0, 1, 24)[:, None]  # (T, 1) along each quadratic Bezier stroke
    pts = ((1 - t) ** 2 * ctrl[:, :, None, 0] + 2 * (1 - t) * t * ctrl[:, :, None, 1]
           + t ** 2 * ctrl[:, :, None, 2]).reshape(n, -1, 2) * size  # (N, S * T, 2) in pixels
    width = rng.uniform(0.8, 1.6, (n, 1))
    grid_t = torch.from_numpy(grid).float()[None]  # (1, P, 2)
    d = torch.cdist(grid_t.expand(n, -1, -1), torch.from_numpy(pts).float()).min(-1).values.numpy()  # (N, P) to the pen
    ink = np.clip(1.0 - (d - width), 0, 1)  # solid within the pen width, 1-pixel soft edge
    xs = (ink * 255).astype(np.uint8).reshape(n, 1, size, size)
    return xs, ys


def load_glyphs(n_identities: int = 100, per_identity: int = 20, seed: int = 0, batch_size: int = 128,
                valid_pct: float = 0.2, test_pct: float = 0.0) -> Data:
    """``builtin:glyphs``: generated glyph identities, valid (and test) identities unseen in training.

    The glyph shapes are fixed (seed 0) whatever ``seed`` says, so runs with
    different seeds see the same data; ``seed`` picks which identities are held out.
    """
    x, y = glyph_arrays(n_identities, per_identity, seed=0)
    classes = [f"glyph{i:03d}" for i in range(n_identities)]
    return identity_data(torch.from_numpy(x), torch.from_numpy(y), classes, valid_pct=valid_pct, test_pct=test_pct,
                         seed=seed, batch_size=batch_size, name="builtin:glyphs", augment=None)
