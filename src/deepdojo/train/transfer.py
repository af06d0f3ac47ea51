"""Transfer learning: layer groups, freezing, discriminative learning rates, fine-tuning, pretrained weights.

A model is split into *layer groups*, from the input side to the head: its own
``layer_groups()`` if it has one (every deepdojo family does), else everything
but ``model.head`` / the last ``nn.Linear`` as the body and that as the head.
The optimizer gets one parameter group per layer group (split by weight decay),
tagged ``layer_group``; ``lr=slice(lo, hi)`` gives the head ``hi``, the first
group ``lo`` and the ones between a geometric spread (``lr_scale`` per group).

Example:
    >>> from deepdojo.models import create_model
    >>> groups = layer_groups(create_model("resnet18", 10, small_input=True, width_mult=0.25))
    >>> len(groups)
    3
    >>> [round(s, 4) for s in slice_scales(slice(1e-4, 1e-2), 3)]
    [0.01, 0.1, 1.0]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from deepdojo.errors import CheckpointError, ConfigError
from deepdojo.train import schedules
from deepdojo.models.hub import HUB_PREFIXES, build_model, hub_model, replace_head  # noqa: F401 (re-exported)
from deepdojo.train.callbacks import Callback

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _params(module_or_list) -> list[nn.Parameter]:
    mods = module_or_list if isinstance(module_or_list, (list, tuple)) else [module_or_list]
    return [p for m in mods for p in (m.parameters() if isinstance(m, nn.Module) else [m])]


def layer_groups(model: nn.Module) -> list[list[nn.Parameter]]:
    """The model's parameters in layer groups, input side first, head last; each parameter once."""
    if callable(getattr(model, "layer_groups", None)):
        raw = [_params(g) for g in model.layer_groups()]
    else:
        head = model.head if isinstance(getattr(model, "head", None), nn.Module) else None
        if head is None:
            head = next((m for m in reversed(list(model.modules())) if isinstance(m, nn.Linear)), None)
        head_ids = {id(p) for p in head.parameters()} if head is not None else set()
        raw = [[p for p in model.parameters() if id(p) not in head_ids], _params(head) if head is not None else []]
    seen: set[int] = set()
    groups: list[list[nn.Parameter]] = []
    for params in raw:
        groups.append([])
        for p in params:
            if id(p) not in seen:  # a parameter shared by two groups belongs to the first
                seen.add(id(p))
                groups[-1].append(p)
    missed = [p for p in model.parameters() if id(p) not in seen]  # not named by layer_groups(): first group
    groups[0] = missed + groups[0]
    return [g for g in groups if g]


def optimizer_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """One optimizer group per layer group (two with weight decay: matrices/kernels decay, biases/norms not)."""
    out = []
    for i, params in enumerate(layer_groups(model)):
        if not weight_decay:
            out.append({"params": params, "weight_decay": 0.0, "layer_group": i})
            continue
        decay, no_decay = [p for p in params if p.dim() >= 2], [p for p in params if p.dim() < 2]
        out += [{"params": ps, "weight_decay": wd, "layer_group": i}
                for ps, wd in ((decay, weight_decay), (no_decay, 0.0)) if ps]
    return out


def slice_scales(lr: slice, n: int) -> list[float]:
    """Per-layer-group multipliers of ``lr.stop`` for ``lr=slice(lo, hi)`` (geometric from lo to hi).

    ``slice(hi)`` (no start) gives the head ``hi`` and every other group ``hi / 10``.
    """
    hi = lr.stop
    if hi is None or hi <= 0 or (lr.start is not None and not 0 < lr.start <= hi):
        raise ConfigError(f"learning-rate slice needs 0 < lo <= hi, got slice({lr.start}, {lr.stop})", where="lr",
                          fix="e.g. lr=slice(1e-5, 1e-3)")
    if lr.start is None:
        return [0.1] * (n - 1) + [1.0]
    if n == 1:
        return [1.0]
    ratio = lr.start / hi
    return [ratio ** ((n - 1 - i) / (n - 1)) for i in range(n)]


def set_lr_scales(opt, lr: Any) -> Any:
    """A slice: scale each optimizer group's LR by its layer group's place and return the top LR.

    Anything else restores each group's own ``lr_scale`` (one a custom
    ``param_groups`` set, else 1) and is returned unchanged.
    """
    for g in opt.param_groups:
        g.setdefault("own_lr_scale", g.get("lr_scale", 1.0))
    if not isinstance(lr, slice):
        for g in opt.param_groups:
            g["lr_scale"] = g["own_lr_scale"]
        return lr
    ids = [g.get("layer_group", i) for i, g in enumerate(opt.param_groups)]
    order = sorted(set(ids))
    scales = slice_scales(lr, len(order))
    for g, gid in zip(opt.param_groups, ids):
        g["lr_scale"] = g["own_lr_scale"] * scales[order.index(gid)]
    return lr.stop


