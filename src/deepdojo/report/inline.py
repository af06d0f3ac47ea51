"""Figures that show themselves: a PNG that Jupyter draws inline and a script can save.

Returned by ``learn.show_batch()``, ``learn.show_results()``, ``learn.plot_loss()``
and ``interp.plot_top_losses()``; no pyplot, so a notebook's backend is never touched.

Example:
    >>> from deepdojo.report.plots import fig_to_png, subplots
    >>> fig, ax = subplots()
    >>> png = PNG(fig_to_png(fig), "empty")
    >>> png, png._repr_png_()[:4]
    (<PNG 'empty', 600x400>, b'\\x89PNG')
"""

from __future__ import annotations

import struct
from pathlib import Path


class PNG:
    """PNG bytes with a title: ``_repr_png_`` for Jupyter, :meth:`save` for files."""

    def __init__(self, data: bytes, title: str = ""):
        self.data, self.title = data, title

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, from the PNG header."""
        return struct.unpack(">II", self.data[16:24])

    def _repr_png_(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        w, h = self.size
        return f"<PNG {self.title!r}, {w}x{h}>"

    def save(self, path: str | Path) -> Path:
        """Write the PNG atomically; returns the path."""
        from deepdojo.train.run_folder import atomic_write_bytes

        path = Path(path)
        atomic_write_bytes(path, self.data)
        return path


class HTMLTable:
    """Rows of text shown as an HTML table in Jupyter and as aligned text elsewhere."""

    def __init__(self, columns: list[str], rows: list[list], title: str = ""):
        self.columns, self.rows, self.title = columns, rows, title

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in r) + "</tr>" for r in self.rows)
        caption = f"<caption>{escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __repr__(self) -> str:
        cells = [self.columns] + [[str(v) for v in r] for r in self.rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)) for r in cells]
        return "\n".join(([self.title] if self.title else []) + lines)
