"""A recurrent text classifier whose encoder is a recurrent language model's (ULMFiT, Howard & Ruder 2018).

:class:`TextRNN` reads token ids ``(B, T)`` (``0`` = padding, trailing):
embedding -> ``num_layers`` x GRU / LSTM (optionally both directions) ->
"concat pooling" of the top layer — its last state, and the mean and max of
its outputs over the real tokens — -> dropout -> linear. Padding never
changes a prediction: sequences are packed to their lengths, and the mean and
max read only real positions (a test appends padding and compares).

Its ``embedding`` and ``rnn`` have the names and shapes of
:class:`~deepdojo.models.language.RecurrentLM`'s, so a language model trained
(or fine-tuned) on the user's corpus hands over its encoder unchanged
(``deepdojo train reviews.tsv --pretrained LM_RUN``; train/text_transfer.py).
Its layer groups — embedding, recurrent stack, head — are what gradual
unfreezing thaws one per epoch, head first (``unfreeze_gradually``).

Example:
    >>> import torch
    >>> m = TextRNN(num_classes=2, vocab_size=20, cell="gru", hidden_size=8, num_layers=1)
    >>> x = torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]])  # (B, T); 0 = padding
    >>> m(x).shape
    torch.Size([2, 2])
    >>> torch.allclose(m.eval()(x[:1, :3]), m(x)[:1], atol=1e-6)  # padding changes nothing
    True
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from deepdojo.errors import ConfigError
from deepdojo.models.registry import register_model
from deepdojo.models.sequence import CELLS, init_recurrent


class TextRNN(nn.Module):
    """Embedding -> RNN/GRU/LSTM stack -> [last, mean, max] over real tokens -> linear (see the module docstring).

    Args:
        num_classes: outputs.
        vocab_size: tokens (index ``pad_idx`` is padding).
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.
        hidden_size, num_layers: the recurrent stack (a language model's, to reuse its weights).
        embed_dim: token vector size (default ``hidden_size``, as :class:`RecurrentLM`).
        bidirectional: read both ways (a forward language model's encoder has one direction).
        dropout: on embeddings and between recurrent layers; ``head_dropout`` before the linear head.
    """

    default_grad_clip = 1.0  # recurrent: the Learner clips gradient norms unless told otherwise
    unfreeze_gradually = True  # fine-tuning thaws one layer group per epoch, head first (ULMFiT)

    def __init__(self, num_classes: int, vocab_size: int, cell: str = "lstm", hidden_size: int = 128,
                 num_layers: int = 1, embed_dim: int | None = None, bidirectional: bool = False,
                 dropout: float = 0.1, head_dropout: float = 0.3, pad_idx: int = 0):
        super().__init__()
        if cell not in CELLS:
            raise ConfigError(f"unknown cell {cell!r}", where="cell", fix=f"use one of {', '.join(CELLS)}")
        embed_dim = embed_dim or hidden_size
        self.cell, self.pad_idx, self.dirs = cell, pad_idx, 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embed_dim)  # RecurrentLM's name and shape (no padding_idx)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.drop = nn.Dropout(dropout)
        self.rnn = CELLS[cell](embed_dim, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                               dropout=dropout if num_layers > 1 else 0.0)
        init_recurrent(self.rnn)
        self.head = nn.Sequential(nn.Dropout(head_dropout), nn.Linear(3 * self.dirs * hidden_size, num_classes))

    def layer_groups(self) -> list[nn.Module]:
        return [self.embedding, self.rnn, self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T) ids -> (B, num_classes)
        t = x.shape[1]
        lengths = (x != self.pad_idx).sum(1).clamp(min=1)  # (B,): trailing padding; an all-pad row reads one step
        packed = pack_padded_sequence(self.drop(self.embedding(x)), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, state = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)  # (B, T, dirs * H), zeros past the end
        h = state[0] if self.cell == "lstm" else state  # (layers * dirs, B, H)
        last = h.view(-1, self.dirs, h.shape[1], h.shape[2])[-1]  # (dirs, B, H): the top layer
        last = last.permute(1, 0, 2).reshape(h.shape[1], -1)  # (B, dirs * H)
        real = (torch.arange(t, device=x.device)[None, :] < lengths[:, None])[..., None]  # (B, T, 1)
        mean = out.sum(1) / lengths[:, None].to(out.dtype)  # padded steps are zeros: the sum is over real ones
        top = out.masked_fill(~real, torch.finfo(out.dtype).min).amax(1)  # (B, dirs * H)
        return self.head(torch.cat([last, mean, top], 1))


@register_model("text_rnn", kind="sequence", example={
    "input_shape": (12,), "kwargs": {"vocab_size": 30, "hidden_size": 16, "num_layers": 2, "bidirectional": True}})
def text_rnn(num_classes: int, vocab_size: int | None = None, **kw) -> TextRNN:
    """Recurrent text classifier with concat pooling; takes a recurrent language model's encoder (ULMFiT)."""
    if vocab_size is None:
        raise ConfigError("text_rnn reads token ids and needs vocab_size", where="model_kwargs",
                          fix="train it on a text CSV/TSV (vocab_size comes from the data) or pass vocab_size=N")
    return TextRNN(num_classes, vocab_size, **kw)
