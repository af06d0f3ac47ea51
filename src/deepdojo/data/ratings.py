"""Ratings (collaborative filtering): ``user,item,rating[,timestamp]`` -> :class:`Data` of id pairs.

``x`` is ``(N, 2)`` int64 ``(user code, item code)``; ``y`` is the float
rating. Codes come from the TRAINING rows only; code 0 means "not seen in
training" (cold start): the collaborative models keep row 0 of their
embeddings at zero, so such a row is predicted from the global bias plus
whatever bias is known (the item's for a new user, the user's for a new item).
The code maps (raw id -> code) are saved in ``info.preprocess`` (kind
``"ratings"``, :mod:`deepdojo.data.ratings_codes`) so ``predict`` maps raw ids
the same way and flags the unseen ones.

Splits (``split=``): ``"random"`` rows; ``"user"`` holds out ``valid_pct`` of
each user's ratings (every user with 2+ ratings is seen in training);
``"time"`` holds out the latest ``valid_pct`` of rows by timestamp (needs a
timestamp column) — the honest split for "predict the future".

Example:
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("user,item,rating\\n" + "".join(f"u{i % 7},m{i % 5},{1 + i % 5}\\n" for i in range(60)))
    >>> data = ratings_csv(p, split="user", seed=0)
    >>> data.task, data.input_shape, data.train.x.dtype, data.info.preprocess["n_users"]
    ('collab', (2,), torch.int64, 8)
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.core import Data
from deepdojo.data.ratings_codes import code_maps, encode_ids
from deepdojo.errors import DataError

USER_COLUMNS = ("user", "user_id", "userid", "users")
ITEM_COLUMNS = ("item", "item_id", "itemid", "movie", "movie_id", "movieid", "product", "product_id")
RATING_COLUMNS = ("rating", "ratings", "score", "stars")
TIME_COLUMNS = ("timestamp", "time", "date", "ts")
SPLITS = ("random", "user", "time")
TASK = "collab"  # the task name ratings data suggests (deepdojo.tasks.collab)
FORMAT = "ratings"  # what a task that wants ratings asks a source to be read as (Task.reads)


def wants_ratings(reads: str | None, columns: list[str]) -> bool:
    """Read a CSV as ratings: the task asks for the ratings format, or no task is asked and the columns say so.

    (``reads`` is the task's :attr:`~deepdojo.tasks.base.Task.reads`: the data layer never names a task.)

    >>> wants_ratings(None, ["user", "item", "rating"]), wants_ratings("", ["user", "item", "rating"])
    (True, False)
    """
    if reads is None:
        return looks_like_ratings(columns)
    return reads == FORMAT


def find_column(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first column whose lower-cased name is one of ``candidates``."""
    return next((c for c in columns if c.lower() in candidates), None)


def looks_like_ratings(columns: list[str]) -> bool:
    """True when the header names a user, an item and a rating column.

    >>> looks_like_ratings(["userId", "movieId", "rating", "timestamp"]), looks_like_ratings(["x", "rating"])
    (True, False)
    """
    return all(find_column(columns, c) for c in (USER_COLUMNS, ITEM_COLUMNS, RATING_COLUMNS))


def ratings_split(users: np.ndarray, times: np.ndarray | None, split: str, valid_pct: float,
                  seed: int, test_pct: float = 0.0) -> dict[str, np.ndarray]:
    """Row indices ``{"train", "valid"[, "test"]}`` for a ``random`` / per-``user`` / by-``time`` hold-out.

    ``test_pct`` holds out a sealed test share the same way, before validation: by time the test
    rows are the very latest and validation the ones just before them; per user each user keeps
    at least one training rating (small users give validation a rating before test gets one).

    >>> s = ratings_split(np.array([0, 0, 0, 0, 1, 1]), None, "user", 0.5, seed=0)
    >>> sorted(np.bincount(np.array([0, 0, 0, 0, 1, 1])[s["valid"]]).tolist())
    [1, 2]
    >>> s = ratings_split(np.zeros(10, int), np.arange(10.0), "time", 0.2, seed=0, test_pct=0.1)
    >>> s["valid"].tolist(), s["test"].tolist()
    ([7, 8], [9])
    """
    n = len(users)
    rng = np.random.default_rng(seed)
    held: dict[str, list] = {"valid": [], "test": []}
    if split in ("random", "time"):
        if split == "time" and times is None:
            raise DataError("split 'time' needs a timestamp column", where="split",
                            fix="add a timestamp column or use split='random' / 'user'")
        order = rng.permutation(n) if split == "random" else np.argsort(times, kind="stable")[::-1]  # latest first
        k_test = int(round(n * test_pct))
        k_valid = max(1, int(round(n * valid_pct)))
        held = {"test": order[:k_test], "valid": order[k_test:k_test + k_valid]}
    elif split == "user":
        for rows in _groups(users):
            if len(rows) < 2:  # a lone rating stays in training: the user must be seen
                continue
            room = len(rows) - 1
            k_valid = min(room, max(1, int(round(len(rows) * valid_pct))))
            k_test = min(room - k_valid, int(round(len(rows) * test_pct)))
            rows = rng.permutation(rows)
            held["valid"].extend(rows[:k_valid])
            held["test"].extend(rows[k_valid:k_valid + k_test])
    else:
        raise DataError(f"unknown ratings split {split!r}", where="split", fix=f"use one of {', '.join(SPLITS)}")
    mask = np.zeros(n, np.int8)  # 0 train, 1 valid, 2 test
    mask[np.asarray(held["valid"], dtype=np.int64)] = 1
    mask[np.asarray(held["test"], dtype=np.int64)] = 2
    out = {"train": np.flatnonzero(mask == 0), "valid": np.flatnonzero(mask == 1)}
    if test_pct > 0:
        out["test"] = np.flatnonzero(mask == 2)
    return {k: v.astype(np.int64) for k, v in out.items()}


def _groups(codes: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, bounds)


def ratings_data(users: list[str], items: list[str], ratings: np.ndarray, times: np.ndarray | None = None, *,
                 split: str = "random", valid_pct: float = 0.2, test_pct: float = 0.0, seed: int = 0,
                 batch_size: int = 64,
                 name: str = "ratings", fingerprint: str | None = None,
                 splits: dict[str, np.ndarray] | None = None) -> Data:
    """Raw ids and ratings -> :class:`Data` (codes from the training rows; see the module docstring)."""
    users, items = [str(u) for u in users], [str(i) for i in items]
    ratings = np.asarray(ratings, dtype=np.float32)
    if splits is None:
        ucodes = np.unique(np.asarray(users), return_inverse=True)[1]
        splits = ratings_split(ucodes, times, split, valid_pct, seed, test_pct=test_pct)
    tr = splits["train"]
    maps = code_maps([users[j] for j in tr], [items[j] for j in tr])
    x = encode_ids(maps, users, items)
    data = Data.from_tensors(x, torch.from_numpy(ratings), splits=splits, seed=seed, batch_size=batch_size,
                             task=TASK, normalize=False, name=name, fingerprint=fingerprint)
    data.info.preprocess = {"kind": "ratings", **maps, "split": split,
                            "range": [float(ratings[tr].min()), float(ratings[tr].max())]}
    return data


def ratings_csv(path: str | Path, *, split: str = "random", valid_pct: float = 0.2, test_pct: float = 0.0, seed: int = 0,
                batch_size: int = 64, user_col: str | None = None, item_col: str | None = None,
                rating_col: str | None = None, time_col: str | None = None, delimiter: str | None = None) -> Data:
    """A ratings CSV/TSV as :class:`Data`. A rating that is not a number is a one-line
    :class:`~deepdojo.errors.DataError` naming its line and column."""
    from deepdojo.data.check_csv import read_table

    table = read_table(path, delimiter=delimiter, duplicates="warning")  # a repeated rating is data, not an error
    errors = [p for p in table.problems if getattr(p, "severity", "error") == "error"]
    if errors:
        p = errors[0]
        raise DataError(p.message, where=p.where, fix=p.fix or "fix the row")
    cols = {}
    for role, given, cands in (("user", user_col, USER_COLUMNS), ("item", item_col, ITEM_COLUMNS),
                               ("rating", rating_col, RATING_COLUMNS)):
        col = given or find_column(table.columns, cands)
        if col is None or col not in table.columns:
            raise DataError(f"no {role} column", where=str(table.path),
                            fix=f"name a column {'/'.join(cands[:3])} (columns: {', '.join(table.columns)})")
        cols[role] = col
    tcol = time_col or find_column(table.columns, TIME_COLUMNS)
    if not table.rows:
        raise DataError("no ratings", where=str(table.path), fix="add rows user,item,rating")
    ratings = _numbers(table, cols["rating"], "rating")
    times = _numbers(table, tcol, "timestamp") if tcol else None
    for role in ("user", "item"):
        for j, v in enumerate(table.column(cols[role])):
            if not v:
                raise DataError(f"empty {role} id", where=table.where(j, cols[role]), fix=f"fill in the {role} id")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return ratings_data(table.column(cols["user"]), table.column(cols["item"]), ratings, times, split=split,
                        valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size, name=str(table.path),
                        fingerprint=digest)


def _numbers(table, col: str, role: str) -> np.ndarray:
    out = np.empty(len(table.rows), np.float64)
    for j, v in enumerate(table.column(col)):
        try:
            out[j] = float(v)
        except ValueError:
            out[j] = math.nan
        if not math.isfinite(out[j]):
            raise DataError(f"{role} {v!r} is not a number", where=table.where(j, col),
                            fix=f"make every {role} a number (or remove the row)")
    return out
