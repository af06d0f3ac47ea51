"""Every Tensor op: gradients match finite differences, and outputs and gradients match
torch on the same inputs. Each case is written once against a small namespace ``m`` that
is either scratch or torch, so both engines run literally the same expression."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from scratch_oracle import assert_close, to_torch

import deepdojo.scratch as S
from deepdojo.scratch import functional as SF
from deepdojo.scratch import gradcheck

SCRATCH = SimpleNamespace(F=SF, cat=S.cat, stack=S.stack, index=S.Tensor)
TORCH = SimpleNamespace(F=TF, cat=torch.cat, stack=torch.stack, index=torch.from_numpy)

IDX = np.array([2, 0, 2, 1])  # repeated index: its gradient must accumulate
P = "positive"  # inputs drawn from [0.5, 2] (log, sqrt, division, fractional powers)

# (id, fn(m, *inputs), input shapes; a shape may be (shape, P))
CASES = [
    ("add", lambda m, a, b: a + b, [(3, 4), (3, 4)]),
    ("add_broadcast_row", lambda m, a, b: a + b, [(3, 4), (4,)]),
    ("add_broadcast_outer", lambda m, a, b: a + b, [(3, 1), (1, 4)]),
    ("radd_scalar", lambda m, a: 2.5 + a, [(3,)]),
    ("sub_broadcast", lambda m, a, b: a - b, [(2, 3, 4), (3, 1)]),
    ("rsub_scalar", lambda m, a: 1.5 - a, [(2, 3)]),
    ("mul_broadcast", lambda m, a, b: a * b, [(2, 3, 4), (1, 4)]),
    ("rmul_scalar", lambda m, a: 3.0 * a, [(4,)]),
    ("div_broadcast", lambda m, a, b: a / b, [(3, 4), ((3, 1), P)]),
    ("rdiv_scalar", lambda m, a: 2.0 / a, [((5,), P)]),
    ("neg", lambda m, a: -a, [(2, 3)]),
    ("pow_int", lambda m, a: a**3, [(2, 3)]),
    ("pow_fraction", lambda m, a: a**0.5, [((4,), P)]),
    ("pow_tensor", lambda m, a, b: a**b, [((2, 3), P), (2, 3)]),
    ("rpow_scalar", lambda m, a: 2.0**a, [(4,)]),
    ("matmul", lambda m, a, b: a @ b, [(3, 4), (4, 5)]),
    ("matmul_batched_broadcast", lambda m, a, b: a @ b, [(2, 3, 4), (4, 5)]),
    ("matmul_batch_dims_broadcast", lambda m, a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    ("matmul_vector_matrix", lambda m, a, b: a @ b, [(4,), (2, 4, 5)]),
    ("matmul_matrix_vector", lambda m, a, b: a @ b, [(3, 4), (4,)]),
    ("sum_all", lambda m, a: a.sum(), [(3, 4)]),
    ("sum_dim", lambda m, a: a.sum(dim=1), [(3, 4, 2)]),
    ("sum_dims_keepdim", lambda m, a: a.sum(dim=(0, 2), keepdim=True), [(3, 4, 2)]),
    ("mean_all", lambda m, a: a.mean(), [(3, 4)]),
    ("mean_dim_keepdim", lambda m, a: a.mean(dim=-1, keepdim=True), [(3, 4)]),
    ("max_all", lambda m, a: a.max(), [(3, 4)]),
    ("max_dim_values", lambda m, a: a.max(dim=1).values, [(3, 4, 2)]),
    ("max_dim_keepdim", lambda m, a: a.max(dim=0, keepdim=True).values, [(3, 4)]),
    ("amax_dims", lambda m, a: a.amax(dim=(0, 2)), [(3, 4, 2)]),
    ("exp", lambda m, a: a.exp(), [(2, 3)]),
    ("log", lambda m, a: a.log(), [((2, 3), P)]),
    ("sqrt", lambda m, a: a.sqrt(), [((2, 3), P)]),
    ("abs", lambda m, a: a.abs(), [(2, 3)]),
    ("tanh", lambda m, a: a.tanh(), [(2, 3)]),
    ("sigmoid", lambda m, a: a.sigmoid(), [(2, 3)]),
    ("relu", lambda m, a: m.F.relu(a), [(3, 4)]),
    ("leaky_relu", lambda m, a: m.F.leaky_relu(a, 0.1), [(3, 4)]),
    ("softmax", lambda m, a: m.F.softmax(a, dim=1), [(3, 4)]),
    ("log_softmax", lambda m, a: m.F.log_softmax(a, dim=-1), [(2, 3, 4)]),
    ("reshape", lambda m, a: a.reshape(4, 6) * a.reshape(4, 6), [(2, 3, 4)]),
    ("view_infer", lambda m, a: a.view(-1, 3), [(2, 3, 2)]),
    ("transpose", lambda m, a: a.transpose(0, 2), [(2, 3, 4)]),
    ("permute", lambda m, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    ("T", lambda m, a: a.T @ a, [(3, 4)]),
    ("flatten", lambda m, a: a.flatten(1), [(2, 3, 4)]),
    ("unsqueeze_squeeze", lambda m, a: a.unsqueeze(1).squeeze(), [(3, 4)]),
    ("getitem_slice", lambda m, a: a[1:, ::2], [(3, 4)]),
    ("getitem_int", lambda m, a: a[1], [(3, 4)]),
    ("getitem_int_array", lambda m, a: a[m.index(IDX)], [(3, 4)]),
    ("getitem_pairs", lambda m, a: a[m.index(IDX), m.index(IDX[::-1].copy())], [(3, 4)]),
    ("cat", lambda m, a, b: m.cat([a, b], dim=1), [(2, 3), (2, 5)]),
    ("stack", lambda m, a, b: m.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    ("pad", lambda m, a: m.F.pad(a, (1, 2, 0, 1)), [(2, 3, 4)]),
    ("conv2d", lambda m, x, w, b: m.F.conv2d(x, w, b), [(2, 3, 6, 6), (4, 3, 3, 3), (4,)]),
    (
        "conv2d_stride2_pad1",
        lambda m, x, w, b: m.F.conv2d(x, w, b, stride=2, padding=1),
        [(2, 2, 7, 7), (3, 2, 3, 3), (3,)],
    ),
    (
        "conv2d_rect_no_bias",
        lambda m, x, w: m.F.conv2d(x, w, stride=(2, 1), padding=(1, 0)),
        [(1, 2, 6, 5), (3, 2, 2, 3)],
    ),
    ("max_pool2d", lambda m, x: m.F.max_pool2d(x, 2), [(2, 3, 6, 6)]),
    ("max_pool2d_k3_s2_p1", lambda m, x: m.F.max_pool2d(x, 3, 2, 1), [(2, 2, 7, 7)]),
    ("avg_pool2d", lambda m, x: m.F.avg_pool2d(x, 2), [(2, 3, 6, 6)]),
    ("avg_pool2d_k3_s1_p1", lambda m, x: m.F.avg_pool2d(x, 3, 1, 1), [(1, 2, 5, 5)]),
]


def _inputs(specs, seed):
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        shape, kind = spec if isinstance(spec[0], tuple) else (spec, None)
        arrays.append(rng.uniform(0.5, 2.0, shape) if kind == P else rng.standard_normal(shape))
    return arrays


@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(name, fn, specs):
    inputs = [S.Tensor(a, requires_grad=True) for a in _inputs(specs, seed=len(name))]
    assert gradcheck(lambda *xs: fn(SCRATCH, *xs), inputs)


@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_outputs_and_gradients_match_torch(name, fn, specs):
    arrays = _inputs(specs, seed=len(name))
    ours = [S.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [to_torch(a, requires_grad=True) for a in arrays]
    out, expected = fn(SCRATCH, *ours), fn(TORCH, *theirs)
    assert out.shape == tuple(expected.shape)
    assert_close(out, expected, what="forward")
    upstream = np.random.default_rng(7).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(to_torch(upstream))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.grad, b.grad, what=f"gradient of input {i}")
