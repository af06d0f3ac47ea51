"""Contract tests over every registered segmentation model (``kind="segmenter"``): maps in, maps out."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepdojo.models import list_models, model_kind
from deepdojo.models.examples import example_batch, example_model
from deepdojo.train.checkpoint import load_weights, save_weights

NAMES = [n for n in list_models() if model_kind(n) == "segmenter"]
K = 3


def test_the_fcn_baseline_is_registered_beside_unet():
    assert {"fcn", "unet"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(32, 32), (29, 35)])
def test_output_is_one_score_map_per_class_at_the_input_size(name, size):
    model = example_model(name, K)
    assert model(torch.randn(2, 3, *size)).shape == (2, K, *size)


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_finite_gradient(name):
    model = example_model(name, K)
    x = example_batch(name, batch=2)
    F.cross_entropy(model(x), torch.randint(0, K, (2, *x.shape[-2:]))).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"{name}.{pname}"


@pytest.mark.parametrize("name", NAMES)
def test_overfits_one_small_batch_of_masks(name):
    torch.manual_seed(0)
    model = example_model(name, K)
    x = example_batch(name, batch=4)
    y = torch.zeros(4, 32, 32, dtype=torch.long)
    y[:, 4:20, 6:22], y[:, 22:30, 2:12] = 1, 2  # two blocks to outline
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(150):
        loss = F.cross_entropy(model(x), y)
        losses.append(float(loss.detach()))
        if losses[-1] <= 0.2 * losses[0]:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] <= 0.2 * losses[0], f"{name}: {losses[0]:.3f} -> {losses[-1]:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip_is_exact(name, tmp_path):
    model = example_model(name, K, seed=0).eval()
    other = example_model(name, K, seed=1).eval()
    load_weights(other, save_weights(model, tmp_path / name))
    x = example_batch(name, batch=2)
    assert torch.equal(model(x), other(x))
