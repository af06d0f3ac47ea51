"""Autoencoders: learn to reconstruct images through a small code; score anomalies by reconstruction error.

``deepdojo train DATA --task autoencoder`` trains ``conv_ae`` (``--arch vae``
for the variational one) on the images of any image folder or built-in;
labels, if any, are not used for training (they colour the latent map and
measure linear probes). The model returns, per example, its reconstruction
error, its KL term and its code (:mod:`deepdojo.models.autoencoder`), so the
loss here is the (negative) ELBO per pixel:

    loss = recon_mse + beta * KL / pixels

which for the VAE is the ELBO with a Gaussian decoder of variance ½, divided
by the number of pixels; for the plain autoencoder KL is 0. Both terms are
reported separately each epoch (``recon_mse``, ``kl``).

After training, :meth:`finalize` chooses the anomaly threshold on validation:
the ``quantile`` (default 0.99) of the validation reconstruction errors;
``deepdojo predict RUN img.png`` prints an image's score and whether it
exceeds it.

Example:
    >>> import torch
    >>> t = Autoencoder(latent=2, pixels=64)
    >>> out = torch.tensor([[0.5, 6.4, 0.0, 0.0], [1.5, 0.0, 0.0, 0.0]])  # [recon_mse, kl, code...]
    >>> round(float(t.loss(out, torch.zeros(2))), 4)                      # mean(0.5 + 0.1, 1.5 + 0)
    1.05
    >>> t.finalize(out, torch.zeros(2))["threshold"] <= 1.5
    True
"""

from __future__ import annotations

from typing import Any

import torch

from deepdojo.errors import ConfigError, DataError
from deepdojo.metrics.reconstruction import KLDivergence, ReconstructionError
from deepdojo.models.autoencoder import PACKED
from deepdojo.tasks.base import Task, register_task


@register_task
class Autoencoder(Task):
    name = "autoencoder"
    aliases = ("ae",)
    description = "reconstruct images through a small code (conv_ae, or vae with --arch vae); anomaly scores"
    monitor = "valid_loss"
    minimize = True
    interpretation = "autoencoder"  # reconstructions.png, latent_map.png, interpretation.json
    report_sections = ()

    def __init__(self, latent: int = 16, beta: float = 1.0, quantile: float = 0.99, pixels: int | None = None,
                 threshold: float | None = None):
        if not (isinstance(latent, int) and latent >= 1):
            raise ConfigError(f"latent must be a whole number >= 1, got {latent!r}", where="latent")
        if not (0 < quantile < 1):
            raise ConfigError(f"quantile must lie in (0, 1), got {quantile}", where="quantile", fix="e.g. 0.99")
        if beta < 0:
            raise ConfigError(f"beta must be >= 0, got {beta}", where="beta")
        self.latent, self.beta, self.quantile, self.pixels, self.threshold = latent, beta, quantile, pixels, threshold

    # ----------------------------------------------------------- outputs and loss
    def output_size(self, data) -> int:
        shape = tuple(data.input_shape)
        if len(shape) != 3:
            raise DataError(f"an autoencoder here takes images (C, H, W); this data has samples of shape {shape}",
                            where=str(data.info.get("name")), fix="use an image folder or an image built-in")
        self.pixels = shape[0] * shape[1] * shape[2]
        return PACKED + self.latent

    def default_arch(self, data) -> str:
        return "conv_ae"

    def model_kwargs(self, data) -> dict[str, Any]:
        return {"image_size": tuple(data.input_shape[1:])}

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.per_example_loss(pred, target).mean()

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # (B, 2 + Z) -> (B,): the negative ELBO per pixel (module docstring)
        return pred[:, 0] + self.beta * pred[:, 1] / float(self.pixels or 1)

    def metrics(self) -> list:
        return [ReconstructionError(), KLDivergence()]

    # ----------------------------------------------------------- after training
    def finalize(self, preds: torch.Tensor, targets: torch.Tensor) -> dict[str, Any]:
        errors = preds[:, 0].double()
        self.threshold = float(torch.quantile(errors, self.quantile))
        return {"threshold": self.threshold, "quantile": self.quantile, "valid_mean_recon_mse": float(errors.mean())}

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        score = float(out[0])
        row: dict[str, Any] = {"score": score}
        if self.threshold is not None:
            row.update(threshold=self.threshold, anomaly=score > self.threshold)
            row["prediction"] = (f"anomaly (score {score:.4g} > threshold {self.threshold:.4g})" if score > self.threshold
                                 else f"normal (score {score:.4g} <= threshold {self.threshold:.4g})")
        else:
            row["prediction"] = f"score {score:.4g} (no threshold: the run was not finished)"
        return row

    def state(self) -> dict[str, Any]:
        return {"latent": self.latent, "beta": self.beta, "quantile": self.quantile, "pixels": self.pixels,
                "threshold": self.threshold}
