"""Convolutional autoencoders: plain (``conv_ae``) and variational (``vae``, Kingma & Welling 2014).

The encoder (3x3 convs, two of stride 2, then a linear layer) maps an image to
a ``latent``-sized code; the decoder (linear, two transposed convs, a 3x3
conv) maps it back. The VAE's encoder gives a mean and a log-variance, and
training samples the code ``z = mu + sigma * eps`` (the reparameterization
trick); evaluation uses ``mu``.

So that the standard loop, validation pass and metrics work unchanged (they
see ``model(x)`` and the labels, never ``x`` again), the forward pass returns
what the losses need per example, packed in one ``(B, 2 + latent)`` tensor:

==========  ===========================================================
column      meaning
==========  ===========================================================
0           reconstruction error: mean squared error per pixel (in the
            normalized units the model sees) — the anomaly score
1           KL(q(z|x) || N(0, I)) in nats (0 for the plain autoencoder)
2 ..        the code: ``mu`` (what the latent map and linear probes use)
==========  ===========================================================

``reconstruct(x)`` and ``encode(x)`` give the images and codes themselves.

Example:
    >>> import torch
    >>> m = ConvAutoencoder(in_channels=1, image_size=(8, 8), latent=2, variational=True)
    >>> out = m.eval()(torch.randn(5, 1, 8, 8))
    >>> out.shape, m.reconstruct(torch.randn(5, 1, 8, 8)).shape
    (torch.Size([5, 4]), torch.Size([5, 1, 8, 8]))
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.layers import init_weights
from deepdojo.models.registry import register_model

PACKED = 2  # columns before the code: reconstruction error, KL


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, ``(B, Z) -> (B,)``: ½ Σ (mu² + σ² − 1 − log σ²)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)


class ConvAutoencoder(nn.Module):
    """Encoder -> code -> decoder; ``forward`` returns the packed ``(B, 2 + latent)`` rows (module docstring)."""

    def __init__(self, in_channels: int = 3, image_size: tuple[int, int] = (32, 32), latent: int = 16,
                 width: int = 32, variational: bool = False):
        super().__init__()
        if latent < 1:
            raise ConfigError(f"latent size must be >= 1, got {latent}", where="latent", fix="e.g. latent=16")
        h, w = (int(s) for s in image_size)
        self.image_size, self.latent, self.variational = (h, w), latent, variational
        self.h4, self.w4 = (h + 3) // 4, (w + 3) // 4  # after two stride-2 convs with padding 1
        c1, c2 = width, 2 * width
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c1, 3, stride=2, padding=1), nn.ReLU(),  # (B, c1, H/2, W/2)
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),  # (B, c2, H/4, W/4)
            nn.Flatten(),
        )
        flat = c2 * self.h4 * self.w4
        self.to_code = nn.Linear(flat, 2 * latent if variational else latent)  # VAE: [mu, logvar]
        self.from_code = nn.Sequential(nn.Linear(latent, flat), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),  # (B, c1, H/2, W/2)
            nn.ConvTranspose2d(c1, c1, 4, stride=2, padding=1), nn.ReLU(),  # (B, c1, 4*h4, 4*w4) >= (H, W)
            nn.Conv2d(c1, in_channels, 3, padding=1),
        )
        init_weights(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(B, C, H, W) -> (mu (B, Z), logvar (B, Z) or None)``."""
        code = self.to_code(self.encoder(x))
        if not self.variational:
            return code, None
        mu, logvar = code.chunk(2, dim=1)
        return mu, logvar.clamp(-30, 20)  # exp() stays finite in float32

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, Z) -> (B, C, H, W)`` (cropped from the decoder's multiple-of-4 size)."""
        c2 = self.from_code[0].out_features // (self.h4 * self.w4)
        out = self.decoder(self.from_code(z).view(len(z), c2, self.h4, self.w4))
        return out[..., : self.image_size[0], : self.image_size[1]]

    def _code(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        if logvar is None or not self.training:
            return mu
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # z = mu + sigma * eps

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> reconstructions of the same shape (from ``mu`` in eval mode)."""
        return self.decode(self._code(*self.encode(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, 2 + Z)
        mu, logvar = self.encode(x)
        recon = self.decode(self._code(mu, logvar))
        err = (recon - x).pow(2).flatten(1).mean(1)  # (B,) per-pixel MSE
        kl = gaussian_kl(mu, logvar) if logvar is not None else torch.zeros_like(err)
        return torch.cat([err[:, None], kl[:, None], mu], dim=1)


def _build(num_classes: int, in_channels: int, image_size, variational: bool, **kw) -> ConvAutoencoder:
    latent = num_classes - PACKED  # the task asks for 2 + latent output columns
    if latent < 1:
        raise ConfigError(f"an autoencoder needs {PACKED} + latent outputs, got {num_classes}", where="num_classes",
                          fix="train it with --task autoencoder (it sizes the outputs)")
    return ConvAutoencoder(in_channels, tuple(image_size), latent, variational=variational, **kw)


_EXAMPLE = {"input_shape": (1, 8, 8), "kwargs": {"image_size": (8, 8), "width": 8}}


@register_model("conv_ae", kind="autoencoder", example=_EXAMPLE)
def conv_ae(num_classes: int, in_channels: int = 3, image_size=(32, 32), **kw) -> ConvAutoencoder:
    return _build(num_classes, in_channels, image_size, False, **kw)


@register_model("vae", kind="autoencoder", example=_EXAMPLE)
def vae(num_classes: int, in_channels: int = 3, image_size=(32, 32), **kw) -> ConvAutoencoder:
    return _build(num_classes, in_channels, image_size, True, **kw)
