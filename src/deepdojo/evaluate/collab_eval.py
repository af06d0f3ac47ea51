"""What a trained recommender learned and how well it ranks: top-N metrics and the item factors.

- :func:`score_matrix`: the model's predicted rating for every (user, item)
  code pair, ``(U, I)`` (row/column 0 is the cold-start code).
- :func:`topn_evaluation`: precision/recall@K of the model's ranking and of
  the bias model's (:mod:`deepdojo.metrics.topn`), on validation.
- :func:`factor_interpretation`: the learned item biases (most / least liked
  once each user's own bias is accounted for: the model learns both), a 2-D
  PCA of the item factors and each popular item's nearest items by cosine.
  Items with fewer than ``min_count`` training ratings are left out of the
  lists (their bias and factors are mostly the initialisation, shrunk).

Example:
    >>> import torch
    >>> from deepdojo.models import create_model
    >>> m = create_model("dot", 1, n_users=4, n_items=6, n_factors=3)
    >>> score_matrix(m, 4, 6).shape
    torch.Size([4, 6])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from deepdojo.metrics.topn import default_threshold, topn_precision_recall


@torch.no_grad()
def score_matrix(model: torch.nn.Module, n_users: int, n_items: int, device: torch.device | str = "cpu",
                 batch: int = 1 << 16) -> torch.Tensor:
    """``(n_users, n_items)`` float32 predictions for every code pair, in batches of ``batch`` pairs."""
    was_training = model.training
    model.eval()
    u = torch.arange(n_users).repeat_interleave(n_items)
    i = torch.arange(n_items).repeat(n_users)
    pairs = torch.stack([u, i], 1)  # (U*I, 2)
    out = torch.cat([model(pairs[s:s + batch].to(device)).reshape(-1).float().cpu()
                     for s in range(0, len(pairs), batch)])
    model.train(was_training)
    return out.view(n_users, n_items)


def topn_evaluation(model, data, k: int = 10, threshold: float | None = None, device="cpu") -> dict[str, Any]:
    """``{"model": {...}, "bias": {...}}`` precision/recall@K on validation (cold-start rows left out)."""
    from deepdojo.tasks.collab import bias_model

    spec = data.info["preprocess"]
    lo, hi = spec["range"]
    threshold = default_threshold(lo, hi) if threshold is None else threshold
    xtr, xva, yva = data.train.x.numpy(), data.valid.x.numpy(), data.valid.y.numpy()
    warm = (xva[:, 0] > 0) & (xva[:, 1] > 0)  # a new user or item cannot be ranked from its codes
    scores = score_matrix(model, spec["n_users"], spec["n_items"], device).numpy()
    bias = bias_model(xtr, data.train.y.numpy())
    base = np.broadcast_to(bias.item_bias[None, : spec["n_items"]], scores.shape)  # (U, I) per-user order = item bias
    out = {}
    for name, s in (("model", scores), ("bias", base)):
        s = s.copy()
        s[:, 0] = -np.inf  # never recommend the cold-start code
        out[name] = topn_precision_recall(s, xtr, xva[warm], yva[warm], k=k, threshold=threshold)
    return out


def factor_interpretation(model, data, top: int = 10, min_count: int | None = None) -> dict[str, Any]:
    """Item biases (most/least liked), a 2-D PCA of item factors, nearest items by cosine (JSON-ready)."""
    spec = data.info["preprocess"]
    names = _item_names(spec)
    counts = np.bincount(data.train.x[:, 1].numpy(), minlength=spec["n_items"])  # training ratings per code
    if min_count is None:
        min_count = int(max(1, min(20, np.median(counts[1:]))))  # MovieLens: 20; small sets: their median
    keep = np.flatnonzero(counts >= min_count)
    keep = keep[keep > 0]
    bias = model.item_bias.weight.detach().float().cpu().numpy()[:, 0]  # (I,)
    order = keep[np.argsort(-bias[keep], kind="stable")]
    row = lambda c: {"item": names[c], "bias": float(bias[c]), "ratings": int(counts[c])}  # noqa: E731
    out: dict[str, Any] = {"min_ratings": min_count, "items_shown": int(len(keep)),
                           "most_liked": [row(c) for c in order[:top]],
                           "least_liked": [row(c) for c in order[::-1][:top]]}
    factors = model.item_factors.weight.detach().float().cpu().numpy()  # (I, F)
    if len(keep) >= 3 and factors.shape[1] >= 2:
        f = factors[keep] - factors[keep].mean(0)
        _, sv, vt = np.linalg.svd(f, full_matrices=False)
        xy = f @ vt[:2].T  # (n, 2) coordinates on the two main directions
        var = sv ** 2
        out["pca"] = {"explained": [float(v) for v in var[:2] / var.sum()],
                      "points": [{"item": names[c], "x": float(a), "y": float(b), "bias": float(bias[c])}
                                 for c, (a, b) in zip(keep.tolist(), xy)]}
        out["pca"]["extremes"] = _extremes(out["pca"]["points"], top // 2 or 1)
        unit = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
        popular = keep[np.argsort(-counts[keep], kind="stable")][:top]
        sims = unit[popular] @ unit[keep].T  # (P, n) cosine similarity
        out["nearest"] = []
        for p, s in zip(popular, sims):
            s = np.where(keep == p, -np.inf, s)
            best = np.argsort(-s, kind="stable")[:5]
            out["nearest"].append({"item": names[p], "ratings": int(counts[p]),
                                   "nearest": [[names[keep[j]], float(s[j])] for j in best]})
    return out


def _extremes(points: list[dict], n: int) -> dict[str, list[str]]:
    """The items at each end of each principal direction (what a direction means)."""
    out = {}
    for axis in ("x", "y"):
        order = sorted(points, key=lambda p: p[axis])
        out[f"{axis}_low"] = [p["item"] for p in order[:n]]
        out[f"{axis}_high"] = [p["item"] for p in order[::-1][:n]]
    return out


def _item_names(spec: dict) -> list[str]:
    """Name of each item code: its title when the source has titles, else its raw id."""
    from deepdojo.data.ratings_codes import decode_items

    titles = spec.get("titles") or {}
    return [titles.get(raw, raw) if raw else "(unseen)" for raw in decode_items(spec)]


def collab_finish(learn, evaluation: dict[str, Any], out: dict[str, Any], k: int = 10) -> None:
    """Add top-N metrics (model and bias model) and ``factors`` (the interpretation) to a finishing run's files."""
    model, data = learn.model, learn.data
    if not hasattr(model, "item_factors"):  # a user's own module: no factors to read, no code matrix to score
        return
    topn = topn_evaluation(model, data, k=k, device=learn.device)
    p, r = f"precision@{k}", f"recall@{k}"
    evaluation["valid"].update({p: topn["model"][p], r: topn["model"][r]})
    base = out.get("baselines")
    if base is not None:
        base["baselines"]["bias"].update({p: topn["bias"][p], r: topn["bias"][r]})
        m, b = topn["model"], topn["bias"]
        base["comparison"].append(
            f"top-{k} recommendations (items rated >= {m['threshold']:g} in validation are relevant, "
            f"{m['users']} users): precision@{k} {m[p]:.3f} vs {b[p]:.3f} and recall@{k} {m[r]:.3f} vs {b[r]:.3f} "
            f"for the bias model (it recommends the same best-liked items to everyone)")
    out["factors"] = {**factor_interpretation(model, data), "topn": topn}
