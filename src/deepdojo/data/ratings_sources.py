"""Ratings that need no file of the user's: ``builtin:ratings`` (planted low-rank) and ``download:movielens100k``.

MovieLens-100k (GroupLens, ``ml-100k.zip``, MD5 published beside it) is read
straight from the zip: ``ml-100k/u.data`` is tab-separated ``user item rating
timestamp`` (100,000 rows, 943 users, 1,682 movies); ``ml-100k/u.item`` is
``|``-separated in latin-1 with the movie id and title first. Titles go into
the preprocessing record (``titles``: raw item id -> title) so interpretation
and predict can name movies.

Example (a two-row archive of the same layout):
    >>> import io, zipfile
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("ml-100k/u.data", "1\\t10\\t4\\t881250949\\n2\\t10\\t2\\t881250950\\n")
    ...     z.writestr("ml-100k/u.item", "10|Richard III (1995)|22-Jan-1996||http://x|0|0\\n".encode("latin-1"))
    >>> rows, titles = read_movielens_zip(buf)
    >>> rows["users"], rows["ratings"].tolist(), titles
    (['1', '2'], [4.0, 2.0], {'10': 'Richard III (1995)'})
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from deepdojo.data.core import Data
from deepdojo.errors import DataError

RATINGS_KEYS = ("builtin:ratings", "download:movielens100k")


def load_ratings_source(name: str, *, split: str | None = None, valid_pct: float = 0.2, test_pct: float = 0.0,
                        seed: int = 0, batch_size: int = 64, cache_dir: str | Path | None = None) -> Data:
    """``builtin:ratings`` (default split: per user) or ``download:movielens100k`` (default: random rows)."""
    from deepdojo.data.ratings import ratings_data

    if name == "builtin:ratings":
        from deepdojo.data.builtin import ratings_arrays

        d = ratings_arrays(seed=seed)
        return ratings_data([f"u{k}" for k in d["users"]], [f"i{k}" for k in d["items"]], d["ratings"],
                            split=split or "user", valid_pct=valid_pct, test_pct=test_pct, seed=seed,
                            batch_size=batch_size,
                            name=name)
    if name == "download:movielens100k":
        return load_movielens100k(split=split or "random", valid_pct=valid_pct, test_pct=test_pct, seed=seed,
                                  batch_size=batch_size, cache_dir=cache_dir)
    raise DataError(f"unknown ratings source {name!r}", where=name, fix=f"use one of {', '.join(RATINGS_KEYS)}")


def read_movielens_zip(archive: str | Path | IO[bytes]) -> tuple[dict, dict[str, str]]:
    """``({"users", "items", "ratings", "times"}, {item id: title})`` from an ``ml-100k.zip`` layout."""
    where = str(archive) if isinstance(archive, (str, Path)) else "ml-100k.zip"
    try:
        z = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise DataError("not a zip archive", where=where, fix="delete the file and download it again") from None
    with z:
        names = {n.rsplit("/", 1)[-1]: n for n in z.namelist()}
        if "u.data" not in names:
            raise DataError("no u.data in the archive", where=where, fix="use GroupLens' ml-100k.zip")
        lines = z.read(names["u.data"]).decode("latin-1").splitlines()
        titles = {}
        if "u.item" in names:
            for line in z.read(names["u.item"]).decode("latin-1").splitlines():
                parts = line.split("|")
                if len(parts) >= 2 and parts[0].strip():
                    titles[parts[0].strip()] = parts[1].strip()
    users, items, ratings, times = [], [], [], []
    for j, line in enumerate(lines):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            ratings.append(float(parts[2]))
            times.append(float(parts[3]))
        except (IndexError, ValueError):
            raise DataError(f"expected 'user<TAB>item<TAB>rating<TAB>timestamp', got {line[:60]!r}",
                            where=f"{where}:u.data:{j + 1}", fix="delete the file and download it again") from None
        users.append(parts[0].strip())
        items.append(parts[1].strip())
    return {"users": users, "items": items, "ratings": np.asarray(ratings, np.float32),
            "times": np.asarray(times, np.float64)}, titles


def load_movielens100k(*, split: str = "random", valid_pct: float = 0.2, test_pct: float = 0.0, seed: int = 0,
                       batch_size: int = 64, cache_dir: str | Path | None = None) -> Data:
    """``download:movielens100k``: fetched once (MD5-checked, resumable), read from the zip, titles attached."""
    from deepdojo.data.download import download_files
    from deepdojo.data.ratings import ratings_data

    (archive,) = download_files("movielens100k", cache_dir)
    rows, titles = read_movielens_zip(archive)
    data = ratings_data(rows["users"], rows["items"], rows["ratings"], rows["times"], split=split,
                        valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size,
                        name="download:movielens100k",
                        fingerprint=f"md5:{_md5()}")
    data.info.preprocess["titles"] = titles
    return data


def _md5() -> str:
    from deepdojo.data.download import CATALOGUE

    return CATALOGUE["movielens100k"].files[0].md5
