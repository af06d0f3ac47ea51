"""Speed options for the training step: ``channels_last`` memory format and ``torch.compile``.

Both leave ``learn.model`` a plain ``nn.Module`` (checkpoints keep their parameter names): the
step runs :func:`train_module`, which wraps the model for data parallelism (DDP) when distributed
and compiles that when asked. Measured effects belong to ``benchmarks/``; on a CPU ``channels_last``
is often slower, on recent GPUs with bf16 it is usually faster for CNNs.

Example:
    >>> import torch
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> learn = Learner(torch.nn.Linear(2, 2), load_builtin("xor"), progress=False, compile=False)
    >>> train_module(learn) is learn.model
    True
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.errors import ConfigError


def compile_options(spec) -> dict | None:
    """``False``/None: no compile; ``True``: defaults; a mode name (``"max-autotune"``) or a dict of
    ``torch.compile`` keyword arguments (``{"backend": "aot_eager"}``)."""
    if spec in (None, False):
        return None
    if spec is True:
        return {}
    if isinstance(spec, str):
        if spec not in ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"):
            raise ConfigError(f"unknown torch.compile mode {spec!r}", where="compile",
                              fix="use default, reduce-overhead, max-autotune or max-autotune-no-cudagraphs")
        return {"mode": spec}
    if isinstance(spec, dict):
        return dict(spec)
    raise ConfigError(f"compile must be a bool, a mode name or a dict, got {type(spec).__name__}", where="compile")


def to_channels_last(model: nn.Module) -> nn.Module:
    """4-D parameters and buffers in NHWC order (convolutions then run channels-last kernels)."""
    return model.to(memory_format=torch.channels_last)


def prepare_input(learn, xb: torch.Tensor) -> torch.Tensor:
    """A ``(B, C, H, W)`` batch in the model's memory format."""
    if learn.channels_last and xb.dim() == 4:
        return xb.contiguous(memory_format=torch.channels_last)
    return xb


def train_module(learn) -> nn.Module:
    """The module the training step calls: ``learn.model``, DDP-wrapped when distributed, compiled when asked.

    Cached on the Learner; rebuilt when DDP rebuilds its wrapper (a freeze or unfreeze).
    """
    module = learn.model if learn.dist is None else learn.dist.wrap(learn.model)
    opts = compile_options(learn.compile)
    if opts is None:
        return module
    cached = getattr(learn, "_compiled", None)
    if cached is None or cached[0] is not module:
        cached = (module, torch.compile(module, **opts))  # shares the parameters: the optimizer is unchanged
        learn._compiled = cached
    return cached[1]