def set_trainable(model: nn.Module, n: int, train_bn: bool = True) -> None:
    """Freeze layer groups ``[:n]``, unfreeze ``[n:]``; batch-norm stays trainable when ``train_bn``.

    Frozen parameters keep their place in the optimizer (``requires_grad=False``
    gives them no gradient, so the optimizer skips them).
    """
    bn = {id(p) for m in model.modules() if isinstance(m, BN_TYPES) for p in m.parameters(recurse=False)}
    groups = layer_groups(model)
    for i, params in enumerate(groups):
        frozen = i < (n if n >= 0 else len(groups) + n)
        for p in params:
            p.requires_grad_(not frozen or (train_bn and id(p) in bn))


class TransferMixin:
    """``freeze``/``unfreeze``/``freeze_to``/``fine_tune`` for the :class:`Learner`."""

    def freeze_to(self, n: int, train_bn: bool = True) -> "TransferMixin":
        """Train only layer groups ``n`` onward (``-1``: the head only); BN stays trainable unless ``train_bn=False``."""
        set_trainable(self.model, n, train_bn)
        return self

    def freeze(self, train_bn: bool = True) -> "TransferMixin":
        """Train the head only (plus batch-norm layers unless ``train_bn=False``)."""
        return self.freeze_to(-1, train_bn)

    def unfreeze(self) -> "TransferMixin":
        """Train every layer group."""
        return self.freeze_to(0)

    def fine_tune(self, epochs: int, base_lr: float = 2e-3, freeze_epochs: int = 1, lr_mult: float = 100,
                  train_bn: bool = True, resume: bool = False) -> None:
        """``freeze_epochs`` head-only epochs, then ``epochs`` unfrozen with LRs ``base_lr/2/lr_mult .. base_lr/2``.

        The fastai recipe: the new head first learns from fixed features (one
        cycle peaking at ``base_lr``), so its random start does not wreck the
        pretrained body; then everything trains on a second cycle, the early
        (general) layers slowest. One ``fit`` holds both phases, so the run
        folder numbers epochs ``0 .. freeze_epochs + epochs - 1`` and
        ``resume=True`` re-freezes correctly. The per-group LR ratios are the
        unfrozen phase's throughout (in the frozen phase only the head and,
        with ``train_bn``, batch-norm layers have gradients).
        """
        spe = len(self.data.train)
        n_head, n_all = freeze_epochs * spe, epochs * spe
        head_lr, head_mom = schedules.one_cycle(base_lr, max(n_head, 1)), schedules.one_cycle_momentum(max(n_head, 1))
        all_lr, all_mom = schedules.one_cycle(base_lr / 2, n_all), schedules.one_cycle_momentum(n_all)

        def lr_at(step: int) -> float:  # the head's LR; other groups get their slice share
            return head_lr(step) if step < n_head else all_lr(step - n_head)

        lr_at.momentum = lambda step: head_mom(step) if step < n_head else all_mom(step - n_head)
        phases = FreezeEpochs(freeze_epochs, train_bn)
        self.add_callbacks([phases])
        try:
            self.fit(freeze_epochs + epochs, slice(base_lr / 2 / lr_mult, base_lr / 2), schedule=lr_at, resume=resume)
        finally:
            self.callbacks.remove(phases)
            self.add_callbacks([])


    def fine_tune_gradually(self, epochs: int, base_lr: float = 1e-2, resume: bool = False) -> None:
        """ULMFiT's fine-tuning: thaw one layer group per epoch, head first, each lower group at ``lr / 2.6``;
        then ``epochs`` with every group (see :func:`deepdojo.train.text_transfer.fine_tune_gradually`)."""
        from deepdojo.train.text_transfer import fine_tune_gradually

        fine_tune_gradually(self, epochs, base_lr, resume=resume)


class FreezeEpochs(Callback):
    """Train the head only (and BN unless ``train_bn=False``) for the first ``n`` epochs of a fit, then everything."""

    order = -30  # before any callback that reads which parameters train

    def __init__(self, n: int, train_bn: bool = True):
        self.n, self.train_bn = n, train_bn

    def before_epoch(self) -> None:
        set_trainable(self.learn.model, -1 if self.learn.epoch < self.n else 0, self.train_bn)


