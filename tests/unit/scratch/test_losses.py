"""Losses against torch.nn.functional and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from scratch_oracle import assert_close, to_torch

from deepdojo.scratch import Tensor, gradcheck, nn
from deepdojo.scratch import functional as F

REDUCTIONS = ["mean", "sum", "none"]


def _check(ours_fn, theirs_fn, *arrays):
    """Same forward, and same input gradients for a random upstream gradient."""
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [to_torch(a, requires_grad=True) for a in arrays]
    out, expected = ours_fn(*ours), theirs_fn(*theirs)
    assert_close(out, expected, what="forward")
    upstream = np.random.default_rng(9).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(to_torch(upstream))
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad, what="gradient")
    assert gradcheck(ours_fn, [Tensor(a, requires_grad=True) for a in arrays])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction):
    rng = np.random.default_rng(0)
    _check(
        lambda a, b: F.mse_loss(a, b, reduction=reduction),
        lambda a, b: TF.mse_loss(a, b, reduction=reduction),
        rng.standard_normal((4, 3)),
        rng.standard_normal((4, 3)),
    )


@pytest.mark.parametrize("target_kind", ["ndarray", "tensor"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_ndarray_or_tensor_targets(target_kind, reduction):
    logits = np.random.default_rng(1).standard_normal((6, 4))
    labels = np.array([0, 3, 1, 1, 2, 3])
    target = labels if target_kind == "ndarray" else Tensor(labels)
    _check(
        lambda x: F.cross_entropy(x, target, reduction=reduction),
        lambda x: TF.cross_entropy(x, torch.from_numpy(labels), reduction=reduction),
        logits,
    )


def test_cross_entropy_is_stable_for_huge_logits():
    logits = Tensor(np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]]), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 0]))
    expected = TF.cross_entropy(to_torch(logits.data), torch.tensor([0, 0]))
    assert np.isfinite(loss.item())
    assert_close(loss, expected)
    loss.backward()
    assert np.all(np.isfinite(logits.grad))


def test_cross_entropy_rejects_float_targets():
    with pytest.raises(TypeError, match="integer class targets"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    rng = np.random.default_rng(2)
    logits = 3 * rng.standard_normal((5, 2))
    targets = rng.uniform(0, 1, (5, 2))
    ours = Tensor(logits, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(ours, targets, reduction=reduction)
    theirs = to_torch(logits, requires_grad=True)
    expected = TF.binary_cross_entropy_with_logits(theirs, to_torch(targets), reduction=reduction)
    assert_close(loss, expected)
    loss.sum().backward(), expected.sum().backward()
    assert_close(ours.grad, theirs.grad)
    assert gradcheck(
        lambda x: F.binary_cross_entropy_with_logits(x, Tensor(targets), reduction=reduction),
        [Tensor(logits, requires_grad=True)],
    )


def test_binary_cross_entropy_with_logits_is_stable():
    x = Tensor(np.array([-800.0, 800.0]), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [800.0, 800.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [-1.0, 1.0])  # sigmoid(x) - y


def test_l2_penalty_matches_torch_sum_of_squares():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    ours.load_state_dict(theirs.state_dict())
    penalty = F.l2_penalty(ours.parameters(), weight=0.01)
    expected = 0.01 * sum((p**2).sum() for p in theirs.parameters())
    assert_close(penalty, expected)
    penalty.backward(), expected.backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad)
        assert_close(p.grad, 0.02 * p.data)  # d/dp of w * p^2


def test_unknown_reduction_raises():
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(Tensor([1.0]), Tensor([2.0]), reduction="avg")
