"""Inside an image model: first-layer filters, activation maps of a layer, Grad-CAM heat maps.

Example:
    >>> import torch
    >>> from deepdojo.models import create_model
    >>> model = create_model("cnn", num_classes=3, in_channels=1, widths=(4, 8))
    >>> heat = grad_cam(model, torch.randn(1, 1, 16, 16))
    >>> tuple(heat.shape), float(heat.min()) >= 0, float(heat.max()) <= 1
    ((16, 16), True, True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepdojo.errors import ConfigError


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def first_layer_filters(model: nn.Module) -> torch.Tensor:
    """Weights of the first convolution ``(C_out, C_in, kH, kW)``, each filter scaled to [0, 1]."""
    convs = conv_layers(model)
    if not convs:
        raise ConfigError("the model has no convolution layer", where="model", fix="filters exist only for CNNs")
    w = convs[0][1].weight.detach().float().cpu()
    lo = w.amin(dim=(1, 2, 3), keepdim=True)
    hi = w.amax(dim=(1, 2, 3), keepdim=True)
    return (w - lo) / (hi - lo).clamp_min(1e-12)


def _layer(model: nn.Module, name: str | None) -> nn.Module:
    if name is None:
        convs = conv_layers(model)
        if not convs:
            raise ConfigError("the model has no convolution layer", where="--layer", fix="pass a layer name")
        return convs[-1][1]
    modules = dict(model.named_modules())
    if name not in modules:
        raise ConfigError(f"no layer named {name!r}", where="--layer",
                          fix=f"use one of {', '.join(n for n, _ in conv_layers(model)) or 'the named modules'}")
    return modules[name]


@torch.no_grad()
def activation_maps(model: nn.Module, x: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """Output of ``layer`` (default: the last convolution) for one preprocessed image ``(1, C, H, W)`` -> ``(C', h, w)``."""
    grabbed = {}
    handle = _layer(model, layer).register_forward_hook(lambda m, i, o: grabbed.setdefault("a", o.detach()))
    was_training = model.training
    try:
        model.eval()
        model(x)
    finally:
        handle.remove()
        model.train(was_training)
    return grabbed["a"][0].float().cpu()


def grad_cam(model: nn.Module, x: torch.Tensor, target: int | None = None, layer: str | None = None) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) of class ``target`` (default: the predicted one) over image ``x`` ``(1, C, H, W)``.

    ``relu(sum_k alpha_k A_k)`` with ``alpha_k`` the spatial mean of d score / d A_k
    at ``layer`` (default: the last convolution), upsampled to ``(H, W)`` and scaled to [0, 1].
    """
    saved = {}
    module = _layer(model, layer)
    h1 = module.register_forward_hook(lambda m, i, o: saved.setdefault("a", o))
    was_training = model.training
    try:
        model.eval()
        scores = model(x)  # (1, K)
        cls = int(scores.argmax(-1)) if target is None else target
        a = saved["a"]  # (1, C, h, w)
        grads = torch.autograd.grad(scores[0, cls], a)[0]
    finally:
        h1.remove()
        model.train(was_training)
    alpha = grads.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1)
    cam = F.relu((alpha * a).sum(1, keepdim=True)).detach()  # (1, 1, h, w)
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return (cam / cam.max().clamp_min(1e-12)).cpu()
