"""torchvision's and timm's state-dict layouts mapped onto the zoo's own ResNet, VGG and AlexNet.

The zoo's full-size models (``small_input=False``, ``width_mult=1``) compute
exactly what torchvision's do; only the parameter names differ (and, for
timm's VGG, the shape: its first two head layers are 7x7 and 1x1 convs, ours
the equivalent linear layers). :func:`map_state_dict` renames (and reshapes)
a foreign state dict into ours; :func:`load_foreign` loads one into a model,
keeping the model's own head when asked, and checks that every body tensor
was covered, so a partly loaded model cannot pass silently.

Layouts, by the keys that tell them apart:

==============  =================================  ===================================
family          torchvision                        timm
==============  =================================  ===================================
resnet18/34/50  ``conv1 bn1 layerN.J.* fc``        the same names (``fc`` head)
vgg11/16        ``features.K classifier.{0,3,6}``  ``features.K pre_logits.fc1/fc2 head.fc``
alexnet         ``features.K classifier.{1,4,6}``  (timm has no AlexNet)
==============  =================================  ===================================

timm's VGG applies its 7x7 ``fc1`` conv to the 7x7 feature map (inputs up to
224 px, upsampled by adaptive pooling below that); ours pools any input to 7x7
first, so the two agree exactly up to 224 px and differ only in how larger
inputs are pooled.

Example:
    >>> import torch
    >>> from deepdojo.models import create_model
    >>> ours = create_model("alexnet", 10, width_mult=0.0625)
    >>> tv = {"features.0.weight": torch.zeros(4, 3, 11, 11), "classifier.6.bias": torch.zeros(10)}
    >>> sorted(map_state_dict("alexnet", tv, ours))
    ['features.0.weight', 'head.7.bias']
"""

from __future__ import annotations

import re

import torch
from torch import nn

from deepdojo.errors import CheckpointError

# Per-channel statistics of ImageNet-1k in [0, 1] units: what torchvision's and timm's *_tv_in1k weights expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

FAMILIES = {"resnet18": "resnet", "resnet34": "resnet", "resnet50": "resnet", "vgg11": "vgg", "vgg16": "vgg",
            "alexnet": "alexnet"}
_STRIP = ("module.", "model.")  # DDP and wrapper prefixes some exporters leave on every key


def family(arch: str) -> str:
    """``resnet`` / ``vgg`` / ``alexnet`` for an architecture with a mapped layout."""
    if arch not in FAMILIES:
        raise CheckpointError(f"no torchvision/timm weight mapping for {arch!r}", where="pretrained",
                              fix=f"use one of {', '.join(FAMILIES)}")
    return FAMILIES[arch]


def layout(tensors: dict[str, torch.Tensor]) -> str:
    """Which layout a state dict is in: ``torchvision``, ``timm`` or ``deepdojo`` (already ours)."""
    keys = set(tensors)
    if any(k.startswith(("stem.", "stages.", "head.")) for k in keys) and not any(k.startswith("head.fc") for k in keys):
        return "deepdojo"
    if any(k.startswith(("pre_logits.", "head.fc")) for k in keys):
        return "timm"
    return "torchvision"


