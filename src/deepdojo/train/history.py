"""``Learner.history``: one record per epoch, a list with a short repr (what ``fit`` returns, Keras' habit).

Epochs are numbered from 0 in every record, table and log line.

Example:
    >>> h = History([{"epoch": 0, "train_loss": 0.9, "valid_loss": 0.8, "accuracy": 0.5},
    ...              {"epoch": 1, "train_loss": 0.5, "valid_loss": 0.4, "accuracy": 0.9}])
    >>> h
    History(2 epochs; last: epoch 1, train_loss 0.5000, valid_loss 0.4000, accuracy 0.9000)
    >>> h[-1]["accuracy"], h.column("valid_loss")
    (0.9, [0.8, 0.4])
"""

from __future__ import annotations

from typing import Any


class History(list):
    """A list of epoch records (dicts) that prints as one line; ``column(key)`` reads one series."""

    def column(self, key: str) -> list[Any]:
        return [r.get(key) for r in self]

    def __repr__(self) -> str:
        if not self:
            return "History(no epochs)"
        last = self[-1]
        shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in last.items()
                          if k not in ("lr", "seconds") and isinstance(v, (int, float)))
        return f"History({len(self)} epoch{'s' if len(self) != 1 else ''}; last: {shown})"

    def _repr_html_(self) -> str:
        """Jupyter: the records as a table."""
        from html import escape

        keys = list(dict.fromkeys(k for r in self for k in r))
        head = "".join(f"<th>{escape(k)}</th>" for k in keys)
        rows = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(k))}</td>" for k in keys) + "</tr>" for r in self)
        return f"<table class='deepdojo-history'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _fmt(v: Any) -> str:
    from html import escape

    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return "" if v is None else escape(str(v))
