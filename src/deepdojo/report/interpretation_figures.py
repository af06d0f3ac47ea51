"""Pictures of an interpretation: the confusion matrix and example galleries (top losses, most uncertain).

The numbers come from :class:`deepdojo.evaluate.interpret.Interpretation`;
this module only draws them into the run folder for the report.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from deepdojo.evaluate.interpret import Interpretation
    >>> interp = Interpretation(torch.tensor([[0.9, 0.1], [0.3, 0.7]]), torch.tensor([0, 0]), ["a", "b"])
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = write_interpretation(interp, d, k=2)
    >>> sorted(p.name for p in d.iterdir())
    ['confusion_matrix.png', 'interpretation.json']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepdojo.io import atomic_write_bytes, write_json
from deepdojo.report.plots_eval import confusion_png, gallery_png


def write_interpretation_figures(interp, summary: dict[str, Any], run_dir: Path) -> None:
    """``confusion_matrix.png`` and, for images, ``top_losses.png`` / ``most_uncertain.png``."""
    run_dir = Path(run_dir)
    if getattr(interp, "kind", None) == "autoencoder":
        from deepdojo.report.autoencoder_figures import write_autoencoder_figures

        return write_autoencoder_figures(interp, run_dir)
    if getattr(interp, "kind", None) == "gan":  # generated samples
        from deepdojo.report.gan_figures import write_gan_figures

        return write_gan_figures(interp, run_dir)
    if getattr(interp, "kind", None) in ("boxes", "masks"):  # detection / segmentation
        from deepdojo.report.dense_figures import write_dense_figures

        write_dense_figures(interp, run_dir)
        return None
    atomic_write_bytes(run_dir / "confusion_matrix.png", confusion_png(summary["confusion_matrix"], interp.classes))
    if interp.inputs is not None and interp.inputs.dim() == 4:
        for name, rows in (("top_losses", summary["top_losses"]), ("most_uncertain", summary["most_uncertain"])):
            images = interp.inputs[[r["index"] for r in rows]]
            captions = [f"{r['predicted']}/{r['actual']}\np={r['probability']:.2f} loss={r['loss']:.2f}" for r in rows]
            title = "predicted/actual, probability of the prediction" + (" (highest loss first)" if name == "top_losses" else "")
            atomic_write_bytes(run_dir / f"{name}.png", gallery_png(images, captions, title))


def write_interpretation(interp, run_dir: Path, k: int = 12) -> dict[str, Any]:
    """``interpretation.json`` plus its pictures; returns the summary."""
    summary = interp.summary(k)
    write_json(Path(run_dir) / "interpretation.json", summary)
    write_interpretation_figures(interp, summary, run_dir)
    return summary
