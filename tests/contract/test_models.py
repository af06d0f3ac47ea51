"""Contract tests over every registered model (tiny instances; full-size ones on the meta device)."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from deepdojo.models import create_model, list_models, model_example, model_kind
from deepdojo.models.summary import summary
from deepdojo.train.checkpoint import load_weights, save_weights
from deepdojo.models.examples import KNOWN_KINDS, example_batch, example_model

LONG = os.environ.get("DEEPDOJO_LONG_TESTS") == "1"
NAMES = [n for n in list_models() if model_kind(n) in KNOWN_KINDS]
K = 4


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape(name):
    assert example_model(name, K)(example_batch(name)).shape == (8, K)


@pytest.mark.parametrize("name", NAMES)
def test_backward_gives_finite_gradients_for_every_parameter(name):
    model = example_model(name, K)
    F.cross_entropy(model(example_batch(name)), torch.arange(8) % K).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}.{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}.{pname} has a non-finite gradient"


@pytest.mark.parametrize("name", NAMES)
def test_overfits_one_small_batch(name):
    model = example_model(name, K)
    x, y = example_batch(name), torch.arange(8) % K
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(200):  # stops as soon as the loss has fallen 90%: most models need 20-50 steps
        loss = F.cross_entropy(model(x), y)
        losses.append(float(loss.detach()))
        if losses[-1] <= 0.1 * losses[0]:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] <= 0.1 * losses[0], f"{name}: loss {losses[0]:.3f} -> {losses[-1]:.3f}, expected a 90% fall"


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip_is_exact(name, tmp_path):
    model = example_model(name, K, seed=0)
    path = save_weights(model, tmp_path / name)
    other = example_model(name, K, seed=1)
    load_weights(other, path)
    a, b = model.state_dict(), other.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    x = example_batch(name)
    assert torch.equal(model.eval()(x), other.eval()(x))


@pytest.mark.parametrize("name", NAMES)
def test_two_constructions_under_one_seed_are_identical(name):
    a, b = example_model(name, K, seed=3).state_dict(), example_model(name, K, seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = example_model(name, K, seed=4).state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].is_floating_point())


@pytest.mark.parametrize("name", NAMES)
def test_summary_totals_equal_parameter_count(name):
    model = example_model(name, K)
    shape, kw = model_example(name)
    dtype = torch.long if (model_kind(name) == "sequence" and len(shape) == 1) or model_kind(name) == "collab" \
        else torch.float32
    s = summary(model, shape, dtype=dtype)
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in s.rows) == s.total_params


# torchvision's parameter counts for 1000 classes (the oracle for the full-size layouts).
TORCHVISION_PARAMS = {"alexnet": 61_100_840, "vgg11": 132_863_336, "vgg16": 138_357_544,
                      "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_full_size_layout_matches_torchvision_count_and_shape(name):
    with torch.device("meta"):  # no memory, no init cost: shapes and counts only
        model = create_model(name, 1000)
        out = model(torch.zeros(2, 3, 64, 64))
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMS[name]
    assert out.shape == (2, 1000)


@pytest.mark.skipif(not LONG, reason="full-size forward/backward at 224x224: set DEEPDOJO_LONG_TESTS=1")
@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_full_size_forward_backward_at_224(name):
    torch.manual_seed(0)
    model = create_model(name, 10)
    F.cross_entropy(model(torch.randn(2, 3, 224, 224)), torch.tensor([1, 2])).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_grayscale_needs_no_new_architecture():
    for name in ("lenet5", "alexnet", "vgg11", "resnet18", "inception"):
        shape, kw = model_example(name)
        model = create_model(name, 3, in_channels=1, **kw)
        assert model(torch.randn(2, 1, *shape[1:])).shape == (2, 3)


def test_width_multiplier_scales_parameters():
    small = sum(p.numel() for p in create_model("resnet18", 10, width_mult=0.25, small_input=True).parameters())
    half = sum(p.numel() for p in create_model("resnet18", 10, width_mult=0.5, small_input=True).parameters())
    assert 3.5 < half / small < 4.1  # conv parameters grow with width squared
