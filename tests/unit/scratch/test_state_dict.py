"""state_dicts move between torch and scratch in both directions, with identical outputs."""

import numpy as np
import pytest
import torch
from scratch_oracle import assert_close, to_torch

from deepdojo.scratch import Tensor, manual_seed, nn


def mlp(m):
    return m.Sequential(m.Linear(4, 16), m.ReLU(), m.Linear(16, 8), m.Tanh(), m.Linear(8, 3))


def cnn(m):
    return m.Sequential(
        m.Conv2d(1, 4, 3, padding=1),  # (N, 4, 8, 8)
        m.BatchNorm2d(4),
        m.ReLU(),
        m.MaxPool2d(2),  # (N, 4, 4, 4)
        m.Conv2d(4, 6, 3, stride=2, padding=1),  # (N, 6, 2, 2)
        m.ReLU(),
        m.Flatten(),
        m.Linear(24, 5),
    )


def _batch(factory, seed):
    shape = (5, 4) if factory is mlp else (5, 1, 8, 8)
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("factory", [mlp, cnn], ids=["mlp", "cnn"])
def test_torch_to_scratch(factory):
    torch.manual_seed(0)
    theirs = factory(torch.nn).double()
    with torch.no_grad():  # make the batch-norm buffers non-trivial before copying
        theirs(to_torch(_batch(factory, 1)))
    theirs.eval()
    ours = factory(nn)
    ours.load_state_dict(theirs.state_dict())  # torch tensors are read via np.asarray
    ours.eval()
    x = _batch(factory, 2)
    assert_close(ours(Tensor(x)), theirs(to_torch(x)))


@pytest.mark.parametrize("factory", [mlp, cnn], ids=["mlp", "cnn"])
def test_scratch_to_torch(factory):
    manual_seed(0)
    ours = factory(nn)
    ours(Tensor(_batch(factory, 1)))  # train-mode pass updates batch-norm buffers
    ours.eval()
    theirs = factory(torch.nn).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    theirs.eval()
    x = _batch(factory, 2)
    assert_close(ours(Tensor(x)), theirs(to_torch(x)))


def test_state_dict_has_torch_keys_including_batchnorm_buffers():
    keys = list(cnn(nn).state_dict())
    assert keys == list(cnn(torch.nn).state_dict())
    assert "1.running_mean" in keys and "1.running_var" in keys
    assert "1.num_batches_tracked" in keys


def test_state_dict_is_a_copy_and_load_is_in_place():
    model = mlp(nn)
    weight = model[0].weight
    state = model.state_dict()
    state["0.weight"] += 1.0  # mutating the copy leaves the model alone
    assert not np.array_equal(weight.data, state["0.weight"])
    model.load_state_dict(state)
    assert model[0].weight is weight  # same Parameter object (optimisers keep working)
    np.testing.assert_array_equal(weight.data, state["0.weight"])


def test_load_state_dict_checks_keys_and_shapes():
    model = mlp(nn)
    state = model.state_dict()
    del state["0.bias"]
    with pytest.raises(KeyError, match="0.bias"):
        model.load_state_dict(state)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["0.bias"] and unexpected == []
    state = model.state_dict()
    state["2.weight"] = np.zeros((8, 15))
    with pytest.raises(ValueError, match="2.weight"):
        model.load_state_dict(state)


def test_float32_model_loads_float64_weights_as_float32():
    model = nn.Linear(3, 2, dtype=np.float32)
    model.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2)})
    assert model.weight.dtype == np.float32
    assert model(Tensor(np.ones((1, 3), dtype=np.float32))).dtype == np.float32
