"""Look at what the model gets wrong: top losses, most uncertain, most-confused pairs, error analysis.

Error analysis as in the curriculum: export the misclassified examples to a
CSV with empty tag columns ("blurry", "mislabeled", ...), fill them in by
hand, import it back for the table of error categories and the fraction of
errors due to mislabeled data.

Example:
    >>> import torch
    >>> probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> interp = Interpretation(probs, torch.tensor([0, 0, 1]), classes=["cat", "dog"])
    >>> [r["actual"] + "->" + r["predicted"] for r in interp.top_losses(2)]
    ['cat->dog', 'dog->cat']
    >>> interp.most_confused()
    [('cat', 'dog', 1), ('dog', 'cat', 1)]
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepdojo.errors import DataError
from deepdojo.metrics.classification import confusion_counts
from deepdojo.io import atomic_write_bytes

DEFAULT_TAGS = ("blurry", "mislabeled", "other")
BASE_COLUMNS = ("index", "id", "actual", "predicted", "probability")


class Interpretation:
    """Predicted probabilities ``(N, K)`` and targets ``(N,)`` of one split, with optional raw inputs and ids."""

    def __init__(self, probs: torch.Tensor, targets: torch.Tensor, classes: list[str] | None = None,
                 inputs: torch.Tensor | None = None, ids: list[str] | None = None):
        self.probs, self.targets = probs.float().cpu(), targets.long().cpu()
        self.classes = classes or [str(i) for i in range(self.probs.shape[1])]
        self.inputs, self.ids = inputs, ids
        self.texts: list[dict[str, Any]] | None = None  # texts: top losses with token effects (evaluate/text_interpret.py)
        self.preds = self.probs.argmax(-1)
        p_true = self.probs.gather(1, self.targets[:, None])[:, 0]
        self.losses = -p_true.clamp_min(1e-12).log()  # (N,) cross-entropy of each example

    @classmethod
    def from_pass(cls, p, data) -> "Interpretation":
        """From a prediction pass with kept outputs (:func:`deepdojo.evaluate.passes.predict_split`)."""
        return cls(p.decoded, p.targets, data.classes, p.inputs, split_ids(data, p.split))

    @classmethod
    def from_learner(cls, learn, split: str = "valid") -> "Interpretation":
        """Predictions of ``learn``'s model on ``split`` (``train``/``valid``; test stays sealed)."""
        from deepdojo.data.loaders import TensorLoader
        from deepdojo.evaluate.run_eval import eval_loader

        loader = eval_loader(learn.data, split)
        probs, targets = learn.get_preds(loader)
        inputs = loader.x.cpu() if isinstance(loader, TensorLoader) else None
        ids = split_ids(learn.data, split)
        return cls(probs, targets, learn.data.classes, inputs, ids)

    @classmethod
    def from_run(cls, run_dir: str | Path, split: str = "valid", checkpoint: str = "best") -> "Interpretation":
        from deepdojo.evaluate.run_eval import learner_for_run, load_run_data

        learn, _ = learner_for_run(run_dir, load_run_data(run_dir), checkpoint)
        return cls.from_learner(learn, split)

    def row(self, i: int) -> dict[str, Any]:
        """One example: index, id, actual, predicted, probability of the prediction, loss."""
        p = int(self.preds[i])
        return {"index": i, "id": self.ids[i] if self.ids else str(i), "actual": self.classes[int(self.targets[i])],
                "predicted": self.classes[p], "probability": float(self.probs[i, p]),
                "p_actual": float(self.probs[i, int(self.targets[i])]), "loss": float(self.losses[i])}

    def top_losses(self, k: int = 9) -> list[dict[str, Any]]:
        """The ``k`` examples with the highest loss (most confidently wrong first)."""
        return [self.row(int(i)) for i in self.losses.argsort(descending=True)[:k]]

    def most_uncertain(self, k: int = 9) -> list[dict[str, Any]]:
        """The ``k`` examples whose two highest probabilities are closest."""
        top2 = self.probs.topk(min(2, self.probs.shape[1]), -1).values
        margin = top2[:, 0] - (top2[:, 1] if top2.shape[1] > 1 else 0)
        return [{**self.row(int(i)), "margin": float(margin[i])} for i in margin.argsort()[:k]]

    def confusion_matrix(self) -> np.ndarray:
        return confusion_counts(self.preds, self.targets, len(self.classes)).numpy()

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """``(actual, predicted, count)`` off the diagonal, most frequent first."""
        cm = self.confusion_matrix()
        pairs = [(self.classes[a], self.classes[p], int(cm[a, p])) for a in range(len(cm)) for p in range(len(cm))
                 if a != p and cm[a, p] >= min_count]
        return sorted(pairs, key=lambda t: (-t[2], t[0], t[1]))

    def per_class_accuracy(self) -> dict[str, float | None]:
        cm = self.confusion_matrix()
        return {c: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i, c in enumerate(self.classes)}

    def export_errors(self, path: str | Path, tags: tuple[str, ...] = DEFAULT_TAGS) -> Path:
        """Write every misclassified example (highest loss first) with empty tag columns to fill in."""
        path = Path(path)
        order = self.losses.argsort(descending=True)
        wrong = order[(self.preds != self.targets)[order]].tolist()  # misclassified, highest loss first
        buf = io.StringIO(newline="")
        w = csv.writer(buf)
        w.writerow([*BASE_COLUMNS, *tags, "notes"])
        for i in wrong:
            r = self.row(i)
            w.writerow([r["index"], r["id"], r["actual"], r["predicted"], f"{r['probability']:.4f}", *[""] * len(tags), ""])
        atomic_write_bytes(path, buf.getvalue().encode())  # the user edits this file: never leave half of it
        return path

    def plot_top_losses(self, k: int = 9):
        """The ``k`` highest-loss examples as an inline figure (images; otherwise a table of them)."""
        from deepdojo.figures import PNG, HTMLTable

        rows = self.top_losses(k)
        if self.inputs is not None and self.inputs.dim() == 4:
            from deepdojo.figures import gallery_png

            captions = [f"{r['predicted']}/{r['actual']}\np={r['probability']:.2f} loss={r['loss']:.2f}" for r in rows]
            title = "top losses: predicted/actual, probability of the prediction"
            return PNG(gallery_png(self.inputs[[r["index"] for r in rows]], captions, title), "top losses")
        keys = [key for key in rows[0] if key != "index"] if rows else []
        return HTMLTable(["index", *keys], [[r["index"], *(r[key] for key in keys)] for r in rows], "top losses")

    def summary(self, k: int = 9) -> dict[str, Any]:
        """JSON-ready: confusion matrix, per-class accuracy, most-confused pairs, top losses, most uncertain."""
        return {"classes": self.classes, "confusion_matrix": self.confusion_matrix().tolist(),
                "per_class_accuracy": self.per_class_accuracy(), "most_confused": self.most_confused()[:10],
                "top_losses": self.top_losses(k), "most_uncertain": self.most_uncertain(k),
                **({"texts": self.texts} if self.texts else {})}


