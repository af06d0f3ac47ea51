"""Top-N recommendation quality: precision@K and recall@K per user, averaged over users.

The protocol (full ranking): for each user, every item that user did NOT rate
in training is a candidate; the K highest-scored candidates are the
recommendations; the relevant items are the user's held-out items rated at
or above ``threshold``. ``precision@K = hits / K``, ``recall@K = hits /
relevant``; both are averaged over the users with at least one relevant
held-out item (users with none cannot be scored and are counted apart).

Example (2 users x 4 items; user 0 rated item 0 in training):
    >>> import numpy as np
    >>> scores = np.array([[9., 3., 2., 1.], [1., 2., 3., 4.]])
    >>> r = topn_precision_recall(scores, train=np.array([[0, 0]]), held=np.array([[0, 1], [0, 3], [1, 0]]),
    ...                           ratings=np.array([5., 5., 2.]), k=2, threshold=4.0)
    >>> r["precision@2"], r["recall@2"], r["users"], r["users_without_relevant"]
    (0.5, 0.5, 1, 1)
"""

from __future__ import annotations

import numpy as np


def default_threshold(lo: float, hi: float) -> float:
    """The relevance threshold of a ``[lo, hi]`` rating scale: three quarters of the way up (4 on 1-5).

    >>> default_threshold(1, 5), default_threshold(0, 10)
    (4.0, 7.5)
    """
    return float(lo + 0.75 * (hi - lo))


def topn_precision_recall(scores: np.ndarray, train: np.ndarray, held: np.ndarray, ratings: np.ndarray,
                          k: int = 10, threshold: float = 4.0) -> dict[str, float | int]:
    """Precision and recall at ``k`` of the ranking ``scores`` (``(U, I)``, row = user code, column = item code).

    ``train``: ``(N, 2)`` (user, item) codes seen in training (never recommended again);
    ``held``: ``(M, 2)`` held-out codes with ``ratings`` ``(M,)``. Codes outside the
    matrix (cold-start code 0 is inside: callers drop it) are ignored.
    """
    scores = np.array(scores, dtype=np.float64, copy=True)  # (U, I)
    n_users, n_items = scores.shape
    ok = (train[:, 0] < n_users) & (train[:, 1] < n_items)
    scores[train[ok, 0], train[ok, 1]] = -np.inf  # already rated: not a recommendation
    rel = (ratings >= threshold) & (held[:, 0] < n_users) & (held[:, 1] < n_items)
    relevant = np.zeros((n_users, n_items), bool)  # (U, I)
    relevant[held[rel, 0], held[rel, 1]] = True
    n_rel = relevant.sum(1)  # (U,)
    users = np.flatnonzero(n_rel > 0)
    k_eff = min(k, n_items)
    if len(users) == 0:
        return {f"precision@{k}": float("nan"), f"recall@{k}": float("nan"), "users": 0,
                "users_without_relevant": int(len(np.unique(held[:, 0]))), "k": k, "threshold": float(threshold)}
    top = np.argpartition(-scores[users], k_eff - 1, axis=1)[:, :k_eff]  # (U', K): the K best, in any order
    hits = np.take_along_axis(relevant[users], top, 1).sum(1)  # (U',)
    held_users = np.unique(held[:, 0])
    return {f"precision@{k}": float((hits / k).mean()), f"recall@{k}": float((hits / n_rel[users]).mean()),
            "users": int(len(users)), "users_without_relevant": int(len(np.setdiff1d(held_users, users))),
            "k": k, "threshold": float(threshold)}
