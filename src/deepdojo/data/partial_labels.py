"""Multi-task tables with missing labels: several 0/1 label columns where ``?`` or empty means "not labelled".

The labels become a float ``(N, T)`` target with ``NaN`` where unknown;
the multilabel task's loss and metrics skip those cells, so the loss equals
the loss on the labelled entries alone (the curriculum's ``(1, 0, ?, 1)``
example). Every bad cell (a label that is not 0/1/missing, a feature that is
not a number) is named by line and column in one error.

Example:
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "cars.csv"
    >>> rows = "".join(f"{i},{i % 2},{'?' if i % 3 == 0 else (i // 2) % 2},\\n" for i in range(10))
    >>> _ = p.write_text("x,pedestrian,car,stop_sign\\n" + rows)
    >>> data = multitask_csv(p, ["pedestrian", "car", "stop_sign"])
    >>> data.task, data.classes, data.info["missing_labels"]
    ('multilabel', ['pedestrian', 'car', 'stop_sign'], {'pedestrian': 0, 'car': 4, 'stop_sign': 10})
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deepdojo.data.check_csv import read_table
from deepdojo.data.core import Data
from deepdojo.errors import DataError

MISSING = {"", "?", "na", "nan", "null", "none"}
TRUE, FALSE = {"1", "1.0", "true", "yes", "y"}, {"0", "0.0", "false", "no", "n"}


def read_partial_labels(path: str | Path, label_cols: list[str], feature_cols: list[str] | None = None,
                        max_errors: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """``(features (N, F) float32, labels (N, T) float32 with NaN = not labelled)`` from a CSV."""
    table = read_table(path, duplicates="warning")
    where = str(table.path)
    errors = [f"line {p.line}: {p.message}" for p in table.problems if getattr(p, "severity", "error") == "error"]
    unknown = [c for c in label_cols if c not in table.columns]
    if unknown:
        raise DataError(f"no column {unknown[0]!r}", where=where, fix=f"use some of {', '.join(table.columns)}")
    features = feature_cols if feature_cols is not None else [c for c in table.columns if c not in label_cols]
    y = np.full((len(table.rows), len(label_cols)), np.nan, np.float32)
    x = np.zeros((len(table.rows), len(features)), np.float32)
    for j, col in enumerate(label_cols):
        for i, v in enumerate(table.column(col)):
            v = v.strip().lower()
            if v in TRUE:
                y[i, j] = 1.0
            elif v in FALSE:
                y[i, j] = 0.0
            elif v not in MISSING:
                errors.append(f"line {i + 2}, column {col!r}: label {v!r} is not 0, 1 or ?/empty")
    for j, col in enumerate(features):
        for i, v in enumerate(table.column(col)):
            try:
                x[i, j] = float(v)
            except ValueError:
                errors.append(f"line {i + 2}, column {col!r}: {v!r} is not a number")
    if errors:
        more = f" (and {len(errors) - max_errors} more)" if len(errors) > max_errors else ""
        raise DataError(f"{len(errors)} bad cell(s): " + "; ".join(errors[:max_errors]) + more, where=where,
                        fix="labels are 0/1 (or ?/empty when not labelled), features are numbers")
    return x, y


def multitask_csv(path: str | Path, label_cols: list[str], feature_cols: list[str] | None = None,
                  valid_pct: float = 0.2, seed: int = 0, batch_size: int = 64) -> Data:
    """A multi-task table as :class:`Data` for the ``multilabel`` task (NaN targets = not labelled)."""
    x, y = read_partial_labels(path, label_cols, feature_cols)
    data = Data.from_tensors(torch.from_numpy(x), torch.from_numpy(y), valid_pct=valid_pct, seed=seed,
                             batch_size=batch_size, task="multilabel", classes=list(label_cols), name=str(path))
    data.info["missing_labels"] = {c: int(np.isnan(y[:, j]).sum()) for j, c in enumerate(label_cols)}
    return data
