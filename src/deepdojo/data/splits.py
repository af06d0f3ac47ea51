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


def holdout_splits(y, valid_pct: float, test_pct: float = 0.0, seed: int = 0,
                   stratify: bool = True) -> dict[str, np.ndarray]:
    """``{"train", "valid"[, "test"]}`` index arrays: a sealed test slice first, then valid from the rest.

    The test slice has its own seed stream, so it does not move when ``valid_pct``
    changes; with ``test_pct=0`` the result equals :func:`stratified_split`
    (or :func:`random_split` when ``stratify`` is False) exactly.

    >>> y = np.array([0] * 50 + [1] * 50)
    >>> s = holdout_splits(y, 0.2, test_pct=0.1, seed=0)
    >>> [len(s[k]) for k in ("train", "valid", "test")]
    [72, 18, 10]
    """
    y = np.asarray(y)

    def cut(idx: np.ndarray, pct: float, s: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = stratified_split(y[idx], pct, s) if stratify else random_split(len(idx), pct, s)
        return idx[a], idx[b]  # positions within idx -> indices into y

    rest, out = np.arange(len(y), dtype=np.int64), {}
    if test_pct:
        rest, out["test"] = cut(rest, test_pct, seed + 7919)
    if valid_pct:
        rest, out["valid"] = cut(rest, valid_pct, seed)
    return {"train": rest, **out}


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
    from deepdojo.io import atomic_write_bytes

    atomic_write_bytes(Path(path), json.dumps(body).encode())


def grouped_split(groups, valid_pct: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, valid)`` with every group wholly on one side (e.g. all photos of one patient).

    Whole groups are drawn in a seeded order until ``valid`` holds about
    ``valid_pct`` of the rows.

    >>> tr, va = grouped_split(["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4", "p5", "p5"], 0.2)
    >>> len(va), len({["p1", "p1", "p2", "p2", "p3", "p3", "p4", "p4", "p5", "p5"][i] for i in va})
    (2, 1)
    """
    groups = np.asarray(groups)
    names, inverse = np.unique(groups, return_inverse=True)
    if len(names) < 2:
        raise DataError("a grouped split needs at least 2 groups", where="group column", fix="check the column")
    order = np.random.default_rng(seed).permutation(len(names))
    sizes = np.bincount(inverse)
    target, taken, chosen = valid_pct * len(groups), 0, []
    for g in order[:-1]:  # at least one group stays in train
        if taken >= target:
            break
        chosen.append(g)
        taken += sizes[g]
    valid = np.isin(inverse, chosen)
    return np.flatnonzero(~valid).astype(np.int64), np.flatnonzero(valid).astype(np.int64)


def time_split(times, valid_pct: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, valid)``: the latest ``valid_pct`` of rows by time go to valid (no future in train).

    >>> time_split([5, 1, 4, 2, 3], 0.4)
    (array([1, 3, 4]), array([0, 2]))
    """
    order = np.argsort(np.asarray(times), kind="stable")
    k = max(1, int(round(len(order) * valid_pct)))
    return np.sort(order[:-k]).astype(np.int64), np.sort(order[-k:]).astype(np.int64)


def add_train_dev(splits: dict[str, np.ndarray], labels, pct: float = 0.1, seed: int = 0) -> dict[str, np.ndarray]:
    """Carve ``train_dev`` out of ``train``: a held-out slice of the *training* distribution.

    Its error next to the valid error tells variance (train vs train-dev)
    from data mismatch (train-dev vs valid).
    """
    train = np.asarray(splits["train"])
    tr, dev = stratified_split(np.asarray(labels)[train], pct, seed) if labels is not None else random_split(len(train), pct, seed)
    return {**splits, "train": train[tr], "train_dev": train[dev]}


def load_splits(path: Path, n: int | None = None, ids: list[str] | None = None) -> dict[str, np.ndarray]:
    """Read ``splits.json`` back, verifying its hash (and the item ids when both sides have them).

    Raises :class:`DataError` when the file was edited, refers to rows past
    ``n``, or was written for different items.
    """
    path = Path(path)
    try:
        body = json.loads(path.read_text())
        splits = {k: np.asarray(v, dtype=np.int64) for k, v in body["indices"].items()}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"cannot read the split file ({e})", where=str(path), fix="delete it to split again") from None
    if split_hash(splits) != body.get("hash"):
        raise DataError("split file does not match its hash (edited?)", where=str(path), fix="delete it to split again")
    if n is not None and any(len(v) and (v.max() >= n or v.min() < 0) for v in splits.values()):
        raise DataError(f"split file refers to rows outside 0..{n - 1}", where=str(path),
                        fix="the data changed: delete the split file to split again")
    saved = body.get("ids")
    if ids is not None and saved is not None:
        for name, idx in splits.items():
            if [ids[i] for i in idx] != saved.get(name):
                raise DataError(f"the {name} split was saved for different items", where=str(path),
                                fix="the data changed: delete the split file to split again")
    return splits
