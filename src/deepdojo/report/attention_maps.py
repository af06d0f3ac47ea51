"""Attention maps of a sequence-to-sequence model: which source token each output token read.

Example:
    >>> import tempfile, pathlib, torch
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "attn.png"
    >>> examples = [{"source": list("3 mar 1987"), "output": list("1987-03-03"), "weights": torch.rand(10, 10)}]
    >>> attention_png(examples, p).read_bytes()[:4]
    b'\x89PNG'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepdojo.figures import fig_to_png, subplots
from deepdojo.io import atomic_write_bytes


def attention_png(examples: list[dict], path: str | Path) -> Path:
    """One heat map per example (rows: output tokens, columns: source tokens), written atomically as a PNG.

    Each example: ``{"source": [tokens], "output": [tokens], "weights": (len(output) [+ more], >= len(source))}``.
    """
    n = len(examples)
    fig, axes = subplots(1, n, figsize=(3.2 * n, 3.4), squeeze=False)
    for ax, ex in zip(axes[0], examples):
        src, out = ex["source"], ex["output"]
        w = ex["weights"]
        w = w.detach().cpu().numpy() if hasattr(w, "detach") else np.asarray(w, dtype=float)
        ax.imshow(w[: len(out), : len(src)], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(src)), [repr(t)[1:-1] for t in src], fontsize=7, rotation=90)
        ax.set_yticks(range(len(out)), [repr(t)[1:-1] for t in out], fontsize=7)
        ax.set_xlabel("source"), ax.set_ylabel("output")
    fig.tight_layout()
    path = Path(path)
    atomic_write_bytes(path, fig_to_png(fig))
    return path
