"""Neural style transfer (Gatys, Ecker & Bethge 2016): the losses, and optimizing the image itself.

Here nothing is trained but the picture: a fixed CNN reads features of the
image being made, and three terms pull it

- toward the **content** image: mean squared error of the features at one
  layer (what is where);
- toward the **style** image: mean squared error of the Gram matrices
  ``G = F Fᵀ / (C·H·W)`` of the features at several layers, summed (which
  features occur together, wherever they are: texture, colour, brush);
- toward smoothness: the **total variation** (mean squared difference of
  neighbouring pixels), which suppresses the high-frequency noise a CNN's
  gradients put into an image.

:class:`StyleObjective` holds the targets (computed once) and returns the
weighted terms; :func:`optimize_image` runs L-BFGS (the paper's choice: few,
expensive, well-aimed steps) or Adam over the pixels and records every loss
evaluation. This is not a registered training Task (no model is fitted):
``deepdojo.stylize`` and ``deepdojo stylize`` drive it.

Example:
    >>> import torch
    >>> f = torch.arange(8.0).reshape(1, 2, 2, 2)            # (B, C, H, W)
    >>> gram_matrix(f)                                      # F Fᵀ / (C·H·W), (B, C, C)
    tensor([[[ 1.7500,  4.7500],
             [ 4.7500, 15.7500]]])
    >>> float(tv_loss(torch.zeros(1, 3, 4, 4)))
    0.0
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from deepdojo.errors import ConfigError

OPTIMIZERS = ("lbfgs", "adam")
TERMS = ("content", "style", "tv")


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, C, C)``: channel co-occurrences ``F Fᵀ`` averaged over ``C·H·W`` entries."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)  # (B, C, HW)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the features of the image and of the content image at one layer."""
    return F.mse_loss(features, target)


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over the style layers of the mean squared error between Gram matrices."""
    return sum(F.mse_loss(gram_matrix(features[name]), g) for name, g in target_grams.items())


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Total variation ``(B, C, H, W)``: mean squared difference of vertical plus of horizontal neighbours."""
    return (img[..., 1:, :] - img[..., :-1, :]).pow(2).mean() + (img[..., :, 1:] - img[..., :, :-1]).pow(2).mean()


@dataclass(frozen=True)
class StyleWeights:
    """How much each term counts. Style's Gram entries are tiny (divided by C·H·W), hence its large weight."""

    content: float = 1.0
    style: float = 1e6
    tv: float = 1e-2

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not (value >= 0 and value < float("inf")):
                raise ConfigError(f"{name} weight must be a finite number >= 0, got {value}",
                                  where=f"{name}_weight", fix="e.g. --style-weight 1e6")


class StyleObjective:
    """``objective(img) -> {content, style, tv, total}`` (weighted) for images in [0, 1] pixel units.

    ``tap(x)`` returns ``{layer: features}`` (a :class:`~deepdojo.models.style_features.FeatureTap`);
    ``normalize`` maps pixels to what the network expects (ImageNet mean/std for VGG weights).
    """

    def __init__(self, tap: Callable[[torch.Tensor], dict[str, torch.Tensor]], content_layer: str,
                 style_layers: list[str], content: torch.Tensor, style: torch.Tensor,
                 normalize: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
                 weights: StyleWeights = StyleWeights()):
        self.tap, self.normalize, self.weights = tap, normalize, weights
        self.content_layer, self.style_layers = content_layer, list(style_layers)
        with torch.no_grad():  # the targets are constants: computed once
            self.content_target = tap(normalize(content))[content_layer].detach()
            style_feats = tap(normalize(style))
            self.style_grams = {name: gram_matrix(style_feats[name]).detach() for name in self.style_layers}

    def __call__(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.tap(self.normalize(img))
        w = self.weights
        terms = {"content": w.content * content_loss(feats[self.content_layer], self.content_target),
                 "style": w.style * style_loss(feats, self.style_grams),
                 "tv": w.tv * tv_loss(img)}
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        return terms

    def grams(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        """Gram matrices of ``img`` at the style layers (to measure how close it came to the style)."""
        with torch.no_grad():
            feats = self.tap(self.normalize(img))
        return {name: gram_matrix(feats[name]) for name in self.style_layers}


def range_penalty(img: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """``weight`` x mean squared distance of the pixels from [0, 1] (0 for an image inside the range)."""
    return weight * (F.relu(img - 1).pow(2) + F.relu(-img).pow(2)).mean()


def optimize_image(objective: StyleObjective, init: torch.Tensor, steps: int = 300, optimizer: str = "lbfgs",
                   lr: float | None = None, log: Callable[[dict], None] | None = None,
                   log_every: int = 50) -> tuple[torch.Tensor, list[dict]]:
    """Optimize the pixels of ``init`` ``(1, C, H, W)`` in [0, 1]: ``(image clamped to [0, 1], history)``.

    ``steps``: optimizer iterations (an L-BFGS iteration may evaluate the loss more than once in its
    line search). ``history`` has one row per loss evaluation: ``{"eval", "content", "style", "tv",
    "total", "seconds"}`` (weighted terms of the image clamped to [0, 1], i.e. of what is returned;
    wall seconds since the start), so L-BFGS and Adam can be compared per evaluation and per second.
    The pixels are free during a step (clamping them in place would break L-BFGS's curvature
    estimates); a penalty on the part outside [0, 1] keeps them near the range.
    ``log(row)`` is called every ``log_every`` evaluations.

    Example:
        >>> import torch
        >>> from deepdojo.models.style_features import FeatureTap, random_vgg, vgg_layers
        >>> net = random_vgg(width_mult=0.125)
        >>> content, style = vgg_layers(net)
        >>> obj = StyleObjective(FeatureTap(net, [content, *style]), content, style,
        ...                      torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
        >>> img, history = optimize_image(obj, torch.rand(1, 3, 32, 32), steps=5, optimizer="lbfgs")
        >>> img.shape, len(history) >= 5, history[-1]["style"] < history[0]["style"]
        (torch.Size([1, 3, 32, 32]), True, True)
    """
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {optimizer!r}", where="optimizer", fix=f"use one of {', '.join(OPTIMIZERS)}")
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be a whole number >= 1, got {steps!r}", where="steps", fix="e.g. --steps 300")
    img = init.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)  # L-BFGS views grads flat
    history: list[dict] = []
    start = time.perf_counter()

    def evaluate() -> torch.Tensor:
        # the terms are those of the picture that would be saved (clamped to [0, 1]), so the history
        # is honest about the result; the range penalty pulls pixels that left [0, 1] back in (the
        # clamp alone gives them no gradient)
        terms = objective(img.clamp(0, 1))
        loss = terms["total"] + range_penalty(img)
        loss.backward()
        row = {"eval": len(history), **{k: float(v.detach()) for k, v in terms.items()},
               "seconds": time.perf_counter() - start}
        history.append(row)
        if log is not None and (len(history) % log_every == 0 or len(history) == 1):
            log(row)
        return loss

    if optimizer == "lbfgs":
        # one call runs all iterations, so the curvature history is never thrown away between calls
        opt = torch.optim.LBFGS([img], lr=lr or 1.0, max_iter=steps, max_eval=steps * 5 // 4 + 1,
                                history_size=50, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            return evaluate()

        opt.step(closure)
    else:
        opt = torch.optim.Adam([img], lr=lr or 0.02)
        for _ in range(steps):
            opt.zero_grad()
            evaluate()
            opt.step()
    return img.detach().clamp(0, 1), history
