"""Detectors for the GAN failures users report most, each with a name and what to try.

- ``discriminator_wins``: D's loss went to ~0 (it separates real from fake
  perfectly, so G's gradients vanish);
- ``mode_collapse``: generated samples are far less diverse than real ones
  (mean pairwise distance of features, generated / real, below ``collapse_ratio``);
- ``frozen_losses``: both losses stopped moving (nothing is learning).

>>> import numpy as np
>>> [f["name"] for f in gan_failures(d_losses=[1e-4] * 20, g_losses=[9.0 + 0.1 * (i % 2) for i in range(20)])]
['discriminator_wins']
>>> rng = np.random.default_rng(0)
>>> real, same = rng.normal(size=(64, 10)), np.ones((64, 10))
>>> [f["name"] for f in gan_failures(fake_features=same, real_features=real)]
['mode_collapse']
"""

from __future__ import annotations

import numpy as np

FIXES = {
    "discriminator_wins": "the discriminator's loss is ~0: try label smoothing (smooth=0.1-0.2), a lower D LR "
                          "(d_lr_ratio<1), a smaller discriminator, or the hinge loss",
    "mode_collapse": "generated samples are nearly alike: try a lower generator LR, the hinge loss, a conditional "
                     "GAN (class labels), or a larger batch",
    "frozen_losses": "both losses stopped moving: check the LR (too small or too large), try TTUR (d_lr_ratio=4) "
                     "or restart from another seed",
}


def diversity(features: np.ndarray, max_n: int = 256) -> float:
    """Mean pairwise Euclidean distance between rows of ``features`` (N, D) (the first ``max_n`` rows)."""
    f = np.asarray(features, np.float64).reshape(len(features), -1)[:max_n]
    if len(f) < 2:
        return 0.0
    d = np.sqrt(np.clip(((f[:, None, :] - f[None, :, :]) ** 2).sum(-1), 0, None))  # (n, n)
    return float(d.sum() / (len(f) * (len(f) - 1)))


def gan_failures(d_losses=None, g_losses=None, fake_features=None, real_features=None, *, window: int = 20,
                 d_floor: float = 1e-3, collapse_ratio: float = 0.2, frozen_rel: float = 1e-4) -> list[dict]:
    """Failures seen in the last ``window`` per-step losses and/or generated vs real features.

    Each finding: ``{"name", "evidence", "fix"}``; an empty list means none was seen.
    """
    out = []
    d = np.asarray(d_losses if d_losses is not None else [], np.float64)[-window:]
    g = np.asarray(g_losses if g_losses is not None else [], np.float64)[-window:]
    if len(d) and np.isfinite(d).all() and d.mean() < d_floor:
        out.append({"name": "discriminator_wins", "evidence": f"mean D loss over the last {len(d)} steps "
                    f"{d.mean():.2g} < {d_floor:g}", "fix": FIXES["discriminator_wins"]})
    if len(d) >= 5 and len(g) >= 5:
        spread = max(np.ptp(d) / (abs(d.mean()) + 1e-12), np.ptp(g) / (abs(g.mean()) + 1e-12))
        if spread < frozen_rel:
            out.append({"name": "frozen_losses", "evidence": f"D and G losses varied by {spread:.1e} (relative) over "
                        f"the last {min(len(d), len(g))} steps", "fix": FIXES["frozen_losses"]})
    if fake_features is not None and real_features is not None:
        real_div = diversity(real_features)
        ratio = diversity(fake_features) / real_div if real_div > 0 else float("inf")
        if ratio < collapse_ratio:
            out.append({"name": "mode_collapse", "evidence": f"generated samples' diversity is {ratio:.2f}x the real "
                        f"data's (< {collapse_ratio})", "fix": FIXES["mode_collapse"]})
    return out
