"""Matplotlib figures for reports, returned as PNG bytes.

Figures are plain ``matplotlib.figure.Figure`` objects, not pyplot's: nothing
here touches the process-wide backend (a notebook keeps its inline plots) and
no figure is left registered to leak.
"""

from __future__ import annotations

from deepdojo.figures import curves_png, fig_to_png, plain_text, subplots  # noqa: F401 (re-exported)
