"""Label-noise suspects: examples the trained model confidently contradicts, listed for review.

Method (the "small-loss" observation): a network fits the consistent
patterns of the data long before it memorises individual contradicting
labels, so after a short training run stopped at its best validation epoch
(the ``best`` checkpoint) a mislabeled training example still gets a low
probability for its given label. Every example of ``train`` and ``valid``
whose predicted class differs from its given label is ranked by the
probability the model gives to the given label, lowest first. Validation
rows are out of sample; training rows are scored by a model that saw them,
so a long run that memorised its noise hides them (train shorter, or compare
with the validation rows). Cost: one inference pass over train and valid,
no extra training (a k-fold out-of-fold variant would cost k trainings).

``label_suspects.csv`` (columns :data:`COLUMNS`) is written into the run
folder after training and by ``deepdojo data suspects RUN``.

Example:
    >>> import torch
    >>> probs = torch.tensor([[0.9, 0.1], [0.05, 0.95], [0.4, 0.6], [0.3, 0.7]])
    >>> [r["index"] for r in rank_suspects(probs, torch.tensor([0, 0, 0, 1]))]
    [1, 2]
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch

COLUMNS = ("rank", "split", "index", "id", "given", "predicted", "confidence", "p_given")
DEFAULT_TOP = 200  # rows kept in the CSV: a review list, not a dump of every error


def rank_suspects(probs: torch.Tensor, targets: torch.Tensor, classes: list[str] | None = None,
                  ids: list[str] | None = None, split: str = "train") -> list[dict[str, Any]]:
    """Rows for every example predicted as another class, lowest probability of its given label first.

    ``probs`` is ``(N, K)``, ``targets`` ``(N,)``; ``index`` is the position
    within the split, ``id`` its path when known, ``confidence`` the
    probability of the predicted class.
    """
    probs, targets = probs.float().cpu(), targets.long().cpu()
    classes = classes or [str(i) for i in range(probs.shape[1])]
    p_given = probs.gather(1, targets[:, None])[:, 0]  # (N,)
    confidence, predicted = probs.max(1)
    order = torch.argsort(p_given, stable=True)
    rows = []
    for i in order[(predicted != targets)[order]].tolist():
        rows.append({"split": split, "index": i, "id": ids[i] if ids else str(i),
                     "given": classes[int(targets[i])], "predicted": classes[int(predicted[i])],
                     "confidence": round(float(confidence[i]), 6), "p_given": round(float(p_given[i]), 6)})
    return rows


def label_suspects(learn, splits: tuple[str, ...] = ("train", "valid"), top: int | None = DEFAULT_TOP) -> list[dict[str, Any]]:
    """Suspects of ``learn``'s model over ``splits`` (merged, ranked by ``p_given``), at most ``top``.

    Training examples go through the validation transform (no augmentation).
    """
    from deepdojo.evaluate.interpret import Interpretation

    interps = {split: Interpretation.from_learner(learn, split) for split in splits
               if getattr(learn.data, split, None) is not None}
    return rank_all(interps, learn.data.classes, top)


def rank_all(interps: dict[str, Any], classes: list[str] | None, top: int | None = DEFAULT_TOP) -> list[dict[str, Any]]:
    """Suspects of several splits' :class:`Interpretation` s merged and ranked by ``p_given``, at most ``top``."""
    rows = []
    for split, it in interps.items():
        rows += rank_suspects(it.probs, it.targets, classes, it.ids, split)
    rows.sort(key=lambda r: r["p_given"])
    rows = rows[:top] if top is not None else rows
    return [{"rank": n + 1, **r} for n, r in enumerate(rows)]


def write_suspects(rows: list[dict[str, Any]], run_dir: str | Path) -> Path:
    """``label_suspects.csv`` in ``run_dir`` (written whole, then renamed into place)."""
    from deepdojo.io import atomic_write_bytes

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = Path(run_dir) / "label_suspects.csv"
    atomic_write_bytes(path, buf.getvalue().encode())
    return path


def read_suspects(run_dir: str | Path) -> list[dict[str, str]] | None:
    """The rows of ``run_dir/label_suspects.csv``, or None when there is none."""
    path = Path(run_dir) / "label_suspects.csv"
    if not path.is_file():
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def suspects_for_run(run_dir: str | Path, checkpoint: str = "best", top: int | None = DEFAULT_TOP) -> dict[str, Any]:
    """Rebuild the run's data, load ``checkpoint``, write ``label_suspects.csv``; a JSON-ready summary."""
    from deepdojo.evaluate.run_eval import learner_for_run, load_run_data

    learn, _ = learner_for_run(run_dir, load_run_data(run_dir), checkpoint)
    rows = label_suspects(learn, top=top)
    path = write_suspects(rows, run_dir)
    return {"csv": str(path), "suspects": len(rows), "top": rows[:10]}
