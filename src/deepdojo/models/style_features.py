"""Feature maps for neural style transfer: which layers of a CNN to read, and a network to read them from.

:class:`FeatureTap` runs a CNN and returns the outputs of a few named layers
(forward hooks), stopping the forward pass after the last one it needs, so a
VGG is run only up to ``relu4_2``-ish and its head never at all.

Which layers:

- the zoo's VGG (``models/vgg.py``, no batch norm): Gatys et al.'s choice,
  style at ``relu1_1 .. relu5_1`` (the first ReLU of each stage) and content
  at ``relu4_2`` (:func:`vgg_layers`);
- any other CNN (a deepdojo run's model): its ``Conv2d`` layers in the order
  the forward pass calls them, style at up to five spread from first to
  ~3/4 depth, content at ~2/3 depth (:func:`conv_layers`). Conv outputs are
  read before their norm/activation: Gram matrices of pre-activations carry
  the same texture statistics (up to a per-channel affine map).

:func:`random_vgg` is the fallback when no pretrained weights are available:
VGG-16's convolutions with seeded random (Kaiming) weights. Random multi-scale
filters are known to reproduce texture statistics surprisingly well
(Ustyuzhaninov et al. 2017, "What does it take to generate natural
textures?"); they do not recognise objects, so content is kept as colour and
edges rather than as things.

Example:
    >>> import torch
    >>> net = random_vgg(width_mult=0.125)
    >>> content, style = vgg_layers(net)
    >>> content, style[:2]
    ('features.3.3', ['features.0.1', 'features.1.1'])
    >>> feats = FeatureTap(net, [content, *style])(torch.rand(1, 3, 32, 32))
    >>> tuple(feats["features.1.1"].shape)
    (1, 16, 16, 16)
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.vgg import VGG


class _Enough(Exception):
    """Raised by the last hook: the rest of the forward pass is not needed."""


class FeatureTap(nn.Module):
    """``tap(x) -> {layer name: output}`` for the named submodules of ``net`` (weights frozen, eval mode)."""

    def __init__(self, net: nn.Module, layers: list[str]):
        super().__init__()
        modules = dict(net.named_modules())
        unknown = [name for name in layers if name not in modules]
        if unknown:
            raise ConfigError(f"the network has no layer {unknown[0]!r}", where="style layers",
                              fix="name layers as model.named_modules() does")
        self.net = net.eval().requires_grad_(False)
        self.layers = list(dict.fromkeys(layers))
        self._targets = {modules[name]: name for name in self.layers}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # (B, C, H, W) -> {name: (B, C_l, H_l, W_l)}
        found: dict[str, torch.Tensor] = {}

        def hook(module, _inputs, output):
            found[self._targets[module]] = output
            if len(found) == len(self.layers):
                raise _Enough

        handles = [m.register_forward_hook(hook) for m in self._targets]
        try:
            self.net(x)
        except _Enough:
            pass
        finally:
            for h in handles:
                h.remove()
        if len(found) < len(self.layers):
            missing = [n for n in self.layers if n not in found]
            raise ConfigError(f"layer {missing[0]!r} was not reached by the forward pass", where="style layers",
                              fix="choose layers the model's forward() calls")
        return found


def vgg_layers(net: VGG) -> tuple[str, list[str]]:
    """Gatys et al.'s layers of a zoo VGG without batch norm: ``(content relu4_2, style [relu1_1..relu5_1])``."""
    first = net.features[0][0]
    if any(isinstance(m, nn.BatchNorm2d) for m in net.features.modules()) or not isinstance(first, nn.Conv2d):
        return conv_layers(net, in_channels=first.in_channels if isinstance(first, nn.Conv2d) else 3)
    # each stage is [conv, relu, conv, relu, ..., maxpool]: ReLU k of a stage is at index 2k+1
    style = [f"features.{i}.1" for i in range(len(net.features))]
    return "features.3.3", style


def conv_layers(net: nn.Module, in_channels: int = 3, size: int = 64) -> tuple[str, list[str]]:
    """``(content, style)`` layer names of any CNN: its Conv2d layers in call order, spread over the depth."""
    convs = {m: name for name, m in net.named_modules() if isinstance(m, nn.Conv2d)}
    order: list[str] = []
    handles = [m.register_forward_hook(lambda m, _i, _o: order.append(convs[m])) for m in convs]
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(1, in_channels, size, size))
    finally:
        for h in handles:
            h.remove()
    order = list(dict.fromkeys(order))
    if not order:
        raise ConfigError("the network has no Conv2d layers to take style from", where="features",
                          fix="use a CNN run (--features RUN_DIR of an image model) or the default VGG features")
    n = len(order)
    style_idx = sorted({round(i * (n - 1) * 0.75 / 4) for i in range(5)})
    return order[min(n - 1, round((n - 1) * 2 / 3))], [order[i] for i in style_idx]


def random_vgg(seed: int = 0, width_mult: float = 1.0) -> VGG:
    """VGG-16's layout (no batch norm) with seeded random Kaiming weights: the no-download fallback."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        net = VGG("vgg16", 3, 1, width_mult=width_mult, small_input=True, batch_norm=False, dropout=0.0)
    finally:
        torch.random.set_rng_state(gen_state)  # the caller's random stream is left as it was
    return net.eval()
