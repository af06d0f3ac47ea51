"""What an autoencoder learned, computed once after training: reconstructions, a 2-D latent map, anomaly ranks.

The report draws it (``report/autoencoder_figures.py``): originals above their
reconstructions, and the validation codes in 2-D coloured by class — the code
itself when it has 2 dimensions, else its first two principal components
(scikit-learn PCA, with the share of variance they explain).

Example:
    >>> import torch
    >>> v = AutoencoderView(torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4), torch.randn(10, 3),
    ...                     torch.arange(10) % 2, ["a", "b"], torch.rand(10))
    >>> s = v.summary()
    >>> s["map"], len(s["explained_variance"]), sorted(s["recon_mse_by_class"])
    ('pca', 2, ['a', 'b'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from deepdojo.evaluate.run_eval import eval_loader


@dataclass
class AutoencoderView:
    originals: torch.Tensor  # (K, C, H, W) in [0, 1]
    reconstructions: torch.Tensor  # (K, C, H, W) in [0, 1]
    codes: torch.Tensor  # (N, Z) validation codes
    targets: torch.Tensor | None  # (N,) class ids, or None
    classes: list[str] | None
    scores: torch.Tensor  # (N,) reconstruction error per validation example
    kind = "autoencoder"

    def __post_init__(self):
        z = self.codes.double().numpy()
        if z.shape[1] <= 2:
            self.map, self.explained = (z if z.shape[1] == 2 else np.c_[z, np.zeros(len(z))]), None
            self.map_kind = "latent"
        else:
            from sklearn.decomposition import PCA

            pca = PCA(2, random_state=0).fit(z)
            self.map, self.explained, self.map_kind = pca.transform(z), pca.explained_variance_ratio_.tolist(), "pca"

    @classmethod
    def from_learner(cls, learn, valid_pass, k: int = 8) -> "AutoencoderView":
        """From the validation pass (codes, scores) and one batch reconstructed (shown in pixel units)."""
        xb, _ = next(iter(eval_loader(learn.data, "valid")))
        xb = xb[:k].to(learn.device)
        model = learn.model.eval()
        with torch.no_grad():
            recon = model.reconstruct(xb)
        tf = learn.data.info.get("transform") or {}
        c = xb.shape[1]
        mean = torch.tensor(tf.get("mean") or [0.0] * c, device=xb.device).view(1, -1, 1, 1)
        std = torch.tensor(tf.get("std") or [1.0] * c, device=xb.device).view(1, -1, 1, 1)
        show = lambda t: (t * std + mean).clamp(0, 1).cpu()  # noqa: E731  normalized -> [0, 1] pixels
        out, targets = valid_pass.outputs, valid_pass.targets
        labelled = targets is not None and targets.dim() == 1 and learn.data.classes
        return cls(show(xb), show(recon), out[:, 2:], targets if labelled else None,
                   list(learn.data.classes) if labelled else None, out[:, 0])

    def summary(self) -> dict[str, Any]:
        s: dict[str, Any] = {"latent_size": int(self.codes.shape[1]), "map": self.map_kind,
                             "explained_variance": self.explained,
                             "most_anomalous": [{"index": int(i), "score": float(self.scores[i])}
                                                for i in torch.argsort(self.scores, descending=True)[:8]]}
        if self.targets is not None:
            s["recon_mse_by_class"] = {name: float(self.scores[self.targets == i].mean())
                                       for i, name in enumerate(self.classes) if bool((self.targets == i).any())}
        return s
