"""The autograd engine itself: accumulation, no_grad, detach, deep graphs, dtypes,
gradcheck's own ability to fail, and the docstring examples."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest
import torch
from scratch_oracle import assert_close, to_torch

import deepdojo.scratch
from deepdojo.scratch import GradcheckError, Tensor, gradcheck, no_grad
from deepdojo.scratch.tensor import _result


def test_shared_subexpression_gradients_accumulate_like_torch():
    x = np.array([0.3, -1.2, 2.0])
    a = Tensor(x, requires_grad=True)
    y = a * a
    z = (y * a + y.exp() + a).sum()  # `a` and `y` each feed several nodes
    z.backward()
    t = to_torch(x, requires_grad=True)
    u = t * t
    (u * t + u.exp() + t).sum().backward()
    assert_close(a.grad, t.grad)


def test_backward_twice_accumulates_into_leaf_grad():
    a = Tensor([1.0, 2.0], requires_grad=True)
    (a * 3).sum().backward()
    (a * 3).sum().backward()
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])


def test_only_leaves_keep_grad():
    a = Tensor([1.0], requires_grad=True)
    b = a * 2
    (b * b).sum().backward()
    assert b.grad is None and not b.is_leaf
    np.testing.assert_array_equal(a.grad, [8.0])


def test_no_grad_and_detach_cut_the_graph():
    a = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        b = a * 2
    assert not b.requires_grad
    c = (a.detach() * a).sum()  # gradient flows only through the second factor
    c.backward()
    np.testing.assert_array_equal(a.grad, [1.0, 2.0])
    assert deepdojo.scratch.is_grad_enabled()


def test_no_grad_works_as_decorator():
    @no_grad()
    def f(t):
        return t * 2

    assert not f(Tensor([1.0], requires_grad=True)).requires_grad


def test_backward_accepts_gradient_as_array_or_tensor():
    for upstream in (np.array([1.0, -2.0]), Tensor([1.0, -2.0])):
        a = Tensor([3.0, 4.0], requires_grad=True)
        (a * a).backward(upstream)
        np.testing.assert_array_equal(a.grad, [6.0, -16.0])


def test_backward_requires_scalar_or_explicit_gradient():
    a = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (a * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).backward()
    with pytest.raises(TypeError, match="floating"):
        Tensor([1, 2], requires_grad=True)


def test_deep_graph_needs_no_recursion():
    x = Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(20_000):  # far beyond Python's default recursion limit of 1000
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**20_000], rtol=1e-9)


def test_float32_stays_float32():
    a = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    out = ((a * 2.5 + 1) / 3.0).exp().sum()  # Python scalars must not promote to float64
    assert out.dtype == np.float32
    out.backward()
    assert a.grad.dtype == np.float32


def test_numpy_array_on_the_left_uses_reflected_ops():
    a = Tensor([1.0, 2.0], requires_grad=True)
    out = np.array([3.0, 4.0]) * a
    assert isinstance(out, Tensor)
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def test_max_with_dim_returns_values_and_indices_like_torch():
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = Tensor(x).max(dim=1)
    expected = torch.from_numpy(x).max(dim=1)
    assert_close(values, expected.values)
    np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())
    assert ((Tensor(x).argmax(1) == np.array([1, 0])).float().mean()).item() == 1.0


def test_gradcheck_catches_a_wrong_backward_and_names_the_input():
    def wrong_square(t):  # forward x^2 with a deliberately wrong derivative x (not 2x)
        return _result(t.data**2, (t,), lambda g: (g * t.data,))

    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    w = Tensor(np.array([0.5, 0.5, 0.5]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1 \(3,\) at element \(2,\)"):
        gradcheck(lambda w, x: w * wrong_square(x), [w, x])


def test_gradcheck_rejects_float32_inputs():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, [Tensor(np.ones(2, dtype=np.float32), requires_grad=True)])


def _scratch_modules():
    package = deepdojo.scratch
    names = [package.__name__] + [
        f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
    ]
    return [importlib.import_module(name) for name in names]


@pytest.mark.parametrize("module", _scratch_modules(), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
    assert tried > 0, f"{module.__name__} has no runnable example"
