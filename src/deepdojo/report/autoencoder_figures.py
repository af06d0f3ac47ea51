"""An autoencoder's pictures: originals over reconstructions, and the 2-D latent map coloured by class.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from deepdojo.evaluate.autoencoder_view import AutoencoderView
    >>> v = AutoencoderView(torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8), torch.randn(20, 2),
    ...                     torch.arange(20) % 3, ["a", "b", "c"], torch.rand(20))
    >>> d = Path(tempfile.mkdtemp())
    >>> write_autoencoder_figures(v, d)
    >>> sorted(p.name for p in d.iterdir())
    ['latent_map.png', 'reconstructions.png']
"""

from __future__ import annotations

from pathlib import Path

from deepdojo.figures import _show, fig_to_png, plain_text, subplots
from deepdojo.io import atomic_write_bytes


@plain_text
def reconstructions_png(view) -> bytes:
    """Row 1: validation images; row 2: their reconstructions."""
    k = len(view.originals)
    fig, axes = subplots(2, k, figsize=(1.3 * k + 0.5, 3), squeeze=False)
    for i in range(k):
        _show(axes[0][i], view.originals[i])
        _show(axes[1][i], view.reconstructions[i])
    axes[0][0].set_title("original", fontsize=8, loc="left")
    axes[1][0].set_title("reconstruction", fontsize=8, loc="left")
    fig.tight_layout()
    return fig_to_png(fig)


@plain_text
def latent_map_png(view) -> bytes:
    """Validation codes in 2-D (the code itself, or its first two principal components), coloured by class."""
    fig, ax = subplots(figsize=(6, 5))
    xy = view.map
    if view.targets is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=6)
    else:
        t = view.targets.numpy()
        for i, name in enumerate(view.classes):
            ax.scatter(xy[t == i, 0], xy[t == i, 1], s=6, label=name)
        ax.legend(markerscale=2, fontsize=7, ncol=2 if len(view.classes) > 8 else 1)
    if view.map_kind == "pca":
        ev = view.explained
        ax.set_xlabel(f"PC1 ({ev[0]:.0%} of the variance)")
        ax.set_ylabel(f"PC2 ({ev[1]:.0%})")
        ax.set_title(f"latent codes (size {view.codes.shape[1]}), first two principal components")
    else:
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
        ax.set_title("latent codes")
    fig.tight_layout()
    return fig_to_png(fig)


def write_autoencoder_figures(view, run_dir: Path) -> None:
    """``reconstructions.png`` and ``latent_map.png`` in ``run_dir``."""
    atomic_write_bytes(Path(run_dir) / "reconstructions.png", reconstructions_png(view))
    atomic_write_bytes(Path(run_dir) / "latent_map.png", latent_map_png(view))
