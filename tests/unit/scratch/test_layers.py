"""Layers: same constructor arguments, parameter names and shapes as torch.nn; with torch's
weights copied in, outputs and gradients match; gradients also pass gradcheck."""

import numpy as np
import pytest
import torch
from scratch_oracle import assert_close, copy_torch_to_scratch, to_torch

from deepdojo.scratch import Tensor, gradcheck, manual_seed, nn
from deepdojo.scratch import functional as F

# (id, factory(m) where m is scratch.nn or torch.nn, input shape)
LAYERS = [
    ("linear", lambda m: m.Linear(5, 3), (4, 5)),
    ("linear_no_bias", lambda m: m.Linear(5, 3, bias=False), (2, 5)),
    ("linear_3d_input", lambda m: m.Linear(4, 2), (2, 3, 4)),
    ("conv2d", lambda m: m.Conv2d(2, 3, 3), (2, 2, 6, 6)),
    ("conv2d_stride_padding", lambda m: m.Conv2d(2, 4, 3, stride=2, padding=1), (2, 2, 7, 7)),
    ("conv2d_rect", lambda m: m.Conv2d(1, 2, (2, 3), stride=(1, 2), padding=(0, 1)), (1, 1, 5, 6)),
    ("maxpool2d", lambda m: m.MaxPool2d(2), (2, 3, 6, 6)),
    ("maxpool2d_stride_padding", lambda m: m.MaxPool2d(3, stride=2, padding=1), (1, 2, 7, 7)),
    ("avgpool2d", lambda m: m.AvgPool2d(2, stride=1), (1, 2, 4, 4)),
    ("relu", lambda m: m.ReLU(), (3, 4)),
    ("tanh", lambda m: m.Tanh(), (3, 4)),
    ("sigmoid", lambda m: m.Sigmoid(), (3, 4)),
    ("leaky_relu", lambda m: m.LeakyReLU(0.2), (3, 4)),
    ("flatten", lambda m: m.Flatten(), (2, 3, 2, 2)),
    ("batchnorm1d_train", lambda m: m.BatchNorm1d(3), (6, 3)),
    ("batchnorm1d_train_3d", lambda m: m.BatchNorm1d(3), (4, 3, 5)),
    ("batchnorm2d_train", lambda m: m.BatchNorm2d(2), (3, 2, 4, 4)),
    ("batchnorm2d_no_affine", lambda m: m.BatchNorm2d(2, affine=False), (3, 2, 3, 3)),
    ("rnncell", lambda m: m.RNNCell(3, 4), (2, 3)),
    ("rnncell_relu", lambda m: m.RNNCell(3, 4, nonlinearity="relu"), (2, 3)),
    (
        "mlp",
        lambda m: m.Sequential(m.Linear(4, 8), m.Tanh(), m.Linear(8, 2)),
        (5, 4),
    ),
]


def _pair(factory):
    """A torch layer (float64) and its scratch twin holding the same weights."""
    torch.manual_seed(0)
    theirs = factory(torch.nn).double()
    ours = factory(nn)
    copy_torch_to_scratch(theirs, ours)
    return ours, theirs


@pytest.mark.parametrize("name,factory,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_parameter_names_and_shapes_match_torch(name, factory, shape):
    ours, theirs = factory(nn), factory(torch.nn)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]


@pytest.mark.parametrize("name,factory,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_forward_and_backward_match_torch(name, factory, shape):
    ours, theirs = _pair(factory)
    x = np.random.default_rng(3).standard_normal(shape)
    xs, xt = Tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    out, expected = ours(xs), theirs(xt)
    assert_close(out, expected, what="forward")
    upstream = np.random.default_rng(4).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(to_torch(upstream))
    assert_close(xs.grad, xt.grad, what="input gradient")
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, what=f"gradient of {k}")
    for k, v in theirs.state_dict().items():  # batch-norm running statistics
        assert_close(ours.state_dict()[k], v, what=k)


