"""Raw user/item ids <-> the integer codes a collaborative model embeds, saved with the run for predict.

Codes are 1-based over the ids seen in TRAINING (sorted as strings); code 0
is the cold-start code for an id the model never saw (its embeddings and
bias are zero: see :mod:`deepdojo.models.collab`). Ids are compared as the
strings the CSV held (``"7"`` and ``7`` are the same id; ``"07"`` is not).

:class:`RatingsPreprocessor` is the ``"ratings"`` preprocessing kind: predict
turns ``"user,item"`` strings, ``(user, item)`` pairs, ``{"user": .., "item": ..}``
dicts or a CSV of such rows into ``(B, 2)`` codes, and :meth:`flags` says which
ids were unseen (the cold-start policy then applies and the output says so).

Example:
    >>> maps = code_maps(["a", "b", "a"], ["x", "y", "y"])
    >>> pre = RatingsPreprocessor({"kind": "ratings", **maps})
    >>> pre.encode(["b,y", ("a", "zz"), {"user": "new", "item": "x"}]).tolist()
    [[2, 2], [1, 0], [0, 1]]
    >>> pre.flags(("a", "zz")), pre.flags("b,y")
    ({'cold_start': 'new item'}, {})
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepdojo.data.preprocess import Preprocessor, _name
from deepdojo.errors import DataError

COLD_START_POLICY = "the global mean plus the known user or item bias (a new id's own bias and factors are zero)"


def code_maps(users: list[str], items: list[str]) -> dict[str, Any]:
    """Raw id -> code (1-based, sorted; 0 is reserved for ids unseen in training)."""
    u, i = sorted(set(map(str, users))), sorted(set(map(str, items)))
    return {"users": {k: j + 1 for j, k in enumerate(u)}, "items": {k: j + 1 for j, k in enumerate(i)},
            "n_users": len(u) + 1, "n_items": len(i) + 1}


def encode_ids(maps: dict, users: list, items: list) -> torch.Tensor:
    """``(N, 2)`` int64 codes of raw ids under ``maps`` (unseen ids -> 0, the cold-start code).

    >>> m = code_maps(["a", "b"], ["x"])
    >>> encode_ids(m, ["b", "zz"], ["x", "x"]).tolist()
    [[2, 1], [0, 1]]
    """
    u = [maps["users"].get(str(k).strip(), 0) for k in users]
    i = [maps["items"].get(str(k).strip(), 0) for k in items]
    return torch.tensor(np.stack([u, i], 1) if u else np.zeros((0, 2)), dtype=torch.int64)


def decode_items(maps: dict) -> list[str]:
    """Raw item id of each code (index 0: ``""``, the cold-start code)."""
    out = [""] * maps["n_items"]
    for k, c in maps["items"].items():
        out[c] = k
    return out


class RatingsPreprocessor(Preprocessor):
    """``(user, item)`` raw ids -> ``(B, 2)`` int64 codes through the training vocabulary."""

    kind = "ratings"

    def _pair(self, item: Any) -> tuple[str, str]:
        if isinstance(item, dict):
            u = next((item[k] for k in ("user", "user_id", "userId") if k in item), None)
            i = next((item[k] for k in ("item", "item_id", "itemId", "movie", "movieId") if k in item), None)
            if u is None or i is None:
                raise DataError("a ratings input needs a user and an item", where=_name(item),
                                fix="pass {'user': ..., 'item': ...}")
            return str(u).strip(), str(i).strip()
        values = next(csv.reader([item])) if isinstance(item, str) else list(item)
        if len(values) < 2:
            raise DataError(f"expected 'user,item', got {item!r}", where=_name(item),
                            fix="pass the user id and the item id separated by a comma, e.g. 196,242")
        return str(values[0]).strip(), str(values[1]).strip()

    def encode(self, items, strict=False):
        pairs = [self._pair(item) for item in items]
        return encode_ids(self.spec, [u for u, _ in pairs], [i for _, i in pairs])

    def flags(self, item: Any) -> dict[str, str]:
        """``{"cold_start": "new user" | "new item" | "new user and item"}`` for an unseen id, else ``{}``."""
        u, i = self._pair(item)
        new = [w for w, known in (("user", u in self.spec["users"]), ("item", i in self.spec["items"])) if not known]
        return {"cold_start": "new " + " and ".join(new)} if new else {}

    def rows_of(self, path: Path):
        from deepdojo.data.check_csv import read_table
        from deepdojo.data.ratings import ITEM_COLUMNS, USER_COLUMNS, find_column

        table = read_table(path, duplicates="warning")
        ucol, icol = find_column(table.columns, USER_COLUMNS), find_column(table.columns, ITEM_COLUMNS)
        if ucol is None or icol is None:
            raise DataError("no user and item columns", where=str(path),
                            fix=f"name the columns user,item (columns: {', '.join(table.columns)})")
        us, its = table.column(ucol), table.column(icol)
        return [(table.where(j), (us[j], its[j])) for j in range(len(table.rows))]
