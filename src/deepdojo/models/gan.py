"""DCGAN generator and discriminator (and a class-conditional variant) in one module.

One ``nn.Module`` holds both networks so the Learner's checkpoint carries both;
:meth:`GAN.layer_groups` puts the generator in optimizer group 0 and the
discriminator in group 1, so one Adam over two groups is exactly two Adams
(Adam's state is per parameter, and a group whose gradients are ``None`` is
not stepped) and resumes bit-exactly with the Learner's own checkpoints.

>>> import torch
>>> gan = GAN((1, 8, 8), z_dim=4, width=8)
>>> gan.sample(3).shape
torch.Size([3, 1, 8, 8])
>>> gan(torch.zeros(3, 1, 8, 8)).shape     # the discriminator's logits
torch.Size([3, 1])
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.registry import register_model


class Generator(nn.Module):
    """z (B, z_dim) [+ class embedding] -> image (B, C, H, W): a linear seed at (H/4, W/4), two stride-2 transposed convs."""

    def __init__(self, shape: tuple[int, int, int], z_dim: int = 32, width: int = 32, num_classes: int = 0):
        super().__init__()
        c, h, w = shape
        self.shape, self.z_dim, self.num_classes = (c, h, w), z_dim, num_classes
        self.h0, self.w0 = math.ceil(h / 4), math.ceil(w / 4)
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        self.seed = nn.Sequential(nn.Linear(z_dim * (2 if num_classes else 1), 2 * width * self.h0 * self.w0),
                                  nn.BatchNorm1d(2 * width * self.h0 * self.w0), nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),  # (B, W, H/2, W/2)
            nn.ConvTranspose2d(width, c, 4, 2, 1))  # (B, C, 4*h0, 4*w0); linear output: real images are normalized, not in [-1, 1]
        self.width = width

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise ConfigError("a conditional generator needs class labels", where="y", fix="pass y (B,) class indices")
            z = torch.cat([z, self.embed(y)], 1)  # (B, 2*z_dim)
        x = self.seed(z).view(len(z), 2 * self.width, self.h0, self.w0)
        c, h, w = self.shape
        return self.up(x)[:, :, :h, :w]  # crop 4*ceil(h/4) down to h


class Discriminator(nn.Module):
    """image (B, C, H, W) [+ class] -> logit (B, 1); conditional by projection (Miyato & Koyama 2018)."""

    def __init__(self, shape: tuple[int, int, int], width: int = 32, num_classes: int = 0):
        super().__init__()
        c, h, w = shape
        self.features = nn.Sequential(
            nn.Conv2d(c, width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, W, H/2, W/2)
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 2W, H/4, W/4)
            nn.Flatten())
        n = 2 * width * (h // 2 // 2) * (w // 2 // 2)
        if n == 0:
            raise ConfigError(f"images of {h}x{w} are too small for the discriminator", where="input_shape",
                              fix="use images of at least 4x4 pixels")
        self.out = nn.Linear(n, 1)
        self.project = nn.Embedding(num_classes, n) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        f = self.features(x)  # (B, n)
        logit = self.out(f)  # (B, 1)
        if self.project is not None and y is not None:
            logit = logit + (self.project(y) * f).sum(1, keepdim=True)
        return logit


class GAN(nn.Module):
    """Generator + discriminator; ``forward(x)`` is the discriminator's logit (what evaluation passes call)."""

    adversarial = True  # the Learner adds GANWatch (failure detectors) for such models
    # Adam/AdamW betas the Learner builds its optimizer with: beta1 = 0.5, the DCGAN setting; the default 0.9
    # carries stale momentum across the alternating D/G games (measured: collapse to one digit class)
    adam_betas = (0.5, 0.999)

    def __init__(self, shape: tuple[int, int, int], z_dim: int = 32, width: int = 32, num_classes: int = 0):
        super().__init__()
        if len(shape) != 3:
            raise ConfigError(f"a GAN needs images (C, H, W), got samples of shape {tuple(shape)}", where="data",
                              fix="use an image folder or an image built-in (builtin:digits)")
        self.z_dim, self.num_classes = z_dim, num_classes
        self.generator = Generator(shape, z_dim, width, num_classes)
        self.discriminator = Discriminator(shape, width, num_classes)

    def layer_groups(self) -> list[nn.Module]:
        return [self.generator, self.discriminator]  # optimizer group 0: G, group 1: D (see module docstring)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.discriminator(x, y)

    def sample(self, n: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images (n, C, H, W) from z ~ N(0, I); ``generator`` makes them reproducible under a seed."""
        dev = next(self.parameters()).device
        z = torch.randn(n, self.z_dim, generator=generator).to(dev)
        if self.num_classes and y is None:
            y = torch.arange(n) % self.num_classes  # every class in turn
        was = self.generator.training
        self.generator.eval()
        with torch.no_grad():
            out = self.generator(z, None if y is None else y.to(dev))
        self.generator.train(was)
        return out


@register_model("dcgan", kind="gan")
def dcgan(num_classes: int = 1, input_shape: tuple[int, int, int] = (1, 8, 8), z_dim: int = 32, width: int = 32,
          n_labels: int = 0) -> GAN:
    """A DCGAN for images of ``input_shape``; ``n_labels > 0``: conditional on that many classes.

    ``num_classes`` is the registry's output size (the discriminator's single logit) and is ignored.
    """
    return GAN(tuple(input_shape), z_dim=z_dim, width=width, num_classes=n_labels)