def _strip_prefix(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in _STRIP:
        if tensors and all(k.startswith(prefix) for k in tensors):
            return {k[len(prefix):]: v for k, v in tensors.items()}
    return tensors


def _resnet_name(key: str) -> str:
    key = re.sub(r"^conv1\.", "stem.0.", key)
    key = re.sub(r"^bn1\.", "stem.1.", key)
    key = re.sub(r"^fc\.", "head.", key)
    key = re.sub(r"^layer(\d)\.", lambda m: f"stages.{int(m.group(1)) - 1}.", key)
    return key.replace(".downsample.", ".shortcut.")


def _flat_features(model: nn.Module) -> dict[int, str]:
    """Position in torchvision's flat ``features`` -> our nested name (``features.<stage>.<i>``)."""
    out, k = {}, 0
    for name, child in model.features.named_children():
        inner = list(child.named_children()) if isinstance(child, nn.Sequential) else [("", child)]
        for sub, _ in inner:
            out[k] = f"features.{name}.{sub}" if sub else f"features.{name}"
            k += 1
    return out


def map_state_dict(arch: str, tensors: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A torchvision- or timm-layout state dict renamed (and reshaped) to ``model``'s names.

    Keys the layout does not know are kept under their own names, so
    :func:`load_foreign` reports them instead of dropping them.
    """
    fam, tensors = family(arch), _strip_prefix(dict(tensors))
    kind = layout(tensors)
    if kind == "deepdojo":
        return tensors
    if fam == "resnet":
        return {_resnet_name(k): v for k, v in tensors.items()}
    flat = _flat_features(model)
    if fam == "vgg":
        head = {"classifier.0": "head.1", "classifier.3": "head.4", "classifier.6": "head.7",
                "pre_logits.fc1": "head.1", "pre_logits.fc2": "head.4", "head.fc": "head.7"}
    else:
        head = {"classifier.1": "head.2", "classifier.4": "head.5", "classifier.6": "head.7"}
    out = {}
    for key, value in tensors.items():
        module, _, leaf = key.rpartition(".")
        m = re.fullmatch(r"features\.(\d+)", module)
        if m and int(m.group(1)) in flat:
            key = f"{flat[int(m.group(1))]}.{leaf}"
        elif module in head:
            key = f"{head[module]}.{leaf}"
            if module.startswith("pre_logits.") and value.dim() == 4:  # timm's ConvMlp: conv (O, C, k, k) == linear (O, C*k*k)
                value = value.reshape(value.shape[0], -1)
        out[key] = value
    return out


def guess_arch(tensors: dict[str, torch.Tensor]) -> str | None:
    """The zoo architecture a torchvision/timm state dict belongs to, from its keys (None if unknown)."""
    keys = set(_strip_prefix(dict(tensors)))
    if "conv1.weight" in keys and "layer1.0.conv1.weight" in keys:
        if "layer1.0.conv3.weight" in keys:
            return "resnet50" if "layer3.5.conv1.weight" in keys and "layer3.6.conv1.weight" not in keys else None
        blocks = len({k.split(".")[1] for k in keys if k.startswith("layer3.")})
        return {2: "resnet18", 6: "resnet34"}.get(blocks)
    convs = sum(1 for k, v in tensors.items() if re.fullmatch(r"(module\.|model\.)?features\.\d+\.weight", k) and v.dim() == 4)
    if "classifier.1.weight" in keys and convs == 5:
        return "alexnet"
    if "classifier.0.weight" in keys or "pre_logits.fc1.weight" in keys:
        return {8: "vgg11", 13: "vgg16"}.get(convs)
    return None


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """RGB stem weights ``(O, 3, k, k)`` for ``in_channels`` inputs (timm's rule).

    One channel: the sum over RGB (a grey image is R = G = B). Others: RGB
    repeated and scaled by ``3 / in_channels``, so activations keep their size.
    """
    if weight.shape[1] == in_channels:
        return weight
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    reps = -(-in_channels // weight.shape[1])
    return weight.repeat(1, reps, 1, 1)[:, :in_channels] * (weight.shape[1] / in_channels)


def head_names(model: nn.Module) -> set[str]:
    """State-dict keys of the model's last linear layer (its classifier)."""
    name = next(n for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear))
    return {f"{name}.weight", f"{name}.bias"}


def load_foreign(model: nn.Module, arch: str, tensors: dict[str, torch.Tensor], *, keep_head: bool = False,
                 where: str = "pretrained") -> dict:
    """Load torchvision/timm (or deepdojo-layout) weights into ``model``; every body tensor must be covered.

    ``keep_head=False`` leaves the model's own (freshly initialised) classifier;
    ``True`` loads the file's too (then its class count must match). The stem
    conv is adapted to the model's input channels (:func:`adapt_input_conv`).
    Returns ``{"loaded": n, "new": [keys left as they were], "layout": ...}``.
    """
    mapped = map_state_dict(arch, tensors, model)
    own = model.state_dict()
    stem = next(k for k, v in own.items() if v.dim() == 4)  # the first conv's weight
    if stem in mapped and mapped[stem].dim() == 4:
        mapped[stem] = adapt_input_conv(mapped[stem], own[stem].shape[1])
    head = head_names(model)
    skipped = head if not keep_head else set()
    extra = [k for k in mapped if k not in own and not k.endswith("num_batches_tracked")]
    wrong = [k for k in mapped if k in own and k not in skipped and mapped[k].shape != own[k].shape]
    missing = [k for k in own if k not in mapped and k not in skipped and not k.endswith("num_batches_tracked")]
    for problem, keys in (("has a tensor this model lacks", extra), ("has the wrong shape for", wrong),
                          ("lacks the tensor", missing)):
        if keys:
            k = keys[0]
            shapes = f" (file {tuple(mapped[k].shape)}, model {tuple(own[k].shape)})" if k in own and k in mapped else ""
            raise CheckpointError(
                f"the {arch} weights do not fit this model: the file {problem} {k!r}{shapes}"
                f"{f' and {len(keys) - 1} more' if len(keys) > 1 else ''}", where=where,
                fix=f"pretrained {arch} weights need the full-size model (no small_input, width_mult=1) "
                    "and a torchvision- or timm-layout file for that architecture")
    load = {k: v.to(own[k].dtype) for k, v in mapped.items() if k in own and k not in skipped}
    model.load_state_dict(load, strict=False)
    return {"loaded": len(load), "new": sorted(k for k in own if k not in load), "layout": layout(_strip_prefix(tensors))}
