"""Family-specific behaviour: padding never changes a sequence prediction, tabular codes reach the
embeddings, explicit initialisation has the textbook spread, residual blocks start as the identity."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models import create_model, create_model_for
from deepdojo.models.layers import init_weights
from deepdojo.models.resnet import BasicBlock, Bottleneck


@pytest.mark.parametrize("name, kw", [
    ("rnn", {}), ("gru", {"num_layers": 2}), ("lstm", {"bidirectional": True, "num_layers": 2}), ("textcnn", {}),
])
def test_trailing_padding_never_changes_a_prediction(name, kw):
    torch.manual_seed(0)
    model = create_model(name, 3, vocab_size=20, **kw).eval()
    x = torch.randint(1, 20, (4, 7))
    x[0, 4:] = 0  # one row already padded
    padded = torch.cat([x, torch.zeros(4, 5, dtype=torch.long)], 1)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(padded), rtol=1e-5, atol=1e-6)
        assert not torch.allclose(model(x)[1], model(x.flip(1))[1])  # order matters: it is not a bag of words


def test_feature_sequences_and_builder_errors():
    model = create_model_for("gru", (15, 6), 4, hidden_size=8)
    assert model(torch.randn(2, 15, 6)).shape == (2, 4)
    with pytest.raises(ConfigError, match="needs vocab_size"):
        create_model_for("lstm", (15,), 4)
    with pytest.raises(ConfigError, match="exactly one of vocab_size"):
        create_model("lstm", 4, vocab_size=10, in_features=3)
    with pytest.raises(ConfigError, match="needs signals"):
        create_model_for("cnn1d", (3, 8, 8), 2)
    assert create_model_for("cnn1d", (3, 50), 2)(torch.randn(2, 3, 50)).shape == (2, 2)


def test_tabular_codes_select_embedding_rows():
    torch.manual_seed(0)
    model = create_model_for("tabular", (4,), 2, cardinalities=(3, 5)).eval()
    x = torch.tensor([[0.0, 4.0, 0.5, -1.0], [0.0, 4.0, 0.5, -1.0]])
    x[1, 0] = 2.0  # only the first category code differs
    with torch.no_grad():
        out = model(x)
        assert not torch.allclose(out[0], out[1])
        model.embeds[0].weight[2] = model.embeds[0].weight[0]  # make code 2 embed like code 0
        torch.testing.assert_close(model(x)[0], model(x)[1])
    with pytest.raises(ConfigError, match="categorical columns"):
        create_model_for("tabular", (1,), 2, cardinalities=(3, 5))


def test_an_out_of_range_category_code_names_its_column_before_training():
    from deepdojo import Learner
    from deepdojo.data.core import Data
    from deepdojo.errors import DataError

    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randint(0, 3, (40, 1), generator=g), torch.randint(0, 5, (40, 1), generator=g),
                   torch.randn(40, 2, generator=g)], 1).float()
    y = torch.arange(40) % 2
    bad_valid = x[:8].clone()
    bad_valid[3, 1] = 5  # column 1 has 5 levels: codes 0..4
    data = Data.from_tensors(x, y, valid=(bad_valid, y[:8]), normalize=False, name="toy")
    model = create_model_for("tabular", (4,), 2, cardinalities=(3, 5))
    with pytest.raises(DataError, match=r"toy valid split: categorical column 1 has code 5, outside 0\.\.4") as err:
        Learner(model, data, progress=False, default_callbacks=False, device="cpu")
    assert "\n" not in str(err.value)
    Learner(model, Data.from_tensors(x, y, valid=(x[:8], y[:8]), normalize=False), progress=False,
            default_callbacks=False, device="cpu")  # in range: accepted
    negative = x[:2].clone()
    negative[0, 0] = -1
    with pytest.raises(DataError, match="column 0 has code -1"):
        model.eval()(negative)  # a forward pass on CPU checks too, instead of PyTorch's bare IndexError


@pytest.mark.parametrize("scheme, want", [("kaiming", lambda fi, fo: math.sqrt(2 / fi)),
                                          ("xavier", lambda fi, fo: math.sqrt(2 / (fi + fo)))])
def test_init_schemes_have_the_textbook_spread(scheme, want):
    torch.manual_seed(0)
    lin = init_weights(nn.Sequential(nn.Linear(400, 300)), scheme)[0]
    assert lin.weight.std().item() == pytest.approx(want(400, 300), rel=0.03)
    assert lin.bias.abs().sum() == 0
    with pytest.raises(ConfigError, match="unknown init"):
        init_weights(lin, "orthogonal-ish")


@pytest.mark.parametrize("block", [BasicBlock(16, 16), Bottleneck(64, 16)])
def test_residual_blocks_start_as_the_identity(block):
    x = torch.rand(2, block.conv1.in_channels, 8, 8)
    block.eval()
    with torch.no_grad():
        torch.testing.assert_close(block(x), x)  # F(x) = 0 at init, and x >= 0 passes the final ReLU


def test_resnet_zero_inits_each_blocks_last_norm():
    model = create_model("resnet50", 10, small_input=True, width_mult=0.125)
    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 16 and all(b.bn3.weight.abs().sum() == 0 for b in blocks)
    assert all(b.bn1.weight.eq(1).all() for b in blocks)