@pytest.mark.parametrize("name,factory,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_gradcheck(name, factory, shape):
    manual_seed(0)
    layer = factory(nn)
    x = Tensor(np.random.default_rng(5).standard_normal(shape), requires_grad=True)
    assert gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


def test_default_init_bounds_follow_torch():
    """kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    manual_seed(1)
    conv = nn.Conv2d(4, 64, 3)  # fan_in = 36, bound = 1/6
    linear = nn.Linear(100, 200)  # bound = 0.1
    for p, bound in [(conv.weight, 1 / 6), (conv.bias, 1 / 6), (linear.weight, 0.1)]:
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.9 * bound  # actually spans the range
    assert conv.weight.dtype == np.float64
    assert nn.Linear(3, 2, dtype=np.float32).weight.dtype == np.float32


def test_manual_seed_makes_init_reproducible():
    manual_seed(42)
    a = nn.Linear(3, 3).weight.data.copy()
    manual_seed(42)
    b = nn.Linear(3, 3).weight.data
    manual_seed(43)
    c = nn.Linear(3, 3).weight.data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("dims", ["1d", "2d"])
def test_batchnorm_train_then_eval_matches_torch(momentum, dims):
    shape = (8, 3) if dims == "1d" else (4, 3, 5, 5)
    cls = "BatchNorm1d" if dims == "1d" else "BatchNorm2d"
    ours, theirs = _pair(lambda m: getattr(m, cls)(3, momentum=momentum))
    rng = np.random.default_rng(0)
    for _ in range(3):  # train: batch statistics, running stats updated (unbiased var)
        x = 2.0 + 3.0 * rng.standard_normal(shape)
        assert_close(ours(Tensor(x)), theirs(to_torch(x)))
    for k, v in theirs.state_dict().items():
        assert_close(ours.state_dict()[k], v, what=k)
    assert int(ours.state_dict()["num_batches_tracked"]) == 3
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    xs, xt = Tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    out, expected = ours(xs), theirs(xt)
    assert_close(out, expected, what="eval forward uses running stats")
    out.sum().backward(), expected.sum().backward()
    assert_close(xs.grad, xt.grad)
    assert_close(ours.weight.grad, theirs.weight.grad)
    before = ours.state_dict()
    ours(Tensor(x))
    for k, v in ours.state_dict().items():  # eval leaves the buffers alone
        np.testing.assert_array_equal(v, before[k])


def test_batchnorm_eval_gradcheck():
    manual_seed(0)
    bn = nn.BatchNorm2d(2)
    bn.running_mean[:] = [0.5, -1.0]
    bn.running_var[:] = [2.0, 0.5]
    bn.eval()
    x = Tensor(np.random.default_rng(1).standard_normal((2, 2, 3, 3)), requires_grad=True)
    assert gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])


def test_embedding_with_padding_idx_matches_torch():
    ours, theirs = _pair(lambda m: m.Embedding(6, 3, padding_idx=1))
    np.testing.assert_array_equal(nn.Embedding(6, 3, padding_idx=1).weight.data[1], 0.0)
    idx = np.array([[0, 1, 4], [1, 4, 5]])
    out, expected = ours(idx), theirs(torch.from_numpy(idx))
    assert out.shape == (2, 3, 3)
    assert_close(out, expected)
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(to_torch(upstream))
    assert_close(ours.weight.grad, theirs.weight.grad)
    np.testing.assert_array_equal(ours.weight.grad[1], 0.0)  # the padding row learns nothing
    np.testing.assert_allclose(ours.weight.grad[4], upstream[0, 2] + upstream[1, 1])


def test_embedding_gradcheck_with_tensor_indices():
    manual_seed(0)
    emb = nn.Embedding(5, 2, padding_idx=0)
    idx = Tensor(np.array([3, 0, 3, 4]))
    assert gradcheck(lambda w: emb(idx) * emb(idx), [emb.weight])


def test_rnncell_sequence_and_unbatched_input_match_torch():
    ours, theirs = _pair(lambda m: m.RNNCell(3, 5))
    xs = np.random.default_rng(0).standard_normal((4, 2, 3))  # (T, N, input)
    h_ours, h_theirs = None, None
    for x in xs:  # carry the hidden state through time
        h_ours = ours(Tensor(x), h_ours)
        h_theirs = theirs(to_torch(x), h_theirs)
    assert_close(h_ours, h_theirs)
    h_ours.sum().backward(), h_theirs.sum().backward()
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, what=k)
    single = xs[0, 0]
    assert_close(ours(Tensor(single)), theirs(to_torch(single)))
    assert ours(Tensor(single)).shape == (5,)


def test_dropout_is_inverted_and_identity_in_eval():
    manual_seed(0)
    drop = nn.Dropout(p=0.25)
    x = Tensor(np.ones((200, 100)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert abs(1 - kept.mean() - 0.25) < 0.01  # drop rate ~ p
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)  # survivors scaled by 1/(1-p)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, y.data)  # gradient is the same mask
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)


def test_train_eval_propagate_to_children():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)))
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert len(list(model.modules())) == 5
    assert [type(m).__name__ for m in model.children()] == ["Linear", "Sequential"]


def test_custom_module_registers_attributes_and_zero_grad():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(3, 4)
            self.head = nn.Linear(4, 1)
            self.scale = 2.0  # plain attribute: not a parameter

        def forward(self, x):
            return self.head(self.encoder(x).relu()) * self.scale

    net = Net()
    names = [k for k, _ in net.named_parameters()]
    assert names == ["encoder.weight", "encoder.bias", "head.weight", "head.bias"]
    net(Tensor(np.ones((2, 3)))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_dropout_gradcheck_with_a_fixed_mask():
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    # a fresh generator per call gives the same mask every time, as gradcheck requires
    assert gradcheck(lambda t: F.dropout(t, 0.4, generator=np.random.default_rng(1)), [x])


def test_sequential_indexing_and_slicing():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[-1], nn.Linear)
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert head[0] is model[0]  # shares the layers
    assert [k for k, _ in head.named_parameters()] == ["0.weight", "0.bias"]


def test_state_dict_order_is_stable_through_training_steps():
    bn = nn.BatchNorm1d(2)
    keys = list(bn.state_dict())
    for _ in range(2):
        bn(Tensor(np.random.default_rng(0).standard_normal((4, 2))))
    assert list(bn.state_dict()) == keys == list(torch.nn.BatchNorm1d(2).state_dict())
