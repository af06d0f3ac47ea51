"""Verification metrics on embeddings: ROC AUC, EER, verification accuracy, N-way one-shot accuracy, spread.

Every pair ``i < j`` of a split's embeddings is a trial: "same identity?"
answered by ``distance <= threshold``. Over those trials:

- ``verification_auc``: ROC AUC of the score ``-distance`` (scikit-learn's
  ``roc_auc_score``, the tests' oracle);
- ``eer``: the equal error rate, where the false-accept rate (different
  identities accepted) equals the false-reject rate (same identity rejected);
- ``verification_accuracy``: accuracy on a *balanced* set of trials (half
  same, half different: ``(accept rate on same + reject rate on different) / 2``)
  at the threshold that maximizes it. Raw accuracy over all pairs would be
  dominated by "different" pairs and near 1 for any threshold close to 0;
- ``one_shot_10way``: N-way one-shot classification, as the curriculum poses
  it: a query and one example each of N identities (one of them the query's);
  the nearest example names the identity. Episodes are drawn under a fixed seed;
- ``spread``: mean pairwise distance over twice the RMS norm (0: every
  embedding at one point — a collapsed embedding; about 0.7 for random directions).

Example:
    >>> import torch
    >>> emb = torch.tensor([[0., 0.], [0., 0.1], [1., 0.], [1., 0.1]])
    >>> labels = torch.tensor([0, 0, 1, 1])
    >>> d, same = pair_distances(emb, labels)
    >>> d.shape, int(same.sum())
    (torch.Size([6]), 2)
    >>> verification_auc(d, same), equal_error_rate(d, same)
    (1.0, 0.0)
    >>> best_threshold(d, same)[1]
    1.0
    >>> one_shot_accuracy(emb, labels, n_way=2, episodes=50)
    1.0
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from deepdojo.metrics.ranking import binary_auc
from deepdojo.metrics.streaming import Metric

COLLAPSE_SPREAD = 0.05  # spread below this: the embeddings have (nearly) collapsed to a point
COLLAPSE_ADVICE = ("try semi-hard mining (task=Verification(mining='semi_hard')), a lower learning rate "
                   "(--lr), contrastive loss, or a larger batch so each identity appears several times in it")


def pair_distances(emb: torch.Tensor, labels: torch.Tensor, max_items: int = 3000,
                   seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances ``(P,)`` and same-identity flags ``(P,)`` of every pair ``i < j`` (a seeded sample of
    ``max_items`` items when there are more, so the pairs stay ~4.5M at most)."""
    emb, labels = emb.float().cpu(), labels.reshape(-1).cpu()
    if len(emb) > max_items:
        keep = torch.randperm(len(emb), generator=torch.Generator().manual_seed(seed))[:max_items]
        emb, labels = emb[keep], labels[keep]
    i, j = torch.triu_indices(len(emb), len(emb), 1)
    d = torch.cdist(emb, emb)[i, j]
    return d, labels[i] == labels[j]


def verification_auc(d: torch.Tensor, same: torch.Tensor) -> float:
    """ROC AUC of "same identity" scored by ``-distance`` (NaN when one kind of pair is missing)."""
    return binary_auc(-d.double(), same.bool())


