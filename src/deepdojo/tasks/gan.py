"""GAN: alternating discriminator and generator steps in the task's own ``train_step``.

The model is :class:`deepdojo.models.gan.GAN` (generator = optimizer group 0,
discriminator = group 1). Each batch: one D step on real vs detached fakes,
then one G step with D's gradients dropped, so each optimizer group only ever
moves on its own loss. Stabilisers are options:

- ``loss``: ``"nonsaturating"`` (BCE-with-logits on logits; G maximises log D(G(z)))
  or ``"hinge"``;
- ``smooth``: one-sided label smoothing (real targets 1 - smooth; fakes stay 0);
- ``d_lr_ratio``: TTUR, the discriminator's LR as a multiple of the generator's.

>>> from deepdojo.tasks import get_task
>>> get_task("gan", loss="hinge", smooth=0.0, d_lr_ratio=4.0)
GANTask(loss='hinge', smooth=0.0, d_lr_ratio=4.0, conditional=False)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from deepdojo.errors import ConfigError, DataError
from deepdojo.tasks.base import Task, register_task

LOSSES = ("nonsaturating", "hinge")


def d_loss(real: torch.Tensor, fake: torch.Tensor, kind: str, smooth: float) -> torch.Tensor:
    """Discriminator loss from logits on real (B, 1) and fake (B, 1) images."""
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, 1.0 - smooth))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def g_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Generator loss from the discriminator's logits on fakes (B, 1): non-saturating -log D(G(z)), or hinge -D."""
    if kind == "hinge":
        return -fake.mean()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


@register_task
class GANTask(Task):
    name = "gan"
    description = "images -> a generator of similar images (adversarial training, two optimizer groups)"
    monitor = "valid_loss"
    minimize = True
    interpretation = "gan"  # evaluate/gan_view.py: samples, Fréchet distance, class coverage
    default_lr = 2e-4  # lr="auto": the DCGAN rate (Radford et al. 2016), with the model's Adam betas (0.5, 0.999)

    def __init__(self, loss: str = "nonsaturating", smooth: float = 0.1, d_lr_ratio: float = 1.0,
                 conditional: bool = False):
        if loss not in LOSSES:
            raise ConfigError(f"unknown GAN loss {loss!r}", where="loss", fix=f"use one of {', '.join(LOSSES)}")
        if not 0.0 <= smooth < 0.5:
            raise ConfigError(f"label smoothing must be in [0, 0.5), got {smooth}", where="smooth", fix="e.g. 0.1")
        if not d_lr_ratio > 0:
            raise ConfigError(f"d_lr_ratio must be > 0, got {d_lr_ratio}", where="d_lr_ratio",
                              fix="e.g. 4.0 (TTUR: D learns 4x faster than G)")
        self.loss_kind, self.smooth, self.d_lr_ratio = loss, float(smooth), float(d_lr_ratio)
        self.conditional = bool(conditional)
        self.last = {"d_loss": float("nan"), "g_loss": float("nan")}  # tensors of the last step (read once per epoch)
        self.train_step = self._step

    def _step(self, learn, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """One D step then one G step; returns the G loss (the Learner's running training loss is G's)."""
        gan, opt = learn.model, learn.opt
        gen, disc = gan.generator, gan.discriminator
        g_groups = [g for g in opt.param_groups if g.get("layer_group", 0) == 0]
        d_groups = [g for g in opt.param_groups if g.get("layer_group", 0) == 1]
        if not d_groups:
            raise ConfigError("the GAN's optimizer has no discriminator group", where="model",
                              fix="train a deepdojo.models.gan.GAN (its layer_groups give G and D)")
        for g in d_groups:  # TTUR: the Learner set this step's LR just before; D's is a multiple of it
            g["lr"] *= self.d_lr_ratio
        y = yb if gan.num_classes else None
        z = torch.randn(len(xb), gan.z_dim, device=xb.device)
        fake = gen(z, y)  # (B, C, H, W)
        # D step: real vs detached fakes; only D's parameters get gradients
        d = d_loss(disc(xb, y), disc(fake.detach(), y), self.loss_kind, self.smooth)
        d.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        # G step: through D, then drop D's gradients so the optimizer moves G alone
        g = g_loss(disc(fake, y), self.loss_kind)
        learn.loss = g
        learn._event("before_backward")
        g.backward()
        learn._event("after_backward")
        for p in disc.parameters():
            p.grad = None
        opt.step()
        for grp in d_groups:
            grp["lr"] /= self.d_lr_ratio
        self.last = {"d_loss": d.detach(), "g_loss": g.detach()}
        return g

    def output_size(self, data) -> int:
        return 1  # the discriminator's logit

    def default_arch(self, data) -> str | None:
        return "dcgan"

    def model_kwargs(self, data) -> dict[str, Any]:
        shape = tuple(data.input_shape or ())
        name = data.info.get("name")
        if len(shape) != 3:
            raise DataError(f"a GAN needs images (C, H, W), got samples of shape {shape}", where=str(name),
                            fix="use an image folder or an image built-in (builtin:digits)")
        n = len(data.train.dataset) if hasattr(data.train, "dataset") else len(getattr(data.train, "x", ()))
        if n < 2:
            raise DataError(f"a GAN needs many training images, got {n}", where=str(name),
                            fix="add images (hundreds at least) to the folder")
        if self.conditional and not data.num_classes:
            raise DataError("a conditional GAN needs class labels", where=str(name),
                            fix="use class subfolders, or drop conditional")
        return {"n_labels": data.num_classes if self.conditional else 0}

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # evaluation passes see real images only: D's loss on them says how sure D is that real is real
        return F.binary_cross_entropy_with_logits(pred.float().reshape(-1), torch.ones(len(pred), device=pred.device))

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(pred.float().reshape(-1), torch.ones(len(pred), device=pred.device),
                                                  reduction="none")

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        return out.sigmoid()

    def metrics(self) -> list:
        return []

    def state(self) -> dict[str, Any]:
        return {"loss": self.loss_kind, "smooth": self.smooth, "d_lr_ratio": self.d_lr_ratio,
                "conditional": self.conditional}


@register_task
class ConditionalGAN(GANTask):
    """``--task cgan``: a GAN conditioned on the folder's classes (``deepdojo generate RUN --class NAME``)."""

    name = "cgan"
    description = "images + classes -> a generator of images of a chosen class (conditional GAN)"

    def __init__(self, loss: str = "nonsaturating", smooth: float = 0.1, d_lr_ratio: float = 1.0,
                 conditional: bool = True):
        super().__init__(loss, smooth, d_lr_ratio, conditional=True)
