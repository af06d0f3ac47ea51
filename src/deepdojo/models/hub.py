"""Models built outside the registry: timm / torchvision hub architectures, and rebuilding a checkpoint's ``arch``.

Both hub packages are optional (they do not import with the pinned CPU torch)
and imported only here.

Example:
    >>> m = build_model("mlp", (4,), 3)
    >>> m(__import__("torch").zeros(2, 4)).shape
    torch.Size([2, 3])
"""

from __future__ import annotations

from torch import nn

from deepdojo.errors import ConfigError

HUB_PREFIXES = ("timm:", "torchvision:")


def hub_model(spec: str, num_classes: int, in_channels: int = 3, pretrained: bool = True,
              where: str = "pretrained") -> nn.Module:
    """``timm:NAME`` or ``torchvision:NAME`` with a new ``num_classes`` head (hub weights when ``pretrained``).

    Both packages are optional and imported only here; a missing one is a clear
    error. ``pretrained=False`` builds the bare architecture (no download), for
    loading a run's own checkpoint into it.
    """
    lib, _, name = spec.partition(":")
    try:
        if lib == "timm":
            import timm

            try:
                return timm.create_model(name, pretrained=pretrained, num_classes=num_classes, in_chans=in_channels)
            except RuntimeError as exc:  # timm's "Unknown model"
                raise ConfigError(f"timm cannot build {name!r}: {str(exc).splitlines()[0]}", where=where,
                                  fix="check the name with timm.list_models()") from None
        if lib == "torchvision":
            import torchvision
        else:
            raise ConfigError(f"unknown pretrained source {spec!r}", where=where,
                              fix="pass a run folder, timm:NAME or torchvision:NAME")
    except ImportError:
        raise ConfigError(f"{lib} is not installed, so {spec!r} cannot be built", where=where,
                          fix=f"pip install {lib}, or pass a deepdojo run folder") from None
    if in_channels != 3:
        raise ConfigError(f"torchvision weights expect 3 input channels, the data has {in_channels}",
                          where=where, fix="use timm:NAME (it adapts the stem) or RGB images")
    try:
        model = torchvision.models.get_model(name, weights="DEFAULT" if pretrained else None)
    except ValueError as exc:  # torchvision's "Unknown model"
        raise ConfigError(f"torchvision cannot build {name!r}: {str(exc).splitlines()[0]}", where=where,
                          fix="check the name with torchvision.models.list_models()") from None
    return replace_head(model, num_classes)


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap the last ``nn.Linear`` for a fresh one with ``num_classes`` outputs."""
    name, last = next(((n, m) for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear)), (None, None))
    if last is None:
        raise ConfigError("the model has no linear head to replace", where="pretrained")
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    setattr(parent, name.rsplit(".", 1)[-1], nn.Linear(last.in_features, num_classes))
    return model


def build_model(arch: str, input_shape: tuple[int, ...], num_classes: int, **model_kwargs) -> nn.Module:
    """A registered deepdojo ``arch``, or a hub architecture (``timm:NAME``) without hub weights.

    What a checkpoint's ``arch`` names is rebuilt this way before its weights are loaded.
    """
    if arch.startswith(HUB_PREFIXES):
        return hub_model(arch, num_classes, in_channels=input_shape[0], pretrained=False, where="arch")
    from deepdojo.models import create_model_for

    return create_model_for(arch, input_shape, num_classes, **model_kwargs)
