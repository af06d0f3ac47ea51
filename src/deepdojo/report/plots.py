"""Matplotlib figures for reports, returned as PNG bytes.

Figures are plain ``matplotlib.figure.Figure`` objects, not pyplot's: nothing
here touches the process-wide backend (a notebook keeps its inline plots) and
no figure is left registered to leak.
"""

from __future__ import annotations

import functools
import io
from typing import Callable

import matplotlib
from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, figsize=(6, 4), squeeze: bool = True):
    """``(figure, axes)`` like ``pyplot.subplots``, without pyplot's global state."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=squeeze)


def plain_text(make_figure: Callable[..., bytes | None]) -> Callable[..., bytes | None]:
    """Draw every text of the figure ``make_figure`` builds as plain text, never as mathtext.

    Labels come from the user's data: a class folder named ``$\\frac{$`` is a
    name to show, not TeX to parse (mathtext would raise and lose the figure).
    The setting applies while the figure is built and laid out, when matplotlib
    creates its text objects (tick labels included).
    """

    @functools.wraps(make_figure)
    def wrapped(*args, **kwargs):
        with matplotlib.rc_context({"text.parse_math": False}):
            return make_figure(*args, **kwargs)

    return wrapped


def fig_to_png(fig) -> bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context({"text.parse_math": False}):
        fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


@plain_text
def curves_png(history: list[dict]) -> bytes | None:
    """Loss curves (train/valid) and every other numeric metric per epoch, side by side."""
    if not history:
        return None
    epochs = [r["epoch"] + 1 for r in history]
    metric_keys = [k for k in history[-1] if k not in ("epoch", "train_loss", "valid_loss", "lr", "seconds")
                   and isinstance(history[-1][k], (int, float))]
    fig, axes = subplots(1, 2 if metric_keys else 1, figsize=(10 if metric_keys else 5.5, 3.6), squeeze=False)
    ax = axes[0][0]
    for key in ("train_loss", "valid_loss"):
        if key in history[-1]:
            ax.plot(epochs, [r.get(key) for r in history], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.set_title("loss")
    if metric_keys:
        ax = axes[0][1]
        for key in metric_keys:
            ax.plot(epochs, [r.get(key) for r in history], marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.set_title("validation metrics")
    fig.tight_layout()
    return fig_to_png(fig)
