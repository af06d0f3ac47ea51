"""Contract tests over every registered language model and seq2seq model (tiny instances).

Their outputs are per-position logits ``(B, T, V)``, so the classifier contracts of
test_models.py do not apply; these do."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from deepdojo.models import create_model, list_models, model_example, model_kind
from deepdojo.train.checkpoint import load_weights, save_weights

NAMES = [n for n in list_models() if model_kind(n) in ("language_model", "seq2seq")]
V = 7


def build(name, seed=0):
    shape, kw = model_example(name)
    torch.manual_seed(seed)
    if model_kind(name) == "language_model":
        kw["vocab_size"] = V  # outputs = vocabulary
    return create_model(name, V, **kw).eval(), shape, kw


def batch(name, shape, kw):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(min(4, kw["vocab_size"] - 1), kw["vocab_size"], (4, *shape), generator=g)
    if model_kind(name) == "seq2seq":
        x[:2, shape[0] // 2:] = 0  # padded sources
    return x


def test_there_are_sequence_models():
    assert {"gpt", "lstm_lm", "gru_lm", "rnn_lm", "seq2seq_gru", "seq2seq_lstm"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_logits_per_position_and_finite_gradients(name):
    model, shape, kw = build(name)
    model.train()
    x = batch(name, shape, kw)
    out = model(x)
    steps = shape[0] if model_kind(name) == "language_model" else kw["max_len"]
    assert out.shape == (4, steps, V)
    target = torch.randint(0, V, out.shape[:2])
    F.cross_entropy(out.reshape(-1, V), target.reshape(-1)).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"{name}.{pname}"


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip_is_exact_with_tied_weights(name, tmp_path):
    model, shape, kw = build(name, seed=0)
    other, _, _ = build(name, seed=1)
    load_weights(other, save_weights(model, tmp_path / name))
    a, b = model.state_dict(), other.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = batch(name, shape, kw)
    assert torch.equal(model.eval()(x), other.eval()(x))
    tied = [(m, n) for m, n in (("tok_emb", "head"), ("embedding", "decoder")) if hasattr(other, m)]
    for m, n in tied:  # the tie survives loading
        assert getattr(other, n).weight is getattr(other, m).weight


@pytest.mark.parametrize("name", NAMES)
def test_construction_is_seeded(name):
    a, b, c = (build(name, seed=s)[0].state_dict() for s in (3, 3, 4))
    assert all(torch.equal(a[k], b[k]) for k in a) and any(not torch.equal(a[k], c[k]) for k in a)
