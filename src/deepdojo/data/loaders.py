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

import copy
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


def identity_batch_order(labels: torch.Tensor, group_size: int, seed: int, epoch: int) -> torch.Tensor:
    """An epoch order (a permutation of ``range(len(labels))``) made of runs of ``group_size`` same-label positions.

    Each identity's positions are shuffled and cut into groups of ``group_size``
    (its last group takes the remainder: ``group_size`` to ``2 * group_size - 1``
    rows; an identity with fewer rows is one smaller group); the groups are then
    shuffled. Sliced into batches of ``P * group_size`` rows, a batch holds about
    P identities with ``group_size`` examples each — the P x K batches that
    batch-hard triplet mining needs (random batches give each anchor ~0-1
    positives). Every row appears once per epoch, and the order is a pure
    function of ``(labels, seed, epoch)``, so resume needs no sampler state.

    >>> y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    >>> order = identity_batch_order(y, 2, seed=0, epoch=0)
    >>> sorted(order.tolist()) == list(range(10)), all(len(set(y[order[i:i + 2]].tolist())) == 1 for i in (0, 2, 4, 6, 8))
    (True, True)
    >>> torch.equal(order, identity_batch_order(y, 2, seed=0, epoch=0)), torch.equal(order, identity_batch_order(y, 2, 0, 1))
    (True, False)
    """
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    labels = labels.reshape(-1).cpu()
    g = torch.Generator().manual_seed(derive_seed(seed, epoch, 2))
    shuffled = torch.randperm(len(labels), generator=g)  # shuffle rows, then stable-sort by label:
    by_label = shuffled[torch.sort(labels[shuffled], stable=True).indices]  # (N,) each label's rows, in random order
    groups: list[torch.Tensor] = []
    for rows in torch.split(by_label, torch.unique_consecutive(labels[by_label], return_counts=True)[1].tolist()):
        n_groups = max(1, len(rows) // group_size)
        cuts = [group_size] * (n_groups - 1) + [len(rows) - group_size * (n_groups - 1)]  # remainder joins the last
        groups.extend(torch.split(rows, cuts))
    order = torch.randperm(len(groups), generator=g).tolist()
    return torch.cat([groups[i] for i in order]) if groups else by_label


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
        group_size: with ``shuffle``, order each epoch in runs of ``group_size``
            same-label rows (:func:`identity_batch_order`): P x K identity
            batches for metric learning, with P = ``batch_size // group_size``.
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
        group_size: int | None = None,
    ):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.source_x, self.source_y = x, y
        self.index = None if index is None else torch.as_tensor(index, dtype=torch.int64, device=x.device)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.seed, self.transform, self.augment = seed, transform, augment
        if group_size is not None and group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size = group_size
        self.epoch = 0
        self.rank, self.world = 0, 1  # [distributed] see sharded()
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

    def num_rows(self) -> int:
        return len(self.source_x) if self.index is None else len(self.index)

    def __len__(self) -> int:
        n, bs = self.num_rows(), self.batch_size * self.world  # the global batch (world = 1 unless sharded)
        return n // bs if self.drop_last else -(-n // bs)

    # ------------------------------------------------------------ [distributed] rank views
    def sharded(self, rank: int, world: int) -> "TensorLoader":
        """A view for rank ``rank`` of ``world``: global batch ``b`` is ``batch_size * world`` rows of
        the epoch's shuffle (the same on every rank); this rank yields rows ``rank::world`` of it.

        A rank left without a row (a final global batch smaller than ``world``) yields that batch's
        first row with :meth:`shard_weight` 0, so every rank takes the same number of steps.

        >>> full = TensorLoader(torch.arange(5.).unsqueeze(1), torch.arange(5), batch_size=2)
        >>> [yb.tolist() for _, yb in full.sharded(1, 2)], len(full.sharded(1, 2))
        ([[1, 3], [4]], 2)
        >>> full.sharded(1, 2).shard_weight(1), full.sharded(0, 2).shard_weight(1)
        (0.0, 2.0)
        """
        view = copy.copy(self)
        view.rank, view.world = rank, world
        return view

    def _global_rows(self, batch: int) -> int:
        gbs = self.batch_size * self.world
        return min(gbs, self.num_rows() - batch * gbs)

    def shard_rows(self, batch: int) -> int:
        """Real rows this rank holds in global batch ``batch`` (0: it runs one row at weight 0)."""
        g = self._global_rows(batch)
        return max(0, -(-(g - self.rank) // self.world))

    def shard_weight(self, batch: int) -> float:
        """Loss multiplier making DDP's gradient average the global batch's mean: ``rows * world / global rows``."""
        return self.shard_rows(batch) * self.world / self._global_rows(batch)

    def rows_part(self, rank: int, world: int) -> "TensorLoader":
        """A view over part ``rank`` of ``world`` contiguous, near-equal parts of this split (for evaluation)."""
        n = self.num_rows()
        lo, hi = n * rank // world, n * (rank + 1) // world
        rows = torch.arange(n, device=self.device) if self.index is None else self.index
        view = copy.copy(self)
        view.index, view.rank, view.world = rows[lo:hi], 0, 1
        return view


    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.iter_from(0)

    def iter_from(self, start_batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches ``start_batch, start_batch+1, ...`` of the current epoch (for resume)."""
        rows, bs = self.index, self.batch_size * self.world  # a global batch when sharded
        n = len(self.source_x) if rows is None else len(rows)
        perm = self.epoch_order().to(self.device) if self.shuffle else None
        x, y, transform = self.source_x, self.source_y, self.transform
        for b in range(start_batch, len(self)):
            if perm is None and rows is None and self.world == 1:
                xb, yb = x[b * bs : (b + 1) * bs], y[b * bs : (b + 1) * bs]
            else:
                idx = perm[b * bs : (b + 1) * bs] if perm is not None else torch.arange(b * bs, min((b + 1) * bs, n),
                                                                                        device=self.device)
                if self.world > 1:  # [distributed] this rank's interleaved part; weight-0 row 0 when none
                    idx = idx[self.rank :: self.world] if self.shard_rows(b) else idx[:1]
                if rows is not None:
                    idx = rows[idx]  # positions in the split -> rows of the shared tensors
                xb, yb = x[idx], y[idx]
            if transform is not None:
                xb, yb = transform(xb, yb, self._batch_generator(b) if self.augment else None)
            yield xb, yb

    def epoch_order(self) -> torch.Tensor:
        """This epoch's order of the split's positions (CPU): random, or P x K identity runs with ``group_size``."""
        if self.group_size is None:
            return epoch_permutation(self.num_rows(), self.seed, self.epoch)
        labels = self.source_y if self.index is None else self.source_y[self.index]
        return identity_batch_order(labels, self.group_size, self.seed, self.epoch)

    def _batch_generator(self, batch: int) -> torch.Generator:
        if self._gen is None:
            self._gen = torch.Generator(device=self.device)
        parts = (self.seed, self.epoch, batch, 1) + ((self.rank,) if self.world > 1 else ())  # [distributed] per rank
        return self._gen.manual_seed(derive_seed(*parts))
