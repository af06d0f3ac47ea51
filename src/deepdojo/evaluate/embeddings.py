"""What a verification model gets wrong: nearest-neighbour galleries, false accepts and false rejects.

From the validation embeddings ``(N, D)`` and identities ``(N,)`` (one
prediction pass) and the threshold chosen on validation:

- ``galleries``: for a seeded sample of queries, their ``k`` nearest other
  items (id, identity, distance, same identity or not): what the embedding
  thinks looks alike;
- ``false_accepts``: the closest pairs of *different* identities at or under
  the threshold (the impostors let in), ``false_rejects``: the farthest pairs of
  the *same* identity over it (the owners turned away), with both rates.

Example:
    >>> import torch
    >>> emb = torch.tensor([[0.0], [0.1], [1.0], [1.05], [0.5]])
    >>> out = embedding_interpretation(emb, torch.tensor([0, 0, 1, 1, 2]), threshold=0.3, k=2, queries=5)
    >>> out["false_accept_rate"], out["false_reject_rate"], len(out["galleries"][0]["neighbours"])
    (0.0, 0.0, 2)
    >>> embedding_interpretation(emb, torch.tensor([0, 1, 1, 1, 2]), threshold=0.3)["false_accepts"][0]["distance"]
    0.1
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def embedding_interpretation(emb: torch.Tensor, labels: torch.Tensor, threshold: float | None,
                             classes: list[str] | None = None, ids: list[str] | None = None, k: int = 5,
                             queries: int = 12, worst: int = 12, seed: int = 0) -> dict[str, Any]:
    """Galleries and the worst false accepts / rejects (JSON-ready; see the module docstring)."""
    emb, labels = emb.float().cpu(), labels.reshape(-1).cpu()
    n = len(emb)
    name = (lambda i: ids[i]) if ids is not None else (lambda i: str(i))  # noqa: E731
    who = (lambda c: classes[c]) if classes is not None else (lambda c: str(c))  # noqa: E731
    d = torch.cdist(emb, emb)  # (N, N)
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(n, min(queries, n), replace=False).tolist())
    galleries = []
    for q in picked:
        row = d[q].clone()
        row[q] = float("inf")  # not its own neighbour
        near = row.argsort()[: min(k, n - 1)].tolist()
        galleries.append({"query": name(q), "identity": who(int(labels[q])), "neighbours": [
            {"item": name(j), "identity": who(int(labels[j])), "distance": round(float(d[q, j]), 6),
             "same": bool(labels[j] == labels[q])} for j in near]})
    out: dict[str, Any] = {"kind": "embeddings", "threshold": threshold, "galleries": galleries}
    if threshold is None:
        return out
    i, j = torch.triu_indices(n, n, 1)
    dist, same = d[i, j], labels[i] == labels[j]

    def rows(mask: torch.Tensor, descending: bool) -> list[dict[str, Any]]:
        idx = torch.nonzero(mask).reshape(-1)
        order = idx[dist[idx].argsort(descending=descending)][:worst]
        return [{"a": name(int(i[p])), "b": name(int(j[p])), "identity_a": who(int(labels[i[p]])),
                 "identity_b": who(int(labels[j[p]])), "distance": round(float(dist[p]), 6)} for p in order.tolist()]

    accepted = dist <= threshold
    out.update(false_accepts=rows(~same & accepted, descending=False), false_rejects=rows(same & ~accepted, descending=True),
               false_accept_rate=float((~same & accepted).sum() / max(int((~same).sum()), 1)),
               false_reject_rate=float((same & ~accepted).sum() / max(int(same.sum()), 1)))
    return out
