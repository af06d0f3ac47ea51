"""Fréchet distance between two feature sets, and the class coverage of generated samples.

The Fréchet distance between Gaussians fitted to features ``a`` (N, D) and ``b`` (M, D):
``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` (FID when the features are
Inception's; here any classifier's). ``tr((S_a S_b)^(1/2))`` is computed as the sum
of the square roots of the eigenvalues of ``S_a^(1/2) S_b S_a^(1/2)`` (symmetric,
so ``eigh`` is exact and stable where a general ``sqrtm`` goes complex).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a = rng.normal(size=(500, 3))
>>> round(frechet_distance(a, a), 6)
0.0
>>> round(frechet_distance(a, a + 2.0), 3)   # a shift by 2 in each of 3 dims: 3 * 2**2
12.0
>>> class_coverage(np.array([0, 0, 1, 1]), 3)
{'coverage': 0.6666666666666666, 'shares': [0.5, 0.5, 0.0], 'missing': [2]}
"""

from __future__ import annotations

import numpy as np


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance of Gaussians fitted to feature rows ``a`` (N, D) and ``b`` (M, D); needs N, M >= 2."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (N, D) feature arrays with N >= 2 and the same D, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    r = _psd_sqrt(s_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(r @ s_b @ r), 0, None)).sum()  # tr((S_a S_b)^(1/2))
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * cross, 0.0))


def class_coverage(predicted: np.ndarray, num_classes: int) -> dict:
    """Share of each class among predicted labels of generated samples; ``coverage``: share of classes seen at all."""
    counts = np.bincount(np.asarray(predicted, np.int64), minlength=num_classes)[:num_classes]
    shares = counts / max(int(counts.sum()), 1)
    return {"coverage": float((counts > 0).mean()), "shares": [float(s) for s in shares],
            "missing": [int(i) for i in np.flatnonzero(counts == 0)]}
