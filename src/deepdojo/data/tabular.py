"""Tabular CSV -> :class:`Data`: continuous columns standardized with training statistics,
categorical columns one-hot (or integer codes for embedding models), missing values
filled with an indicator column, and a target for classification or regression.

``info["tabular"]`` describes the columns of ``x`` for models and for new inputs:
``continuous`` (names), ``categorical`` (name -> levels), ``cat_cardinalities``,
``encoding``, ``mean``/``std``/``fill`` (training-set statistics).

Example:
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b,y\\n" + "".join(f"{i},{('', 'u', 'v')[i % 3]},{i * 0.5}\\n" for i in range(30)))
    >>> data = tabular_csv(p, target="y")
    >>> data.task, data.input_shape, data.info["tabular"]["columns"]
    ('regression', (4,), ['a', 'b=#na', 'b=u', 'b=v'])
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.check_csv import read_table
from deepdojo.data.checks import CheckReport, Problem
from deepdojo.data.core import Data
from deepdojo.data.csv_sources import MISSING, _finish, _split_indices
from deepdojo.data.splits import grouped_split, time_split
from deepdojo.errors import ConfigError

NA_LEVEL = "#na"


def _number(text: str) -> float:
    if text.strip().lower() in MISSING:
        return math.nan
    return float(text)


def _is_numeric(values: list[str]) -> bool:
    try:
        [_number(v) for v in values]
    except ValueError:
        return False
    return True


def _mostly_numeric(values: list[str]) -> bool:
    """At least 90% of the present values are numbers: continuous, and the rest are typos to report."""
    present = [v for v in values if v.strip().lower() not in MISSING]
    return bool(present) and sum(_is_numeric([v]) for v in present) >= 0.9 * len(present)


def _target(table, target: str, task: str | None, bad: set[int]):
    """Problems of the target column, its task, and its raw values."""
    values, problems = table.column(target), []
    numeric = _is_numeric([v for v in values if v.strip().lower() not in MISSING])
    if task is None:
        distinct = {v for v in values if v.strip().lower() not in MISSING}
        whole = numeric and all(float(v).is_integer() for v in distinct)
        task = "classification" if not numeric or (whole and len(distinct) <= 20) else "regression"
    for i, v in enumerate(values):
        if i in bad:  # a ragged or duplicate row is reported once, as that
            continue
        if v.strip().lower() in MISSING:
            kind, what = ("nan_target", "target is NaN") if v.strip() else ("empty_label", "empty target")
            problems.append(Problem(table.where(i, target), what, kind, fix="fill in the target or remove the row"))
            bad.add(i)
        elif task == "regression" and not _is_numeric([v]):
            problems.append(Problem(table.where(i, target), f"target {v!r} is not a number", "bad_target",
                                    fix="use numbers for a regression target"))
            bad.add(i)
    return task, values, problems


def _encode(table, rows, train, cont, cat, encoding):
    """``x`` float ``(N, F)`` and the column description (statistics from ``train`` rows only)."""
    cols, names, desc = [], [], {"continuous": cont, "categorical": {}, "mean": [], "std": [], "fill": []}
    for name in cont:
        v = np.array([_number(table.column(name)[i]) for i in rows], dtype=np.float64)
        missing = np.isnan(v)
        fill = float(np.nanmedian(v[train])) if (~missing[train]).any() else 0.0
        v[missing] = fill
        mean, std = float(v[train].mean()), float(v[train].std()) or 1.0
        cols.append((v - mean) / std)
        names.append(name)
        desc["mean"].append(mean), desc["std"].append(std), desc["fill"].append(fill)
        if missing.any():  # the fact that a value was missing can itself be informative
            cols.append(missing.astype(np.float64))
            names.append(f"{name}_na")
    n_cont_cols = len(cols)
    for name in cat:
        raw = [table.column(name)[i] or NA_LEVEL for i in rows]
        levels = sorted({raw[j] for j in train} | {NA_LEVEL})  # unseen levels map to "#na"
        desc["categorical"][name] = levels
        index = {lev: k for k, lev in enumerate(levels)}
        codes = np.array([index.get(r, index[NA_LEVEL]) for r in raw])
        if encoding == "codes":
            cols.append(codes.astype(np.float64))
            names.append(name)
        else:
            cols += list(np.eye(len(levels))[codes].T)
            names += [f"{name}={lev}" for lev in levels]
    desc["cat_cardinalities"] = [len(v) for v in desc["categorical"].values()]
    if encoding == "codes":  # codes first, as the embedding model (models/tabular.py) reads them: x[:, :n_cat]
        cols, names = cols[n_cont_cols:] + cols[:n_cont_cols], names[n_cont_cols:] + names[:n_cont_cols]
    desc["columns"], desc["encoding"] = names, encoding
    return np.stack(cols, 1).astype(np.float32), desc


def tabular_csv(path: str | Path, target: str, *, cat: list[str] | None = None, cont: list[str] | None = None,
                task: str | None = None, valid_pct: float = 0.2, seed: int = 0, batch_size: int = 64,
                encoding: str = "onehot", skip_bad: bool = False, delimiter: str | None = None,
                group_col: str | None = None, time_col: str | None = None) -> Data:
    """A CSV (or TSV) of features and a ``target`` column as :class:`Data`.

    Columns not named in ``cat``/``cont`` are continuous when at least 90% of
    their values are numbers (the others are reported), else categorical. ``encoding="codes"`` puts one
    integer code per categorical column first and then the continuous columns, the order
    the ``tabular`` model reads (``info["tabular"]["cat_cardinalities"]`` sizes its embeddings,
    ``n_continuous`` counts the rest).
    ``group_col`` keeps rows of a group on one side of the split;
    ``time_col`` (ISO dates or numbers) puts the latest rows in valid. Neither
    is used as a feature.
    """
    if encoding not in ("onehot", "codes"):
        raise ConfigError(f"unknown encoding {encoding!r}", where="encoding", fix="use 'onehot' or 'codes'")
    table = read_table(path, delimiter=delimiter, duplicates="warning")  # equal rows can be genuine here
    table.require(target, "target")
    bad = set(table.bad_rows)
    task, values, problems = _target(table, target, task, bad)
    for col in (group_col, time_col):
        if col is not None:
            table.require(col, "split")
    features = [c for c in table.columns if c not in (target, group_col, time_col)]
    cat = list(cat or [c for c in features if c not in (cont or []) and not _mostly_numeric(table.column(c))])
    cont = list(cont or [c for c in features if c not in cat])
    for name in cont:
        for i, v in enumerate(table.column(name)):
            if i not in bad and not _is_numeric([v]):
                problems.append(Problem(table.where(i, name), f"{v!r} is not a number", "bad_number",
                                        fix=f"fix the value, or treat {name} as categorical"))
                bad.add(i)
    report = CheckReport(len(table.rows), table.problems + problems)
    keep, skipped = _finish(report, bad, len(table.rows), skip_bad, str(table.path))
    rows = np.flatnonzero(keep)
    if task == "classification":
        classes = sorted({values[i] for i in rows}, key=lambda v: (not _is_numeric([v]), float(v) if _is_numeric([v]) else 0, v))
        index = {c: k for k, c in enumerate(classes)}
        y = torch.tensor([index[values[i]] for i in rows], dtype=torch.long)
        labels = y.numpy()
    else:
        classes, labels = None, None
        y = torch.tensor([float(values[i]) for i in rows], dtype=torch.float32)
    if group_col is not None:
        tr, va = grouped_split([table.column(group_col)[i] for i in rows], valid_pct, seed)
        splits = {"train": tr, "valid": va}
    elif time_col is not None:
        times = [table.column(time_col)[i] for i in rows]
        tr, va = time_split([float(t) for t in times] if _is_numeric(times) else times, valid_pct)
        splits = {"train": tr, "valid": va}
    else:
        splits = _split_indices(labels, len(rows), None, valid_pct, seed)
    x, desc = _encode(table, rows, splits["train"], cont, cat, encoding)
    desc["n_continuous"] = len([n for n in desc["columns"] if n in cont or n.endswith("_na")]) if encoding == "codes" else None
    data = Data.from_tensors(torch.from_numpy(x), y, splits=splits, batch_size=batch_size, seed=seed, task=task,
                             classes=classes, normalize=False, name=str(table.path))
    data.info["tabular"] = desc
    data.info["check"] = report.to_json()
    if skipped:
        data.info["skipped"] = skipped
    return data
