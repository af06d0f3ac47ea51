"""Train/valid splits: stratified, seeded, and fingerprinted for the manifest.

Example:
    >>> import numpy as np
    >>> y = np.array([0] * 10 + [1] * 10)
    >>> tr, va = stratified_split(y, valid_pct=0.2, seed=0)
    >>> len(tr), len(va), sorted(np.bincount(y[va]).tolist())
    (16, 4, [2, 2])
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from deepdojo.errors import DataError


def stratified_split(y, valid_pct: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, valid)``: each class contributes ``valid_pct`` of its items.

    Every class with at least two items keeps one in each part. Returned indices
    are sorted, so the split depends only on ``(y, valid_pct, seed)``.
    """
    if not 0.0 < valid_pct < 1.0:
        raise DataError(f"valid_pct must be between 0 and 1, got {valid_pct}", where="valid_pct")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    valid = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        k = int(round(len(idx) * valid_pct))
        k = min(max(k, 1), len(idx) - 1) if len(idx) >= 2 else 0
        valid.append(idx[:k])
    valid_idx = np.sort(np.concatenate(valid)) if valid else np.array([], dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(y)), valid_idx)
    return train_idx.astype(np.int64), valid_idx.astype(np.int64)


def random_split(n: int, valid_pct: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, valid)`` for regression targets (no classes to stratify by)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    k = max(1, int(round(n * valid_pct)))
    return np.sort(perm[k:]).astype(np.int64), np.sort(perm[:k]).astype(np.int64)


def split_hash(splits: dict[str, np.ndarray]) -> str:
    """SHA-256 over the index arrays of every split (order of names fixed)."""
    h = hashlib.sha256()
    for name in sorted(splits):
        h.update(name.encode())
        h.update(np.asarray(splits[name], dtype=np.int64).tobytes())
    return h.hexdigest()


def save_splits(path: Path, splits: dict[str, np.ndarray], ids: list[str] | None = None) -> None:
    """Write ``splits.json``: index lists (and item ids, e.g. relative paths) per split."""
    record = {name: np.asarray(idx).tolist() for name, idx in splits.items()}
    body = {"hash": split_hash(splits), "indices": record}
    if ids is not None:
        body["ids"] = {name: [ids[i] for i in idx] for name, idx in splits.items()}
    from deepdojo.train.run_folder import atomic_write_bytes

    atomic_write_bytes(Path(path), json.dumps(body).encode())
