"""Signals from a long-format CSV/TSV: one row per (series, time step), a column per channel.

The header names a series id column (``series_id``, ``sequence_id``,
``series`` or ``sequence``) and a time column (``time``, ``t``, ``step``,
``timestamp``); ``label`` (or ``class``/``target``/``y``) gives each series'
class; every other column is a numeric channel. Rows are ordered by time
within each series, so the file may be in any order. Every series must have
the same number of steps and one label: anything else is a one-line error
naming the series (or line and column) and the fix.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> rows = [f"{s},{t},{(s % 2) * t},{t * 0.5},{'ab'[s % 2]}" for s in range(10) for t in range(8)]
    >>> _ = p.write_text("series_id,time,ax,ay,label\\n" + "\\n".join(rows) + "\\n")
    >>> data = signal_csv(p)
    >>> data.input_shape, data.classes, data.info["preprocess"]["kind"]
    ((2, 8), ['a', 'b'], 'signal')
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from deepdojo.data.check_csv import read_table
from deepdojo.errors import DataError

ID_COLUMNS = ("series_id", "sequence_id", "series", "sequence")
TIME_COLUMNS = ("time", "t", "step", "timestamp")
LABEL_COLUMNS = ("label", "class", "target", "y")


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    return next((c for c in columns if c.strip().lower() in names), None)


def is_signal_table(columns: list[str]) -> bool:
    """A header with a series id column and a time column: long-format signals."""
    return _find(columns, ID_COLUMNS) is not None and _find(columns, TIME_COLUMNS) is not None


def signal_csv(path: str | Path, *, valid_pct: float = 0.2, test_pct: float = 0.0, seed: int = 0,
               batch_size: int = 64, label_col: str | None = None):
    """:class:`~deepdojo.data.Data` of signals ``(C, T)`` from a long-format table (see the module docstring)."""
    from deepdojo.data.signals import signal_data

    table = read_table(path, duplicates="warning")
    where = str(table.path)
    bad = [p for p in table.problems if getattr(p, "severity", "error") == "error"]
    if bad:  # a ragged row: the first one, named by line
        raise DataError(bad[0].reason, where=bad[0].where, fix="give every row every column")
    sid, tcol = _find(table.columns, ID_COLUMNS), _find(table.columns, TIME_COLUMNS)
    lcol = label_col or _find(table.columns, LABEL_COLUMNS)
    if lcol is None or lcol not in table.columns:
        raise DataError("no label column", where=where, fix=f"name one column {'/'.join(LABEL_COLUMNS)}")
    channels = [c for c in table.columns if c not in (sid, tcol, lcol)]
    if not channels:
        raise DataError("no channel columns besides the series id, time and label", where=where,
                        fix="add a numeric column per channel")
    values = np.empty((len(table.rows), len(channels) + 1), np.float64)  # time, then channels
    for j, col in enumerate([tcol, *channels]):
        for i, text in enumerate(table.column(col)):
            try:
                values[i, j] = float(text)
            except ValueError:
                raise DataError(f"{text!r} is not a number", where=table.where(i, col),
                                fix="every time and channel cell must be a number") from None
            if not math.isfinite(values[i, j]):
                raise DataError(f"{text!r} is not a finite number", where=table.where(i, col),
                                fix="fill or drop missing values")
    ids, labels = table.column(sid), table.column(lcol)
    order: dict[str, list[int]] = {}
    for i, s in enumerate(ids):
        order.setdefault(s, []).append(i)
    lengths = {s: len(r) for s, r in order.items()}
    first = next(iter(order))
    for s, rows in order.items():
        if lengths[s] != lengths[first]:
            raise DataError(f"series {s!r} has {lengths[s]} steps but {first!r} has {lengths[first]}", where=where,
                            fix="pad or crop every series to one length")
        if len({labels[i] for i in rows}) > 1:
            raise DataError(f"series {s!r} has more than one label", where=where, fix="give each series one label")
    classes = sorted({labels[rows[0]] for rows in order.values()})
    index = {c: k for k, c in enumerate(classes)}
    x = np.stack([values[sorted(rows, key=lambda i: values[i, 0]), 1:].T for rows in order.values()])  # (N, C, T)
    y = np.array([index[labels[rows[0]]] for rows in order.values()], np.int64)
    return signal_data(x, y, valid_pct=valid_pct, test_pct=test_pct, seed=seed, batch_size=batch_size,
                       classes=classes, name=where)
