"""The contrastive and triplet losses and miners against pytorch-metric-learning (the oracle): equal values."""

import pytest
import torch

from deepdojo.tasks.metric_learning import contrastive_loss, mine_triplets, pairwise_distances, triplet_loss

pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
pml_miners = pytest.importorskip("pytorch_metric_learning.miners")
from pytorch_metric_learning.distances import LpDistance  # noqa: E402


def batch(seed: int, b: int = 24, d: int = 8, k: int = 5):
    g = torch.Generator().manual_seed(seed)
    emb = torch.nn.functional.normalize(torch.randn(b, d, generator=g), dim=1)
    return emb, torch.randint(0, k, (b,), generator=g)


def distance():
    return LpDistance(normalize_embeddings=False)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("margin", [0.2, 0.5, 1.0])
def test_contrastive_equals_pml(seed, margin):
    emb, y = batch(seed)
    oracle = pml_losses.ContrastiveLoss(pos_margin=0.1, neg_margin=margin, distance=distance())(emb, y)
    assert float(contrastive_loss(emb, y, margin=margin, pos_margin=0.1)) == pytest.approx(float(oracle), abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("margin", [0.05, 0.2, 0.5])
def test_triplet_all_equals_pml(seed, margin):
    emb, y = batch(seed)
    oracle = pml_losses.TripletMarginLoss(margin=margin, distance=distance())(emb, y)
    assert float(triplet_loss(emb, y, margin=margin, mining="all")) == pytest.approx(float(oracle), abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("margin", [0.1, 0.3])
def test_batch_hard_equals_pml_miner(seed, margin):
    emb, y = batch(seed)
    miner = pml_miners.BatchHardMiner(distance=distance())
    oracle = pml_losses.TripletMarginLoss(margin=margin, distance=distance())(emb, y, miner(emb, y))
    assert float(triplet_loss(emb, y, margin=margin, mining="batch_hard")) == pytest.approx(float(oracle), abs=1e-6)
    a, p, n = mine_triplets(pairwise_distances(emb), y, "batch_hard")
    ma, mp, mn = miner(emb, y)
    got = sorted(zip(a.tolist(), p.tolist(), n.tolist()))
    assert got == sorted(zip(ma.tolist(), mp.tolist(), mn.tolist()))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("margin", [0.1, 0.3, 0.6])
def test_semi_hard_equals_pml_miner(seed, margin):
    emb, y = batch(seed)
    miner = pml_miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard", distance=distance())
    mined = miner(emb, y)
    oracle = pml_losses.TripletMarginLoss(margin=margin, distance=distance())(emb, y, mined)
    assert float(triplet_loss(emb, y, margin=margin, mining="semi_hard")) == pytest.approx(float(oracle), abs=1e-6)
    a, p, n = mine_triplets(pairwise_distances(emb), y, "semi_hard", margin)
    assert sorted(zip(a.tolist(), p.tolist(), n.tolist())) == sorted(zip(*(t.tolist() for t in mined)))
    assert len(a) > 0  # the case is not vacuous


def test_gradients_match_pml():
    emb, y = batch(7)
    mine = emb.clone().requires_grad_(True)
    theirs = emb.clone().requires_grad_(True)
    triplet_loss(mine, y, margin=0.3, mining="batch_hard").backward()
    miner = pml_miners.BatchHardMiner(distance=distance())
    pml_losses.TripletMarginLoss(margin=0.3, distance=distance())(theirs, y, miner(theirs, y)).backward()
    assert torch.allclose(mine.grad, theirs.grad, atol=1e-6)


def test_no_triplets_gives_zero_with_gradient():
    emb = torch.randn(4, 3, requires_grad=True)
    loss = triplet_loss(emb, torch.arange(4), mining="batch_hard")  # every identity once: no positive
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert torch.equal(emb.grad, torch.zeros_like(emb))


def test_unknown_mining_is_an_error():
    with pytest.raises(ValueError, match="mining must be one of"):
        triplet_loss(torch.randn(4, 2), torch.tensor([0, 0, 1, 1]), mining="hardest")
