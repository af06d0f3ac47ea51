"""Matplotlib figures without pyplot, as PNG bytes: the bottom layer every plot goes through.

Figures are plain ``matplotlib.figure.Figure`` objects, not pyplot's: nothing
here touches the process-wide backend (a notebook keeps its inline plots) and
no figure is left registered to leak. Text is drawn as plain text (mathtext
off), so a class named ``$x$`` is shown as typed.

Example:
    >>> fig, ax = subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> fig_to_png(fig)[:4]
    b'\x89PNG'
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, figsize=(6, 4), squeeze: bool = True):
    """``(figure, axes)`` like ``pyplot.subplots``, without pyplot's global state."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def fig_to_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
