"""In-process pieces of distributed training: rank views of a TensorLoader and metric-state reduction.

Oracles: the unsharded loader with the global batch; each metric updated with the whole data in one
process. (Real multi-process runs are in tests/distributed/.)
"""

from __future__ import annotations

import pytest
import torch

from deepdojo.data.loaders import TensorLoader
from deepdojo.metrics import make_metric, metric_names
from deepdojo.train.distributed import reduce_metric_state, world_from_env


@pytest.mark.parametrize("n,bs,world,drop_last", [(17, 4, 2, False), (23, 3, 3, False), (5, 4, 4, False),
                                                  (17, 4, 2, True), (64, 8, 4, False)])
def test_rank_views_partition_each_global_batch(n, bs, world, drop_last):
    x, y = torch.arange(n, dtype=torch.float32).unsqueeze(1), torch.arange(n)
    full = TensorLoader(x, y, batch_size=bs * world, shuffle=True, seed=3, drop_last=drop_last)  # one process
    per_process = TensorLoader(x, y, batch_size=bs, shuffle=True, seed=3, drop_last=drop_last)
    views = [per_process.sharded(r, world) for r in range(world)]
    for loader in (full, *views):
        loader.set_epoch(2)
    one = [yb.tolist() for _, yb in full]
    per_rank = [[yb.tolist() for _, yb in v] for v in views]
    assert all(len(p) == len(one) == len(v) for p, v in zip(per_rank, views))  # same step count on every rank
    for b, global_batch in enumerate(one):
        real = [per_rank[r][b] if views[r].shard_rows(b) else [] for r in range(world)]
        assert sorted(sum(real, [])) == sorted(global_batch)  # every row once, none twice
        weights = [views[r].shard_weight(b) for r in range(world)]
        assert sum(weights) == pytest.approx(world)  # DDP divides by world: the mean over the global batch
        for r in range(world):
            assert len(per_rank[r][b]) == max(views[r].shard_rows(b), 1)  # an idle rank runs one row at weight 0


def test_augmentation_streams_differ_by_rank():
    x, y = torch.zeros(8, 1), torch.zeros(8)
    loader = TensorLoader(x, y, batch_size=2, augment=True, transform=lambda xb, yb, g: (torch.rand(len(xb), generator=g), yb))
    a, b = (next(iter(loader.sharded(r, 2)))[0] for r in range(2))
    assert not torch.equal(a, b)


def test_rows_part_covers_the_split_once():
    loader = TensorLoader(torch.zeros(11, 1), torch.arange(11), batch_size=4, index=torch.arange(11).flip(0))
    parts = [torch.cat([yb for _, yb in loader.rows_part(r, 3)]).tolist() for r in range(3)]
    assert sorted(sum(parts, [])) == list(range(11)) and all(parts)


class Recorder:
    """A stand-in process group of two ranks: replays the other rank's state into each all-reduce."""

    device = torch.device("cpu")

    def __init__(self, peer_values=None):
        self.seen, self.peer = [], list(peer_values or [])

    def all_reduce(self, t, op="sum"):
        self.seen.append(t.clone())
        if self.peer:
            other = self.peer.pop(0)
            t.copy_(torch.maximum(t, other) if op == "max" else t + other)
        return t

    def gather_rows(self, t):  # rank 0 is the one with a peer: its rows come first
        self.seen.append(t.clone())
        return torch.cat([t, self.peer.pop(0)]) if self.peer else t


@pytest.mark.parametrize("name", [n for n in metric_names()])
def test_every_metric_state_sums_to_the_one_process_answer(name):
    g = torch.Generator().manual_seed(0)
    if name in ("iou", "dice", "iou_per_class", "dice_per_class"):
        pred, target = torch.randn(6, 3, 4, 4, generator=g), torch.randint(0, 3, (6, 4, 4), generator=g)
    elif name.startswith(("multilabel", "hamming")):
        pred, target = torch.randn(6, 4, generator=g), torch.randint(0, 2, (6, 4), generator=g)
    elif name.startswith("crps"):
        pred, target = torch.randn(6, 2 if name.endswith("gaussian") else 5, generator=g), torch.randn(6, generator=g)
    elif name in ("mae", "rmse", "r2"):
        pred, target = torch.randn(6, generator=g), torch.randn(6, generator=g)
    elif name.endswith("_binary"):  # two classes only (a 4-class input is refused)
        pred, target = torch.randn(6, 2, generator=g), torch.tensor([0, 1, 1, 0, 1, 0])
    else:
        pred, target = torch.randn(6, 4, generator=g), torch.randint(0, 4, (6,), generator=g)
    whole, rank0, rank1 = make_metric(name), make_metric(name), make_metric(name)
    whole.update(pred, target)
    rank0.update(pred[:4], target[:4])
    rank1.update(pred[4:], target[4:])
    peer = Recorder()
    reduce_metric_state(rank1, peer)  # what rank 1 contributes, in order
    reduce_metric_state(rank0, Recorder(peer.seen))
    got, want = rank0.compute(), whole.compute()
    if isinstance(want, list):
        torch.testing.assert_close(torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64),
                                   equal_nan=True)
    else:
        assert got == pytest.approx(want, rel=1e-6, nan_ok=True)


def test_world_from_env_ignores_a_world_of_one():
    assert world_from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None
    assert world_from_env({"WORLD_SIZE": "4", "RANK": "3"}) == (3, 4, 3)