def import_errors(path: str | Path) -> dict[str, Any]:
    """The table of error categories from a filled-in export: count and percent of errors per tag.

    A tag cell counts when it is not empty (``x``, ``1``, ``yes`` ...) and not
    ``0``/``no``/``false``. One error can carry several tags, so percents need not sum to 100.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("error-analysis CSV not found", where=str(path), fix="export it first with --export-errors")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0].keys()) if rows else []
    missing = [c for c in BASE_COLUMNS if c not in header]
    if rows and missing:
        raise DataError(f"missing columns {missing}", where=str(path), fix="keep the exported columns; add tag columns freely")
    tags = [c for c in header if c not in BASE_COLUMNS and c != "notes"]
    n = len(rows)
    counts = {t: sum(1 for r in rows if _ticked(r.get(t))) for t in tags}
    table = [{"category": t, "count": c, "percent": 100.0 * c / n if n else 0.0}
             for t, c in sorted(counts.items(), key=lambda kv: -kv[1])]
    untagged = sum(1 for r in rows if not any(_ticked(r.get(t)) for t in tags))
    mislabeled = counts.get("mislabeled", 0)
    return {"errors": n, "table": table, "untagged": untagged,
            "mislabeled_fraction": mislabeled / n if n else 0.0}


def _ticked(value: str | None) -> bool:
    return bool(value and value.strip() and value.strip().lower() not in ("0", "no", "false", "n"))


def split_ids(data, split: str) -> list[str] | None:
    ids, splits = data.info.get("ids"), data.info.get("splits")
    if ids is None or splits is None or split not in splits:
        return None
    return [ids[i] for i in splits[split]]
