"""Pictures of a style transfer: content, style and result side by side; each loss term per evaluation.

Example:
    >>> import torch
    >>> comparison_png(torch.rand(3, 8, 8), torch.rand(3, 8, 8), torch.rand(3, 8, 8), "random VGG")[:4]
    b'\\x89PNG'
    >>> rows = [{"eval": i, "content": 0.1 * i, "style": 10.0 / (i + 1), "tv": 0.01, "total": 1.0} for i in range(5)]
    >>> style_losses_png(rows, "lbfgs")[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import torch

from deepdojo.figures import _show, fig_to_png, plain_text, subplots


@plain_text
def comparison_png(content: torch.Tensor, style: torch.Tensor, result: torch.Tensor, features: str) -> bytes:
    """Three images ``(3, H, W)`` in [0, 1] in a row, captioned; ``features`` says what network was used."""
    fig, axes = subplots(1, 3, figsize=(10, 3.8))
    for ax, img, cap in zip(axes, (content, style, result), ("content", "style", "result")):
        _show(ax, img)
        ax.set_title(cap)
    fig.suptitle(f"features: {features}", fontsize=9)
    fig.tight_layout()
    return fig_to_png(fig)


@plain_text
def style_losses_png(history: list[dict], optimizer: str) -> bytes:
    """Weighted content, style, TV and total loss per loss evaluation, log scale (zeros are left out)."""
    fig, ax = subplots(figsize=(6.5, 4))
    evals = [r["eval"] for r in history]
    for key in ("total", "style", "content", "tv"):
        points = [(e, r[key]) for e, r in zip(evals, history) if r[key] > 0]
        if points:
            ax.plot(*zip(*points), label=key, linewidth=2 if key == "total" else 1.2)
    ax.set_yscale("log")
    ax.set_xlabel(f"loss evaluation ({optimizer})")
    ax.set_ylabel("weighted loss")
    ax.legend()
    ax.set_title("style transfer losses")
    fig.tight_layout()
    return fig_to_png(fig)
