"""Batches straight from tensors held on the training device.

A :class:`TensorLoader` indexes whole-dataset tensors (decoded once, kept as
uint8 for images) instead of collating Python objects one sample at a time.
Its shuffle order and its augmentation randomness are pure functions of
``(seed, epoch, batch)``, so a run resumed at any batch sees exactly the
batches an uninterrupted run would — no sampler state to save.

Example:
    >>> import torch
    >>> loader = TensorLoader(torch.arange(10.).unsqueeze(1), torch.arange(10), batch_size=4)
    >>> [yb.tolist() for _, yb in loader]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    >>> len(loader)
    3
"""

from __future__ import annotations

from typing import Callable, Iterator

import torch

# (x, y, generator or None) -> (x, y); generator is None when not augmenting.
BatchTransform = Callable[[torch.Tensor, torch.Tensor, "torch.Generator | None"], tuple]

_MIX = 0x9E3779B97F4A7C15  # golden-ratio constant: spreads nearby seeds apart


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from integers (run seed, epoch, batch, ...), stable across runs.

    >>> derive_seed(0, 1) != derive_seed(1, 0)
    True
    """
    h = 0x243F6A8885A308D3
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * _MIX) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffle order of epoch ``epoch``: ``randperm(n)`` under a derived seed (CPU)."""
    g = torch.Generator().manual_seed(derive_seed(seed, epoch))
    return torch.randperm(n, generator=g)


class TensorLoader:
    """Iterate ``(x[idx], y[idx])`` batches of in-memory tensors.

    Args:
        x, y: tensors with the same first dimension (moved to ``device`` once).
        index: int64 rows of ``x``/``y`` that make up this split (None: all
            rows). Splits of one dataset then share its storage: a batch is
            ``x[index[perm[b * bs : (b + 1) * bs]]]``, never a copy per split.
        batch_size: samples per batch.
        shuffle: a new order each epoch (see :func:`epoch_permutation`).
        drop_last: skip a final short batch (keeps BatchNorm happy on tiny tails).
        seed: base of every random choice the loader makes.
        transform: ``f(xb, yb, generator) -> (xb, yb)`` applied per batch on
            the device (normalization, augmentation). ``generator`` is seeded
            per batch when ``augment`` is on, else ``None``.
        device: where the tensors live and batches are produced.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int = 64,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        transform: BatchTransform | None = None,
        augment: bool = False,
        device: str | torch.device | None = None,
        index: torch.Tensor | None = None,
    ):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.source_x, self.source_y = x, y
        self.index = None if index is None else torch.as_tensor(index, dtype=torch.int64, device=x.device)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.seed, self.transform, self.augment = seed, transform, augment
        self.epoch = 0
        self._gen: torch.Generator | None = None
        if device is not None:
            self.to(device)

    @property
    def x(self) -> torch.Tensor:
        """This split's inputs (a copy when the split is an ``index`` into shared tensors)."""
        return self.source_x if self.index is None else self.source_x[self.index]

    @property
    def y(self) -> torch.Tensor:
        return self.source_y if self.index is None else self.source_y[self.index]

    @property
    def device(self) -> torch.device:
        return self.source_x.device

    def to(self, device: str | torch.device, moved: dict | None = None) -> "TensorLoader":
        """Move the dataset tensors to ``device`` (once; batches are then made there).

        ``moved`` (``id(tensor) -> moved tensor``), shared by the loaders of
        one dataset, keeps their shared tensors shared on the new device.
        """
        moved = {} if moved is None else moved
        for name in ("source_x", "source_y", "index"):
            t = getattr(self, name)
            if t is not None:
                if id(t) not in moved:
                    moved[id(t)] = (t, t.to(device))  # keep t alive: its id stays unique meanwhile
                setattr(self, name, moved[id(t)][1])
        self._gen = None
        return self

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffle order (and augmentation stream) of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.source_x) if self.index is None else len(self.index)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.iter_from(0)

    def iter_from(self, start_batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches ``start_batch, start_batch+1, ...`` of the current epoch (for resume)."""
        rows, bs = self.index, self.batch_size
        n = len(self.source_x) if rows is None else len(rows)
        perm = epoch_permutation(n, self.seed, self.epoch).to(self.device) if self.shuffle else None
        x, y, transform = self.source_x, self.source_y, self.transform
        for b in range(start_batch, len(self)):
            if perm is None and rows is None:
                xb, yb = x[b * bs : (b + 1) * bs], y[b * bs : (b + 1) * bs]
            else:
                idx = perm[b * bs : (b + 1) * bs] if perm is not None else slice(b * bs, (b + 1) * bs)
                if rows is not None:
                    idx = rows[idx]  # positions in the split -> rows of the shared tensors
                xb, yb = x[idx], y[idx]
            if transform is not None:
                xb, yb = transform(xb, yb, self._batch_generator(b) if self.augment else None)
            yield xb, yb

    def _batch_generator(self, batch: int) -> torch.Generator:
        if self._gen is None:
            self._gen = torch.Generator(device=self.device)
        return self._gen.manual_seed(derive_seed(self.seed, self.epoch, batch, 1))
