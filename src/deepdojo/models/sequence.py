"""Sequence classifiers over token ids ``(B, T)`` or feature sequences ``(B, T, F)``.

Pass ``vocab_size`` for token ids (an embedding with ``pad_idx`` first) or
``in_features`` for float features. Padding is handled: recurrent models pack
each sequence to its true length (trailing ``pad_idx`` tokens are never seen),
and the text CNN masks pad positions out of its max over time, so appending
padding never changes a prediction.

Recurrent models over numeric sequences default to what makes them competitive
with a 1-D CNN (benchmarks/sequence_defaults.py): the inputs batch-normalized
per feature (raw sensor units and offsets stop mattering), projected to
``hidden_size`` features with a ReLU, read in both directions, and classified
from the last states *and* the mean and max of every step's output ("concat
pooling", so the start of a long sequence is not forgotten). Recurrent models
also ask the Learner to clip gradient norms to 1 (``default_grad_clip``) unless
it is given ``grad_clip``.

Example:
    >>> import torch
    >>> m = RNNClassifier(num_classes=2, vocab_size=20, cell="gru", hidden_size=8)
    >>> x = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]])  # 0 = padding
    >>> m(x).shape
    torch.Size([2, 2])
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from deepdojo.errors import ConfigError
from deepdojo.models.layers import init_weights
from deepdojo.models.registry import register_model

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _input_layer(vocab_size: int | None, in_features: int | None, embed_dim: int, pad_idx: int):
    """``(embedding or None, width of each time step)``; exactly one of vocab_size / in_features."""
    if (vocab_size is None) == (in_features is None):
        raise ConfigError("give exactly one of vocab_size (token ids) or in_features (feature sequences)",
                          where="model_kwargs", fix="pass vocab_size=N for text, in_features=F for (T, F) data")
    if vocab_size is not None:
        return nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx), embed_dim
    return None, in_features


def init_recurrent(rnn: nn.Module) -> None:
    """Xavier input weights, orthogonal recurrent weights (keeps the state's norm), zero biases;
    LSTM forget-gate bias 1 so the cell remembers by default (Jozefowicz et al. 2015)."""
    for name, p in rnn.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(p)
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(p)
        else:
            nn.init.zeros_(p)
            if isinstance(rnn, nn.LSTM) and name.startswith("bias_ih"):  # gate order: input, forget, cell, output
                h = p.shape[0] // 4
                nn.init.ones_(p.data[h:2 * h])


class RNNClassifier(nn.Module):
    """[embedding | norm + projection] -> ``num_layers`` x RNN/GRU/LSTM -> last states [+ mean, max] -> linear.

    ``None`` settings take the default for the input: for token ids no input
    normalization, one direction and the last state (``pool="last"``); for
    feature sequences ``input_norm``, a projection to ``hidden_size``
    (``proj=0`` for none), ``bidirectional`` and ``pool="concat"``.
    ``channels_first``: feature sequences come as ``(B, F, T)`` (signals, the
    ``nn.Conv1d`` layout) rather than ``(B, T, F)``.
    """

    default_grad_clip = 1.0  # exploding gradients are the recurrent failure mode: the Learner clips unless told

    def __init__(self, num_classes: int, vocab_size: int | None = None, in_features: int | None = None,
                 cell: str = "lstm", hidden_size: int = 64, num_layers: int = 1, bidirectional: bool | None = None,
                 embed_dim: int = 32, dropout: float = 0.0, pad_idx: int = 0, input_norm: bool | None = None,
                 proj: int | None = None, pool: str | None = None, channels_first: bool = False):
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"unknown cell {cell!r}", where="cell", fix=f"use one of {', '.join(CELLS)}")
        self.embedding, width = _input_layer(vocab_size, in_features, embed_dim, pad_idx)
        numeric = self.embedding is None
        self.channels_first = channels_first and numeric  # (B, C, T) signals: C features per step
        bidirectional = numeric if bidirectional is None else bidirectional
        self.pool = pool or ("concat" if numeric else "last")
        if self.pool not in ("last", "concat"):
            raise ConfigError(f"unknown pool {self.pool!r}", where="pool", fix="use 'last' or 'concat'")
        if self.pool == "concat" and not numeric:
            raise ConfigError("pool='concat' is for feature sequences; token ids use the last state of the packed sequence",
                              where="pool", fix="leave pool unset for token ids")
        # (B, T, F) -> per-feature batch norm over every step -> (B, T, proj)
        self.input_norm = nn.BatchNorm1d(width) if (numeric if input_norm is None else input_norm) else None
        proj = (hidden_size if numeric else 0) if proj is None else proj
        self.proj = nn.Sequential(nn.Linear(width, proj), nn.ReLU()) if proj else None
        width = proj or width
        self.pad_idx, self.cell = pad_idx, cell
        self.rnn = CELLS[cell](width, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                               dropout=dropout if num_layers > 1 else 0.0)
        init_recurrent(self.rnn)
        self.dirs = 2 if bidirectional else 1
        out = hidden_size * self.dirs * (3 if self.pool == "concat" else 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(out, num_classes))
        init_weights(self.head, "xavier")
        if self.proj is not None:
            init_weights(self.proj)

    def layer_groups(self) -> list[nn.Module]:
        body = [m for m in (self.embedding, self.input_norm, self.proj, self.rnn) if m is not None]
        return [nn.ModuleList(body), self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T) ids, (B, T, F) or (B, F, T) -> (B, num_classes)
        h = x
        if self.embedding is not None:
            lengths = (x != self.pad_idx).sum(1).clamp(min=1)  # (B,)
            h = pack_padded_sequence(self.embedding(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        else:
            if self.channels_first:
                h = h.transpose(1, 2)  # (B, C, T) -> (B, T, C)
            if self.input_norm is not None:
                h = self.input_norm(h.reshape(-1, h.shape[-1])).view(h.shape)  # statistics over batch and time
            if self.proj is not None:
                h = self.proj(h)  # (B, T, hidden)
        out, state = self.rnn(h)
        state = state[0] if self.cell == "lstm" else state  # (layers * dirs, B, H)
        last = state.view(-1, self.dirs, state.shape[1], state.shape[2])[-1]  # (dirs, B, H): the top layer
        last = last.permute(1, 0, 2).reshape(last.shape[1], -1)  # (B, dirs * H)
        if self.pool == "concat":  # out: (B, T, dirs * H), every step of the top layer
            last = torch.cat([last, out.mean(1), out.amax(1)], 1)
        return self.head(last)


class TextCNN(nn.Module):
    """Kim (2014): [embedding] -> parallel 1D convs (odd kernel sizes) -> max over time -> linear."""

    def __init__(self, num_classes: int, vocab_size: int | None = None, in_features: int | None = None,
                 embed_dim: int = 64, kernel_sizes: tuple[int, ...] = (3, 5, 7), channels: int = 64,
                 dropout: float = 0.1, pad_idx: int = 0, act_layer: type[nn.Module] = nn.ReLU, init: str = "kaiming",
                 channels_first: bool = False):
        super().__init__()
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ConfigError(f"kernel sizes must be odd, got {tuple(kernel_sizes)}", where="kernel_sizes")
        self.embedding, width = _input_layer(vocab_size, in_features, embed_dim, pad_idx)
        self.pad_idx = pad_idx
        self.channels_first = channels_first and self.embedding is None  # (B, F, T) signals
        self.convs = nn.ModuleList(nn.Conv1d(width, channels, k, padding=k // 2) for k in kernel_sizes)
        self.act = act_layer()
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(channels * len(kernel_sizes), num_classes))
        init_weights(self, init)
        if self.embedding is not None:
            nn.init.normal_(self.embedding.weight, std=1.0)
            with torch.no_grad():
                self.embedding.weight[pad_idx].zero_()  # a pad embeds like the conv's own zero padding

    def layer_groups(self) -> list[nn.Module]:
        return [nn.ModuleList([m for m in (self.embedding, self.convs) if m is not None]), self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T) ids or (B, T, F) -> (B, num_classes)
        mask = None
        if self.embedding is not None:
            mask = (x != self.pad_idx)[:, None, :]  # (B, 1, T)
            x = self.embedding(x)
        h = x if self.channels_first else x.transpose(1, 2)  # (B, E, T)
        pooled = []
        for conv in self.convs:
            c = self.act(conv(h))  # (B, channels, T)
            if mask is not None:
                c = c.masked_fill(~mask, torch.finfo(c.dtype).min)
            pooled.append(c.amax(-1))
        return self.head(torch.cat(pooled, 1))


def _rnn(cell: str):
    def build(num_classes: int, **kw) -> RNNClassifier:
        return RNNClassifier(num_classes, cell=cell, **kw)

    build.__doc__ = f"A {cell.upper()} classifier over token ids (vocab_size=) or feature sequences (in_features=)."
    return build


register_model("rnn", kind="sequence", example={"input_shape": (12, 4), "kwargs": {"hidden_size": 16}})(_rnn("rnn"))
register_model("gru", kind="sequence", example={"input_shape": (12,), "kwargs": {"vocab_size": 30, "hidden_size": 16}})(
    _rnn("gru"))
register_model("lstm", kind="sequence", example={
    "input_shape": (12,), "kwargs": {"vocab_size": 30, "hidden_size": 16, "num_layers": 2, "bidirectional": True}})(
    _rnn("lstm"))


@register_model("textcnn", kind="sequence", example={
    "input_shape": (12,), "kwargs": {"vocab_size": 30, "embed_dim": 16, "channels": 16, "dropout": 0.0}})
def textcnn(num_classes: int, **kw) -> TextCNN:
    return TextCNN(num_classes, **kw)