def find_checkpoint(source: str | Path) -> Path:
    """A run folder (its ``checkpoints/best``, else ``last``) or a weights file -> the ``.safetensors`` path."""
    from deepdojo.train.checkpoint import weights_path

    source = Path(source)
    if source.is_dir():
        for name in ("best", "last"):
            path = source / "checkpoints" / f"{name}.safetensors"
            if path.is_file():
                return path
        raise CheckpointError("no checkpoints/best or checkpoints/last in this run folder", where=str(source),
                              fix="pass a run folder written by 'deepdojo train'")
    path = weights_path(source)
    if not path.is_file():
        raise CheckpointError("pretrained run folder or checkpoint not found", where=str(source), fix="check the path")
    return path


def load_pretrained(model: nn.Module, source: str | Path, arch: str | None = None) -> dict[str, Any]:
    """Load a deepdojo checkpoint into ``model``, keeping ``model``'s own head where shapes differ.

    Everything must fit except the head (the last layer group), which is left
    freshly initialised when the number of classes changed. Returns what was
    loaded and what was kept new.
    """
    from deepdojo.train.checkpoint import read_checkpoint

    path = find_checkpoint(source)
    tensors, meta = read_checkpoint(path)  # one read, verified: digest and metadata schema
    if arch is not None and meta.get("arch") not in (None, arch):
        raise CheckpointError(f"checkpoint is a {meta['arch']!r}, not a {arch!r}", where=str(path),
                              fix=f"use --arch {meta['arch']}")
    own = model.state_dict()
    keep = {k: v for k, v in tensors.items() if k in own and own[k].shape == v.shape}
    head = {id(p) for p in layer_groups(model)[-1]}
    head_names = {k for k, p in model.named_parameters() if id(p) in head}
    head_prefixes = {k.rsplit(".", 1)[0] for k in head_names}
    new = [k for k in own if k not in keep]
    body_new = [k for k in new if k not in head_names and k.rsplit(".", 1)[0] not in head_prefixes]
    body_new += [k for k in tensors if k not in own]  # layers the checkpoint has and this model lacks
    if body_new:
        raise CheckpointError(f"weights do not fit this model below the head (first: {body_new[0]})", where=str(path),
                              fix="build the same architecture and model_kwargs the checkpoint was trained with")
    model.load_state_dict(keep, strict=False)
    return {"source": str(path), "loaded": len(keep), "new": new, "arch": meta.get("arch")}


def start_from(source: str, model: nn.Module, arch: str, input_shape: tuple[int, ...],
               num_classes: int) -> tuple[nn.Module, str]:
    """``--pretrained``: the model to train and the architecture its checkpoints must record.

    ``imagenet`` or a torchvision/timm ``.safetensors`` file loads into
    ``model`` through the key mapping (:mod:`deepdojo.train.pretrained`). A hub spec (``timm:``/``torchvision:``) replaces ``model`` and is itself the
    architecture; a run folder loads into ``model``, or into a rebuilt hub model
    when that run was itself started from one.
    """
    if source.startswith(HUB_PREFIXES):
        return hub_model(source, num_classes, in_channels=input_shape[0]), source
    from deepdojo.train.pretrained import load_imagenet, uses_imagenet_weights

    if uses_imagenet_weights(source):  # "imagenet" or a torchvision/timm .safetensors: mapped onto the zoo's model
        load_imagenet(model, arch, source)
        return model, arch
    from deepdojo.train.checkpoint import read_meta

    source_arch = read_meta(find_checkpoint(source)).get("arch") or arch
    if source_arch.startswith(HUB_PREFIXES):
        model, arch = build_model(source_arch, input_shape, num_classes), source_arch
    load_pretrained(model, source, arch)
    return model, arch


def pretrained_config(cfg):
    """``cfg`` with ImageNet weights' defaults filled in: the architecture (``auto``) and image size (unset).

    Other ``pretrained`` sources (run folders, hub specs) leave ``cfg`` as it is.
    """
    from deepdojo.train.pretrained import DEFAULT_SIZE, resolve_arch, uses_imagenet_weights

    if not uses_imagenet_weights(cfg.pretrained):
        return cfg
    return cfg.merged(arch=resolve_arch(cfg.pretrained, cfg.arch), size=cfg.size or DEFAULT_SIZE)


def pretrained_data(source: str, data) -> None:
    """ImageNet weights: normalize ``data`` with ImageNet's statistics, as the weights expect (in place)."""
    from deepdojo.train.pretrained import set_image_normalization, uses_imagenet_weights

    if uses_imagenet_weights(source):
        set_image_normalization(data)
