"""P x K identity batches for the verification task's training loader."""

import torch

from deepdojo.data.identities import GROUP_SIZE, load_glyphs
from deepdojo.data.loaders import TensorLoader, identity_batch_order


def test_order_is_a_permutation_of_same_label_runs():
    y = torch.arange(7).repeat_interleave(torch.tensor([4, 4, 5, 8, 3, 1, 4]))  # uneven identities, one singleton
    order = identity_batch_order(y, 4, seed=3, epoch=2)
    assert sorted(order.tolist()) == list(range(len(y)))
    runs = torch.unique_consecutive(y[order], return_counts=True)[1]
    # each identity's rows are contiguous in groups of 4 (remainder joins its last group; <4 rows: one group)
    assert set(runs.tolist()) <= {1, 3, 4, 5, 8}, runs  # 8 = two groups of one identity landing side by side


def test_glyph_train_batches_are_p_by_k_and_resume_exact():
    data = load_glyphs(n_identities=30, per_identity=8, batch_size=16, seed=1)
    train = data.train
    assert train.group_size == GROUP_SIZE == 4
    train.set_epoch(1)
    batches = [yb.clone() for _, yb in train]
    for yb in batches[:-1]:  # full batches: 4 identities x 4 examples each
        counts = torch.unique(yb, return_counts=True)[1]
        assert counts.sum() == 16 and bool((counts % 4 == 0).all()), counts
    # resume at batch 3 reproduces batches 3.. exactly (the order is a function of seed and epoch)
    resumed = [yb for _, yb in train.iter_from(3)]
    assert all(torch.equal(a, b) for a, b in zip(batches[3:], resumed)) and len(resumed) == len(batches) - 3
    train.set_epoch(2)
    assert not torch.equal(torch.cat(batches), torch.cat([yb for _, yb in train]))
    # every train row once per epoch
    assert sorted(torch.cat(batches).tolist()) == sorted(train.y.tolist())


def test_random_batches_have_few_positives_pk_batches_many():
    y = torch.arange(60).repeat_interleave(8)
    x = torch.zeros(len(y), 1)
    def positives_per_anchor(loader):
        got = []
        for _, yb in loader:
            same = (yb[:, None] == yb[None, :]).sum(1) - 1
            got.append(same.float().mean())
        return float(torch.stack(got).mean())
    plain = positives_per_anchor(TensorLoader(x, y, 32, shuffle=True, seed=0))
    pk = positives_per_anchor(TensorLoader(x, y, 32, shuffle=True, seed=0, group_size=4))
    assert plain < 1.0 and pk >= 3.0, (plain, pk)


def test_train_dev_split_keeps_group_size():
    data = load_glyphs(n_identities=30, per_identity=8, batch_size=16, seed=0).carve_train_dev(0.2)
    assert data.train.group_size == GROUP_SIZE
