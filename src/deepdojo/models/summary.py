"""What a model does to one input: per layer the output shape, parameters and multiply-adds.

Conv and pool layers follow ``floor((n + 2p - d(f - 1) - 1) / s) + 1`` per
spatial side (:func:`conv_output_size`; with dilation ``d = 1`` the textbook
``floor((n + 2p - f) / s) + 1``). Multiply-adds count conv, linear and recurrent
layers (the rest are negligible); activation memory is the bytes of every
layer's output for the batch run, i.e. what backprop keeps alive.

Example:
    >>> from torch import nn
    >>> m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    >>> s = summary(m, (1, 8, 8))
    >>> [r.output_shape for r in s.rows]
    [(1, 4, 6, 6), (1, 4, 6, 6), (1, 144), (1, 2)]
    >>> s.total_params, s.total_mult_adds  # 4*9+4 + 144*2+2; 4*36*9 + 144*2
    (330, 1584)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

_RECURRENT_GATES = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4}


def conv_output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Output side of a conv/pool over side ``n``: kernel ``f``, padding ``p``, stride ``s``, dilation ``d``.

    >>> conv_output_size(224, 11, 2, 4), conv_output_size(32, 3, 1, 1), conv_output_size(7, 2, 0, 2)
    (55, 32, 3)
    """
    return (n + 2 * p - d * (f - 1) - 1) // s + 1


@dataclass
class LayerRow:
    name: str
    type: str
    output_shape: tuple[int, ...] | None  # None: the layer never ran on this input
    params: int
    trainable: int
    mult_adds: int = 0
    output_bytes: int = 0


@dataclass
class Summary:
    input_shape: tuple[int, ...]
    rows: list[LayerRow] = field(default_factory=list)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable for r in self.rows)

    @property
    def total_mult_adds(self) -> int:
        return sum(r.mult_adds for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        return sum(r.output_bytes for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {"input_shape": list(self.input_shape), "total_params": self.total_params,
                "trainable_params": self.trainable_params, "total_mult_adds": self.total_mult_adds,
                "activation_bytes": self.activation_bytes, "layers": [asdict(r) for r in self.rows]}

    def __str__(self) -> str:
        head = f"{'layer':<32} {'type':<18} {'output shape':<22} {'params':>12} {'mult-adds':>14}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            shape = "-" if r.output_shape is None else str(list(r.output_shape))
            lines.append(f"{r.name[:32]:<32} {r.type[:18]:<18} {shape[:22]:<22} {r.params:>12,} {r.mult_adds:>14,}")
        lines += ["-" * len(head),
                  f"params: {self.total_params:,} ({self.trainable_params:,} trainable, "
                  f"{self.total_params * 4 / 2**20:.2f} MiB as float32)",
                  f"multiply-adds per forward: {self.total_mult_adds:,}",
                  f"activations for input {list(self.input_shape)}: {self.activation_bytes / 2**20:.2f} MiB"]
        return "\n".join(lines)


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, PackedSequence):
        return out.data
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out:
        return _first_tensor(out[0])
    return None


def _mult_adds(m: nn.Module, inp: tuple, out: torch.Tensor) -> int:
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):  # each output: C_in/groups * prod(kernel)
        return out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size)
    if isinstance(m, nn.Linear):
        return out.numel() * m.in_features
    for cls, gates in _RECURRENT_GATES.items():
        if type(m) is cls:  # per time step, layer and direction: gates x (input + hidden) x hidden
            x = _first_tensor(inp)
            steps = x.shape[0] if isinstance(inp[0], PackedSequence) else x.shape[0] * x.shape[1]
            dirs = 2 if m.bidirectional else 1
            per = sum(gates * m.hidden_size * ((m.input_size if i == 0 else m.hidden_size * dirs) + m.hidden_size)
                      for i in range(m.num_layers))
            return steps * dirs * per
    return 0


def summary(model: nn.Module, input_shape: tuple[int, ...], batch_size: int = 1,
            dtype: torch.dtype = torch.float32, device: str | torch.device | None = None) -> Summary:
    """Run one batch ``(batch_size, *input_shape)`` through ``model`` and tabulate every layer.

    Rows are the leaf modules plus any module owning parameters directly, in
    the order they first ran (modules that never ran come last). ``dtype=torch.long``
    feeds token ids (all ones) to sequence models. The model is left as it was.
    """
    device = device or next((p.device for p in model.parameters()), torch.device("cpu"))
    rows: dict[int, LayerRow] = {}
    order: list[int] = []
    seen_params: set[int] = set()
    handles = []

    def own_params(m: nn.Module) -> tuple[int, int]:
        ps = [p for p in m.parameters(recurse=False) if id(p) not in seen_params]
        seen_params.update(id(p) for p in ps)
        return sum(p.numel() for p in ps), sum(p.numel() for p in ps if p.requires_grad)

    def hook(m, inp, out, key=None):
        t, row = _first_tensor(out), rows[id(m)]
        if id(m) not in order:
            order.append(id(m))
            row.output_shape = tuple(t.shape) if t is not None else ()
        if t is not None:
            row.mult_adds += _mult_adds(m, inp, t)
            row.output_bytes += t.numel() * t.element_size()

    for name, m in model.named_modules():
        is_leaf = next(m.children(), None) is None
        if is_leaf or next(m.parameters(recurse=False), None) is not None:
            params, trainable = own_params(m)
            rows[id(m)] = LayerRow(name or type(m).__name__, type(m).__name__, None, params, trainable)
            handles.append(m.register_forward_hook(hook))
    x = torch.ones((batch_size, *input_shape), dtype=dtype, device=device) if not dtype.is_floating_point \
        else torch.randn((batch_size, *input_shape), device=device).to(dtype)
    if dtype.is_floating_point and getattr(model, "n_cat", 0):
        x[:, : model.n_cat] = 0  # tabular: the leading category-code columns need valid codes
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    ran = [rows[k] for k in order]
    rest = [r for k, r in rows.items() if k not in order]
    return Summary(tuple(input_shape), ran + rest)
