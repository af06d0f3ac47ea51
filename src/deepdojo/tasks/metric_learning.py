"""Losses that shape an embedding space: contrastive and triplet loss, with batch-hard and semi-hard mining.

Every function takes a batch of embeddings ``(B, D)`` and identity labels
``(B,)``; pairs and triplets are formed inside the batch (no separate pair
datasets). Distances are Euclidean. Conventions follow pytorch-metric-learning
(the tests use it as the oracle on random embeddings, equal values):

- contrastive: positive pairs cost ``relu(d - pos_margin)``, negative pairs
  ``relu(margin - d)``; each kind is averaged over its pairs with a non-zero
  cost, and the two averages are added;
- triplet: ``relu(d(a, p) - d(a, n) + margin)`` averaged over the triplets with
  a non-zero cost. Which triplets: ``"all"`` of them; ``"batch_hard"``: for
  each anchor the farthest positive and the nearest negative (Hermans et al.
  2017); ``"semi_hard"``: every triplet whose negative is farther than the
  positive but inside the margin, ``0 < d(a, n) - d(a, p) <= margin``
  (FaceNet's choice: hard enough to teach, not so hard that training collapses).

A batch with no usable pair or triplet gives a zero loss that still has a
gradient (so the step is a no-op, not an error).

Example:
    >>> import torch
    >>> emb = torch.tensor([[0., 0.], [0., 0.1], [1., 0.], [1., 0.1]])  # (B=4, D=2)
    >>> labels = torch.tensor([0, 0, 1, 1])
    >>> float(triplet_loss(emb, labels, margin=0.2, mining="batch_hard"))  # well separated: nothing to learn
    0.0
    >>> round(float(triplet_loss(emb, labels, margin=2.0, mining="batch_hard")), 4)  # 0.1 - 1.0 + 2.0
    1.1
"""

from __future__ import annotations

import torch

MININGS = ("all", "batch_hard", "semi_hard")


def pairwise_distances(emb: torch.Tensor) -> torch.Tensor:
    """Euclidean distances ``(B, B)`` between the rows of ``emb`` ``(B, D)``."""
    emb = emb.float()
    return torch.cdist(emb, emb)


def _masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(same, different)`` boolean ``(B, B)``: same identity (not the pair of an item with itself), other identity."""
    labels = labels.reshape(-1)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def _mean_nonzero(losses: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """Mean of the positive entries of ``losses`` (zero, with a gradient through ``anchor``, when none is)."""
    nonzero = losses > 0
    if not bool(nonzero.any()):
        return anchor.sum() * 0.0
    return losses[nonzero].mean()


def contrastive_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float = 1.0,
                     pos_margin: float = 0.0) -> torch.Tensor:
    """Pull same-identity pairs within ``pos_margin``, push others beyond ``margin`` (every pair of the batch).

    >>> import torch
    >>> emb = torch.tensor([[0., 0.], [0., 0.5], [3., 0.]])
    >>> round(float(contrastive_loss(emb, torch.tensor([0, 0, 1]), margin=1.0)), 4)  # one positive pair at 0.5
    0.5
    """
    d = pairwise_distances(emb)  # (B, B)
    same, diff = _masks(labels)
    pos = torch.relu(d[same] - pos_margin)
    neg = torch.relu(margin - d[diff])
    return _mean_nonzero(pos, emb) + _mean_nonzero(neg, emb)


def mine_triplets(d: torch.Tensor, labels: torch.Tensor, mining: str = "batch_hard",
                  margin: float = 0.2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Index tensors ``(anchor, positive, negative)`` of the triplets ``mining`` picks from distances ``d`` ``(B, B)``."""
    if mining not in MININGS:
        raise ValueError(f"mining must be one of {MININGS}, got {mining!r}")
    same, diff = _masks(labels)
    if mining == "batch_hard":
        usable = same.any(1) & diff.any(1)  # anchors with at least one positive and one negative
        far_pos = d.masked_fill(~same, float("-inf")).argmax(1)  # (B,) the farthest positive
        near_neg = d.masked_fill(~diff, float("inf")).argmin(1)  # (B,) the nearest negative
        a = torch.nonzero(usable).reshape(-1)
        return a, far_pos[a], near_neg[a]
    a, p, n = torch.nonzero(same[:, :, None] & diff[:, None, :], as_tuple=True)  # every valid (a, p, n)
    if mining == "semi_hard":
        gap = d[a, n] - d[a, p]  # how much farther the negative is than the positive
        keep = (gap > 0) & (gap <= margin)
        a, p, n = a[keep], p[keep], n[keep]
    return a, p, n


def triplet_loss(emb: torch.Tensor, labels: torch.Tensor, margin: float = 0.2,
                 mining: str = "batch_hard") -> torch.Tensor:
    """``relu(d(a, p) - d(a, n) + margin)`` over the triplets ``mining`` picks, mean of the non-zero ones.

    >>> import torch
    >>> emb = torch.tensor([[0., 0.], [0., 1.], [0.5, 0.]])  # the negative is nearer to item 0 than its positive
    >>> # triplets (0, 1, 2): 1 - 0.5 + 0.2 = 0.7 and (1, 0, 2): 1 - 1.118 + 0.2 = 0.082; their mean
    >>> round(float(triplet_loss(emb, torch.tensor([0, 0, 1]), margin=0.2, mining="all")), 4)
    0.391
    """
    d = pairwise_distances(emb)
    with torch.no_grad():
        a, p, n = mine_triplets(d, labels, mining, margin)
    return _mean_nonzero(torch.relu(d[a, p] - d[a, n] + margin), emb)
