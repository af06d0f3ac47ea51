"""Batches of next-token blocks from one token stream, in the order a language model needs.

A :class:`TokenBlockLoader` holds a split's token ids ``(N,)`` and yields
``(x, y)`` blocks ``(B, T)`` with ``y`` = ``x`` shifted by one token. Two layouts:

- ``"blocks"`` (a transformer): blocks in random order. In training each epoch
  also shifts every block boundary by a random offset in ``[0, T)``, so a
  token is seen with different contexts from epoch to epoch (nanoGPT draws
  random offsets for the same reason); evaluation uses fixed blocks.
- ``"streams"`` (an RNN / GRU / LSTM carrying its hidden state): the text is
  cut into ``B`` equal parallel streams, one per batch row, and batch ``i``
  holds block ``i`` of every stream, so row ``b`` of batch ``i + 1`` continues
  row ``b`` of batch ``i`` exactly (the layout of PyTorch's
  word_language_model example). Only whole blocks are used: every batch has
  ``B x T`` tokens, so a batch-size-weighted mean loss is the per-token mean.

Every order is a pure function of ``(seed, epoch, batch)``, so a run resumed
mid-epoch sees the batches an uninterrupted run would. The loader is a
:class:`~deepdojo.data.loaders.TensorLoader` whose ``x``/``y`` are the fixed
(offset 0) blocks, so whatever reads a tensor loader's rows reads these.

Example:
    >>> import torch
    >>> dl = TokenBlockLoader(torch.arange(25), block_size=3, batch_size=2, layout="streams")
    >>> [xb.tolist() for xb, _ in dl][:2]  # stream 0 starts at 0, stream 1 at 12: rows continue
    [[[0, 1, 2], [12, 13, 14]], [[3, 4, 5], [15, 16, 17]]]
    >>> xb, yb = next(iter(dl)); torch.equal(xb + 1, yb)
    True
"""

from __future__ import annotations

from typing import Iterator

import torch

from deepdojo.data.loaders import TensorLoader, derive_seed, epoch_permutation
from deepdojo.errors import ConfigError, DataError

LAYOUTS = ("blocks", "streams")


class TokenBlockLoader(TensorLoader):
    """Next-token blocks of ``ids`` ``(N,)``: see the module docstring.

    Args:
        ids: int64 token ids of one split, in text order.
        block_size: tokens per block ``T`` (the BPTT length of a recurrent model).
        batch_size: blocks per batch (parallel streams in the ``"streams"`` layout).
        shuffle: training: random order / random offsets per epoch; evaluation: fixed.
        layout: ``"blocks"`` or ``"streams"`` (:meth:`set_layout` changes it).
    """

    def __init__(self, ids: torch.Tensor, block_size: int, batch_size: int = 64, shuffle: bool = False,
                 seed: int = 0, layout: str = "blocks", device: str | torch.device | None = None):
        ids = torch.as_tensor(ids, dtype=torch.long)
        if block_size < 1:
            raise ConfigError(f"block_size must be at least 1, got {block_size}", where="block_size", fix="e.g. 64")
        # training shifts blocks by up to T - 1 tokens: keep a block count every offset can fill
        n = (len(ids) - block_size) // block_size if shuffle else (len(ids) - 1) // block_size
        if n < 1:
            raise DataError(f"{len(ids)} tokens cannot fill one block of {block_size} (plus the next token)",
                            where="text", fix="use a longer text or a smaller block_size")
        self.ids, self.block_size, self.n_blocks = ids, block_size, n
        windows = ids[: n * block_size + 1]
        super().__init__(windows[:-1].view(n, block_size), windows[1:].view(n, block_size), batch_size,
                         shuffle=shuffle, seed=seed)
        self.set_layout(layout)
        if device is not None:
            self.to(device)

    def set_layout(self, layout: str) -> "TokenBlockLoader":
        if layout not in LAYOUTS:
            raise ConfigError(f"unknown batch layout {layout!r}", where="layout", fix=f"use one of {', '.join(LAYOUTS)}")
        self.layout = layout
        return self

    @property
    def streams(self) -> int:
        """Rows per batch in the ``"streams"`` layout (fewer than ``batch_size`` only for a tiny text)."""
        return min(self.batch_size, self.n_blocks)

    def for_eval(self) -> "TokenBlockLoader":
        """The same tokens and layout, fixed blocks in fixed order (training error, predictions)."""
        return TokenBlockLoader(self.ids, self.block_size, self.batch_size, layout=self.layout)

    def to(self, device: str | torch.device, moved: dict | None = None) -> "TokenBlockLoader":
        super().to(device, moved)
        self.ids = self.ids.to(device)
        return self

    def __len__(self) -> int:
        if self.layout == "streams":
            return self.n_blocks // self.streams
        return super().__len__()

    def offset(self) -> int:
        """Where this epoch's blocks start (0 unless training)."""
        return derive_seed(self.seed, self.epoch, 7) % self.block_size if self.shuffle else 0

    def block_order(self) -> torch.Tensor:
        """Block numbers in the order they are served (one batch after another), on the loader's device."""
        n = self.n_blocks
        if self.layout == "streams":
            s = self.streams
            per = n // s  # blocks per stream; the last n - s * per blocks are left out
            return torch.arange(s * per, device=self.device).view(s, per).t().reshape(-1)  # stream-major -> batch-major
        if self.shuffle:
            return epoch_permutation(n, self.seed, self.epoch).to(self.device)
        return torch.arange(n, device=self.device)

    def iter_from(self, start_batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order, t, o = self.block_order(), self.block_size, self.offset()
        bs = self.streams if self.layout == "streams" else self.batch_size
        span = torch.arange(t + 1, device=self.device)  # (T + 1,): a block and its next token
        for b in range(start_batch, len(self)):
            starts = o + order[b * bs : (b + 1) * bs] * t  # (B,)
            w = self.ids[starts[:, None] + span]  # (B, T + 1)
            yield w[:, :-1], w[:, 1:]
