"""Tabular CSV -> :class:`Data`: continuous columns standardized with training statistics,
categorical columns one-hot (or integer codes, first, for embedding models), missing values
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
import warnings
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.check_csv import read_table
from deepdojo.data.checks import CheckReport, Problem
from deepdojo.data.core import Data
from deepdojo.data.csv_sources import MISSING, _finish, _split_indices
from deepdojo.data.preprocess import NA_LEVEL, TabularEncoder
from deepdojo.data.splits import grouped_split, time_split
from deepdojo.errors import ConfigError

__all__ = ["NA_LEVEL", "free_text_columns", "tabular_csv"]


def _number(text: str) -> float:
    if text.strip().lower() in MISSING:
        return math.nan
    return float(text)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _not_finite32(text: str) -> str | None:
    """Why a numeric cell cannot be a float32 feature or target (``inf``, ``-inf``, ``1e308``), else None.

    Training runs in float32: a value past its range becomes inf there and the
    loss turns NaN in the first step, which would look like a bad learning rate.
    """
    v = _number(text)
    if math.isnan(v):
        return None  # missing: filled (features) or reported as a NaN target
    if math.isinf(v):
        return f"{text.strip()!r} is not a finite number"
    if abs(v) > FLOAT32_MAX:
        return f"{text.strip()!r} overflows float32 (largest {FLOAT32_MAX:.3g})"
    return None


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


# how a task name reads the target column: class labels (True) or numbers (False)
TARGET_AS_CLASSES = {"classification": True, "regression": False}


def _target(table, target: str, task: str | None, bad: set[int]):
    """Problems of the target column, its task, and its raw values."""
    values, problems = table.column(target), []
    numeric = _is_numeric([v for v in values if v.strip().lower() not in MISSING])
    if task is None:
        distinct = {v for v in values if v.strip().lower() not in MISSING}
        whole = numeric and all(float(v).is_integer() for v in distinct)
        task = "classification" if not numeric or (whole and len(distinct) <= 20) else "regression"
    if task not in TARGET_AS_CLASSES:
        raise ConfigError(f"a table's target column can be read for {', '.join(TARGET_AS_CLASSES)}, not {task!r}",
                          where="task", fix="choose one of those tasks for this CSV")
    as_classes = TARGET_AS_CLASSES[task]
    for i, v in enumerate(values):
        if i in bad:  # a ragged or duplicate row is reported once, as that
            continue
        if v.strip().lower() in MISSING:
            kind, what = ("nan_target", "target is NaN") if v.strip() else ("empty_label", "empty target")
            problems.append(Problem(table.where(i, target), what, kind, fix="fill in the target or remove the row"))
            bad.add(i)
        elif not as_classes and not _is_numeric([v]):
            problems.append(Problem(table.where(i, target), f"target {v!r} is not a number", "bad_target",
                                    fix="use numbers for a regression target"))
            bad.add(i)
        elif not as_classes and (why := _not_finite32(v)):
            problems.append(Problem(table.where(i, target), f"target {why}", "not_finite",
                                    fix="fix the value, rescale the target, or remove the row"))
            bad.add(i)
    return task, values, problems


def _encode(table, rows, train, cont, cat, encoding, target):
    """``x`` float ``(N, F)``, the column description, and the encoder predict reuses (train statistics only)."""
    columns = {name: [table.column(name)[i] for i in rows] for name in (*cont, *cat)}
    x, enc = TabularEncoder.fit(columns, train, cont, cat, encoding, target=target)
    spec = enc.spec
    desc = {k: spec[k] for k in ("continuous", "categorical", "mean", "std", "fill", "cat_cardinalities", "columns",
                                 "encoding", "n_categorical")}
    desc["n_continuous"] = len(spec["columns"]) - len(cat) if encoding == "codes" else None
    return x, desc, enc


def free_text_columns(table, columns: list[str]) -> list[str]:
    """Columns that read like free text (sentences: several words, mostly distinct; see
    :func:`~deepdojo.data.text.text_score`). One-hot encoded, each becomes a useless feature per sentence."""
    from deepdojo.data.text import text_score

    return [name for name in columns if len(table.column(name)) >= 5 and text_score(table.column(name)) > 0]


def tabular_csv(path: str | Path, target: str, *, cat: list[str] | None = None, cont: list[str] | None = None,
                task: str | None = None, valid_pct: float = 0.2, seed: int = 0, batch_size: int = 64,
                encoding: str = "onehot", skip_bad: bool = False, delimiter: str | None = None,
                group_col: str | None = None, time_col: str | None = None, header: bool | None = True,
                test_pct: float = 0.0) -> Data:
    """A CSV (or TSV) of features and a ``target`` column as :class:`Data`.

    Columns not named in ``cat``/``cont`` are continuous when at least 90% of
    their values are numbers (the others are reported), else categorical. ``encoding="codes"`` puts the
    categorical columns first, one integer code each, then the continuous
    columns (the :class:`~deepdojo.models.tabular.TabularModel` convention;
    ``info["tabular"]["n_categorical"]`` marks the boundary). A column that
    looks like free text and is encoded as categories is warned about
    (``info["warnings"]``). ``info["preprocess"]`` encodes raw rows as here
    (:class:`~deepdojo.data.preprocess.TabularEncoder`).
    ``group_col`` keeps rows of a group on one side of the split;
    ``time_col`` (ISO dates or numbers) puts the latest rows in valid. Neither
    is used as a feature.
    """
    if encoding not in ("onehot", "codes"):
        raise ConfigError(f"unknown encoding {encoding!r}", where="encoding", fix="use 'onehot' or 'codes'")
    table = read_table(path, delimiter=delimiter, duplicates="warning", header=header)  # equal rows can be genuine here
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
            elif i not in bad and (why := _not_finite32(v)):
                problems.append(Problem(table.where(i, name), why, "not_finite",
                                        fix=f"fix the value, rescale {name}, or leave it empty (missing)"))
                bad.add(i)
    report = CheckReport(len(table.rows), table.problems + problems)
    keep, skipped = _finish(report, bad, len(table.rows), skip_bad, str(table.path))
    rows = np.flatnonzero(keep)
    if TARGET_AS_CLASSES[task]:
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
        splits = _split_indices(labels, len(rows), None, valid_pct, seed, test_pct)
    x, desc, enc = _encode(table, rows, splits["train"], cont, cat, encoding, target)
    data = Data.from_tensors(torch.from_numpy(x), y, splits=splits, batch_size=batch_size, seed=seed, task=task,
                             classes=classes, normalize=False, name=str(table.path))
    data.info["tabular"] = desc
    data.info["preprocess"] = {**enc.to_json(), "delimiter": table.delimiter, "header": table.header,
                               "names": table.columns if not table.header else None}
    texty = free_text_columns(table, cat)
    if texty:  # one-hot of sentences: a feature per distinct text, which no model can learn from
        msg = (f"{table.path}: column(s) {', '.join(map(repr, texty))} look like free text but are encoded as "
               f"categories (one column per distinct value) (fix: train a text model with --text-col "
               f"{texty[0]}, or drop the column)")
        warnings.warn(msg, stacklevel=2)
        data.info["warnings"] = [*(data.info.get("warnings") or []), msg]
    data.info["check"] = report.to_json()
    if skipped:
        data.info["skipped"] = skipped
    return data