def _rates(d: torch.Tensor, same: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds (every distinct distance, plus one below all) with the false-accept and false-reject rates there."""
    d, same = d.double().numpy(), same.bool().numpy()
    pos, neg = np.sort(d[same]), np.sort(d[~same])
    thresholds = np.concatenate([[-np.inf], np.unique(d)])
    far = np.searchsorted(neg, thresholds, side="right") / max(len(neg), 1)  # different, accepted (d <= t)
    frr = 1 - np.searchsorted(pos, thresholds, side="right") / max(len(pos), 1)  # same, rejected (d > t)
    return thresholds, far, frr


def equal_error_rate(d: torch.Tensor, same: torch.Tensor) -> float:
    """Where false accepts equal false rejects: linear interpolation between the two thresholds that bracket it."""
    if not bool(same.any()) or bool(same.all()):
        return float("nan")
    _, far, frr = _rates(d, same)
    diff = far - frr  # rises from -1 (accept nothing) to +1 (accept everything)
    k = int(np.argmax(diff >= 0))
    if k == 0 or diff[k] == 0:
        return float((far[k] + frr[k]) / 2)
    w = -diff[k - 1] / (diff[k] - diff[k - 1])  # where the segment between thresholds k-1 and k crosses zero
    return float(far[k - 1] + w * (far[k] - far[k - 1]))


def best_threshold(d: torch.Tensor, same: torch.Tensor) -> tuple[float, float]:
    """``(threshold, balanced accuracy)``: the distance cut with the best balanced accuracy (midway between
    the distinct distances that bound it, so a new pair at either neighbour's distance is judged as here)."""
    if not bool(same.any()) or bool(same.all()):
        return float("nan"), float("nan")
    thresholds, far, frr = _rates(d, same)
    acc = 1 - (far + frr) / 2
    k = int(np.argmax(acc))
    upper = np.unique(d.double().numpy())
    nxt = upper[np.searchsorted(upper, thresholds[k], side="right")] if thresholds[k] < upper[-1] else thresholds[k]
    t = thresholds[k] if not np.isfinite(thresholds[k]) else (thresholds[k] + nxt) / 2
    if not np.isfinite(t):
        t = float(upper[0]) / 2
    return float(t), float(acc[k])


def balanced_accuracy(d: torch.Tensor, same: torch.Tensor, threshold: float) -> float:
    """``(accept rate on same + reject rate on different) / 2`` at ``threshold`` (NaN when a kind of pair is missing)."""
    if not bool(same.any()) or bool(same.all()):
        return float("nan")
    accept = d <= threshold
    return float((accept[same].double().mean() + (~accept[~same]).double().mean()) / 2)


def one_shot_accuracy(emb: torch.Tensor, labels: torch.Tensor, n_way: int = 10, episodes: int = 1000,
                      seed: int = 0) -> float:
    """N-way one-shot accuracy over seeded episodes (NaN when fewer than ``n_way`` identities have 2+ examples)."""
    emb, labels = emb.float().cpu(), labels.reshape(-1).cpu().numpy()
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    groups = [g for g in groups if len(g) >= 2]
    if len(groups) < n_way:
        return float("nan")
    rng = np.random.default_rng(seed)
    d = torch.cdist(emb, emb).numpy()
    hits = 0
    for _ in range(episodes):
        chosen = rng.choice(len(groups), n_way, replace=False)
        query_class = rng.integers(n_way)
        supports = []
        for k, g in enumerate(chosen):
            if k == query_class:
                query, support = rng.choice(groups[g], 2, replace=False)  # the query is never its own support
            else:
                support = rng.choice(groups[g])
            supports.append(support)
        hits += int(np.argmin(d[query, supports]) == query_class)
    return hits / episodes


def spread(emb: torch.Tensor, max_items: int = 1000) -> float:
    """Mean pairwise distance / (2 x RMS norm): 0 when every embedding sits at one point."""
    emb = emb.float().cpu()[:max_items]
    if len(emb) < 2:
        return float("nan")
    rms = emb.pow(2).sum(1).mean().sqrt()
    i, j = torch.triu_indices(len(emb), len(emb), 1)
    return float(torch.cdist(emb, emb)[i, j].mean() / (2 * rms).clamp_min(1e-12))


def collapse_note(value: float) -> str | None:
    """A sentence when ``spread`` says the embeddings collapsed; None when they did not."""
    if not np.isfinite(value) or value >= COLLAPSE_SPREAD:
        return None
    return (f"embeddings have collapsed to a point (spread {value:.4f} < {COLLAPSE_SPREAD}): every pair is about "
            f"equally far, so distances tell identities apart no better than chance; {COLLAPSE_ADVICE}")


class _EmbeddingMetric(Metric):
    """Keeps the split's embeddings ``(N, D)`` and identities ``(N,)`` on the device; computes once per epoch."""

    def reset(self) -> None:
        self.embs, self.labels = [], []

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        self.embs.append(pred.detach())
        self.labels.append(target.detach().reshape(-1))

    def _all(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.cat(self.embs).cpu(), torch.cat(self.labels).cpu()

    def all_gather_state(self, gather) -> None:
        """[distributed] pairs span ranks: every rank's embeddings and identities, rows concatenated over ranks."""
        dim = self.embs[0].shape[1] if self.embs else 0
        embs = torch.cat(self.embs) if self.embs else torch.zeros(0, dim)
        labels = torch.cat(self.labels) if self.labels else torch.zeros(0, dtype=torch.long)
        self.embs, self.labels = [gather(embs)], [gather(labels)]


class VerificationAuc(_EmbeddingMetric):
    name = "verification_auc"

    def compute(self) -> float:
        return verification_auc(*pair_distances(*self._all()))


class EqualErrorRate(_EmbeddingMetric):
    name = "eer"
    higher_is_better = False

    def compute(self) -> float:
        return equal_error_rate(*pair_distances(*self._all()))


class VerificationAccuracy(_EmbeddingMetric):
    """Balanced verification accuracy: at a fixed ``threshold`` (the one chosen on validation, for an honest
    test figure), or at the best threshold for this split when none is given (see the module docstring)."""

    name = "verification_accuracy"

    def __init__(self, threshold: float | None = None):
        self.threshold = threshold
        super().__init__()

    def compute(self) -> float:
        d, same = pair_distances(*self._all())
        if self.threshold is None:
            return best_threshold(d, same)[1]
        return balanced_accuracy(d, same, self.threshold)


class OneShotAccuracy(_EmbeddingMetric):
    """N-way one-shot accuracy; a split with fewer usable identities than N plays every episode with all of
    them (a warning says so), since a NaN per epoch would tell the user less."""

    def __init__(self, n_way: int = 10, episodes: int = 1000):
        self.n_way, self.episodes, self.name = n_way, episodes, f"one_shot_{n_way}way"
        super().__init__()

    def compute(self) -> float:
        emb, labels = self._all()
        ids, counts = labels.unique(return_counts=True)
        usable = int((counts >= 2).sum())
        n_way = self.n_way
        if 2 <= usable < n_way:
            warnings.warn(f"{self.name}: only {usable} identities with 2+ examples in this split; "
                          f"its episodes are {usable}-way", stacklevel=2)
            n_way = usable
        return one_shot_accuracy(emb, labels, n_way=n_way, episodes=self.episodes)


class Spread(_EmbeddingMetric):
    """``spread`` of the embeddings; warns (once per run of the interpreter) when they collapse."""

    name = "spread"

    def compute(self) -> float:
        value = spread(self._all()[0])
        if collapse_note(value) is not None:  # one constant message, so Python shows it once, not every epoch
            warnings.warn(f"embeddings are collapsing to a point (spread < {COLLAPSE_SPREAD}); {COLLAPSE_ADVICE}",
                          stacklevel=2)
        return value
