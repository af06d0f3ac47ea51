"""Verification and one-shot learning: a siamese embedding network trained with triplet or contrastive loss.

The model (``arch="siamese"``, any zoo backbone as encoder) maps an image to
an L2-normalized embedding ``(B, dim)``; targets are identity ids ``(B,)``.
Pairs and triplets are formed inside each batch
(:mod:`deepdojo.tasks.metric_learning`: ``loss="triplet"`` with
``mining="batch_hard"`` / ``"semi_hard"`` / ``"all"``, or ``loss="contrastive"``;
``margin`` is the curriculum's alpha). Validation identities are never seen in
training (:mod:`deepdojo.data.identities`), so the metrics measure what
verification needs: telling apart people the model has never met.

After training, :meth:`finalize` chooses the distance threshold with the best
balanced accuracy on validation pairs; it is saved with the weights and used by
``deepdojo predict RUN a.png b.png`` (same / different). The baseline is the same
verification done with raw pixels (nearest neighbour on pixels). An embedding
that collapses to a point is reported (``spread`` metric, a warning during
training and a sentence in the evaluation with what to try).

Example:
    >>> import torch
    >>> t = Verification(margin=0.2)
    >>> emb = torch.nn.functional.normalize(torch.tensor([[1., 0.], [1., 0.1], [0., 1.], [0.1, 1.]]), dim=1)
    >>> labels = torch.tensor([0, 0, 1, 1])
    >>> float(t.loss(emb, labels))
    0.0
    >>> t.finalize(emb, labels)["threshold"] < 1.0, t.compare_embeddings(emb[0], emb[1])["same"]
    (True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from deepdojo.data.identities import HELD_OUT_IDENTITY_TASKS
from deepdojo.errors import ConfigError
from deepdojo.metrics.verification import (EqualErrorRate, OneShotAccuracy, Spread, VerificationAccuracy,
                                           VerificationAuc, best_threshold, collapse_note, one_shot_accuracy,
                                           pair_distances, verification_auc)
from deepdojo.tasks.base import Task, register_task, versus
from deepdojo.tasks.metric_learning import MININGS, contrastive_loss, triplet_loss

LOSSES = ("triplet", "contrastive")


@register_task
class Verification(Task):
    name = "verification"
    aliases = ("siamese", "one_shot")
    description = "same or different identity from an embedding distance (siamese network, triplet loss)"
    monitor = "verification_auc"
    minimize = False
    error_metric = "eer"
    interpretation = "embeddings"
    report_sections = ("baselines",)

    def __init__(self, loss: str = "triplet", margin: float = 0.2, mining: str = "all", dim: int = 64,
                 n_way: int = 10, threshold: float | None = None):
        if loss not in LOSSES:
            raise ConfigError(f"unknown verification loss {loss!r}", where="task.loss", fix=f"use one of {LOSSES}")
        if mining not in MININGS:
            raise ConfigError(f"unknown mining {mining!r}", where="task.mining", fix=f"use one of {MININGS}")
        if not margin > 0:
            raise ConfigError(f"margin must be > 0, got {margin}", where="task.margin", fix="e.g. 0.2 (embeddings are unit length)")
        self.loss_name, self.margin, self.mining, self.dim = loss, float(margin), mining, int(dim)
        self.n_way, self.threshold = int(n_way), threshold

    def output_size(self, data) -> int:
        return self.dim

    def default_arch(self, data) -> str | None:
        return "siamese" if data.is_image else None

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "contrastive":
            return contrastive_loss(pred, target, margin=self.margin)
        return triplet_loss(pred, target, margin=self.margin, mining=self.mining)

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B,)``: each item's batch-hard triplet cost as anchor (0 when it has no positive in the batch)."""
        d = torch.cdist(pred.float(), pred.float())
        same = target[:, None] == target[None, :]
        eye = torch.eye(len(target), dtype=torch.bool, device=pred.device)
        far_pos = d.masked_fill(~same | eye, float("-inf")).amax(1)
        near_neg = d.masked_fill(same, float("inf")).amin(1)
        out = torch.relu(far_pos - near_neg + self.margin)
        return torch.where(torch.isfinite(out), out, torch.zeros_like(out))

    def metrics(self) -> list:
        return [VerificationAuc(), EqualErrorRate(), OneShotAccuracy(self.n_way, 500), Spread()]

    def eval_metrics(self) -> list:
        # at the validation threshold once one is chosen: a test figure with a threshold fitted on test would flatter
        return [VerificationAuc(), EqualErrorRate(), VerificationAccuracy(self.threshold), OneShotAccuracy(self.n_way, 2000),
                OneShotAccuracy(5, 2000), Spread()]

    def baselines(self, x_train, y_train, x_valid, y_valid, num_classes, budget_s, seed) -> dict[str, dict] | None:
        """The same verification and one-shot trials with raw pixels (L2-normalized) as the embedding."""
        emb = torch.nn.functional.normalize(torch.from_numpy(np.asarray(x_valid, np.float32)), dim=1)
        y = torch.from_numpy(np.asarray(y_valid).astype(np.int64))
        d, same = pair_distances(emb, y)
        return {"pixels": {"name": "nearest neighbour on pixels", "verification_auc": verification_auc(d, same),
                           "verification_accuracy": best_threshold(d, same)[1],
                           f"one_shot_{self.n_way}way": one_shot_accuracy(emb, y, self.n_way, 2000, seed)}}

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        out = []
        key = f"one_shot_{self.n_way}way"
        for metric in ("verification_auc", key):
            if metric in model_metrics and "pixels" in baselines:
                margin = model_metrics[metric] - baselines["pixels"][metric]
                out.append(versus("raw pixels", "nearest neighbour on pixels", margin, metric))
        note = collapse_note(model_metrics.get("spread", float("nan")))
        if note:
            out.append(note)
        return out

    def target_summary(self, targets: dict[str, np.ndarray], classes: list[str] | None) -> dict[str, Any]:
        ids = {split: set(np.unique(y).tolist()) for split, y in targets.items()}
        shared = set.intersection(*ids.values()) if len(ids) > 1 else set()
        return {"identities": {split: len(v) for split, v in ids.items()}, "identities_in_two_splits": len(shared)}

    def finalize(self, preds: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        """The distance threshold with the best balanced accuracy on validation pairs (saved; used by predict)."""
        d, same = pair_distances(preds, targets)
        threshold, acc = best_threshold(d, same)
        if not np.isfinite(threshold):
            return {}
        self.threshold = threshold
        return {"threshold": threshold, "verification_accuracy": acc}

    def compare_embeddings(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, Any]:
        """Two embeddings ``(D,)`` -> distance and, once a threshold is chosen, same/different."""
        distance = float((a.float() - b.float()).norm())
        out: dict[str, Any] = {"distance": distance}
        if self.threshold is not None:
            out.update(threshold=self.threshold, same=distance <= self.threshold)
        return out

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        return {"embedding": [round(v, 6) for v in out.float().tolist()]}

    def state(self) -> dict[str, Any]:
        return {"loss": self.loss_name, "margin": self.margin, "mining": self.mining, "dim": self.dim,
                "n_way": self.n_way, "threshold": self.threshold}


HELD_OUT_IDENTITY_TASKS.update((Verification.name, *Verification.aliases))
