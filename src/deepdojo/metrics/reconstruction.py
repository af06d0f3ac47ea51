"""Streaming means of an autoencoder's packed outputs (see :mod:`deepdojo.models.autoencoder`).

Example:
    >>> import torch
    >>> m = ReconstructionError()
    >>> m.update(torch.tensor([[0.5, 2.0, 0.1], [1.5, 4.0, 0.2]]), torch.zeros(2))
    >>> m.compute(), KLDivergence().name
    (1.0, 'kl')
"""

from __future__ import annotations

from deepdojo.metrics.streaming import Metric


class _ColumnMean(Metric):
    """Mean of one column of the model's outputs over every example seen (device sums, one host read)."""

    column = 0
    higher_is_better = False

    def reset(self) -> None:
        self.total = self.count = None

    def update(self, pred, target):
        s = pred[:, self.column].float().sum()
        self.total = s if self.total is None else self.total + s
        self.count = len(pred) if self.count is None else self.count + len(pred)

    def compute(self) -> float:
        return float(self.total) / self.count if self.count else float("nan")


class ReconstructionError(_ColumnMean):
    """Mean squared error per pixel of the reconstructions (normalized units)."""

    name = "recon_mse"
    column = 0


class KLDivergence(_ColumnMean):
    """Mean KL(q(z|x) || N(0, I)) per example, in nats (a VAE's second ELBO term)."""

    name = "kl"
    column = 1
