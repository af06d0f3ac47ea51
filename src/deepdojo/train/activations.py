"""Feature hooks: capture what named layers output, and show a layer's activation maps.

Example:
    >>> import torch
    >>> from torch import nn
    >>> m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    >>> with FeatureHooks(m, ["1"]) as hooks:
    ...     _ = m(torch.zeros(2, 1, 8, 8))
    >>> hooks.features["1"].shape
    torch.Size([2, 4, 6, 6])
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.io import atomic_write_bytes


class FeatureHooks:
    """Context manager recording (detached) outputs of the modules named ``layers`` on each forward.

    ``features[name]`` holds the latest output; hooks are removed on exit.
    """

    def __init__(self, model: nn.Module, layers: Iterable[str], detach: bool = True):
        modules = dict(model.named_modules())
        self.layers = list(layers)
        for name in self.layers:
            if name not in modules:
                conv = [n for n, m in modules.items() if isinstance(m, (nn.Conv1d, nn.Conv2d))][:5]
                raise ConfigError(f"model has no layer named {name!r}", where="layer",
                                  fix=f"use a name from model.named_modules(), e.g. {', '.join(conv) or 'see summary()'}")
        self.features: dict[str, torch.Tensor] = {}
        self._handles = [modules[n].register_forward_hook(self._hook(n, detach)) for n in self.layers]

    def _hook(self, name: str, detach: bool):
        def fn(module, inp, out):
            out = out[0] if isinstance(out, (tuple, list)) else out
            self.features[name] = out.detach() if detach else out

        return fn

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> "FeatureHooks":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


@torch.no_grad()
def extract_features(model: nn.Module, x: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
    """Outputs of ``layers`` for input batch ``x`` (model in eval mode; its mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        with FeatureHooks(model, layers) as hooks:
            model(x)
    finally:
        model.train(was_training)
    return hooks.features


def last_conv_name(model: nn.Module) -> str:
    """The name of the deepest conv layer: where a CNN's most abstract spatial features live."""
    names = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]
    if not names:
        raise ConfigError("the model has no conv layer to show", where="layer", fix="pass layer=<module name>")
    return names[-1]


class ActivationsMixin:
    """``Learner.show_activations``: the feature maps one layer produces for one validation image."""

    def show_activations(self, x: torch.Tensor | None = None, layer: str | None = None, max_channels: int = 16,
                         path: str | Path | None = None) -> torch.Tensor:
        """Activation maps ``(C, H, W)`` of ``layer`` (default: the last conv) for ``x`` (one sample or a batch: its first).

        ``x`` defaults to the first validation sample (already preprocessed).
        The first ``max_channels`` maps are drawn as a grid and saved to
        ``path`` (default: ``activations_<layer>.png`` in the run folder, if any).
        """
        if x is None:
            xb, _ = next(iter(self.data.valid if self.data.valid is not None else self.data.train))
            x = xb[:1]
        x = x.to(self.device)
        x = x.unsqueeze(0) if self.data.input_shape and x.dim() == len(self.data.input_shape) else x
        layer = layer or last_conv_name(self.model)
        act = extract_features(self.model, x, [layer])[layer][0].float().cpu()  # (C, H, W) or (C, L)
        if path is None and self.run is not None:
            path = self.run.path / f"activations_{layer.replace('.', '_')}.png"
        if path is not None and act.dim() >= 2:
            plot_activations(act, path, title=layer, max_channels=max_channels)
        return act


def plot_activations(act: torch.Tensor, path: str | Path, title: str = "", max_channels: int = 16) -> Path:
    """A grid of the first ``max_channels`` maps of ``act`` ``(C, H, W)`` (1D maps as lines)."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    n = min(max_channels, act.shape[0])
    cols = min(n, 8)
    rows = -(-n // cols)
    fig = Figure(figsize=(1.6 * cols, 1.6 * rows + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(act[i].numpy(), cmap="viridis") if act.dim() == 3 else ax.plot(act[i].numpy())
            ax.set_title(str(i), fontsize=7)
    fig.suptitle(f"{title}: {n} of {act.shape[0]} channels")
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    atomic_write_bytes(path, buf.getvalue())  # creates the folder; never a half-written PNG
    return path
