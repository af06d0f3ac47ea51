"""Check analytic gradients against central finite differences.

For a fixed random vector v (same shape as the output), backprop gives v^T J in one pass;
nudging each input element by +-eps gives the same quantity numerically:

    d(v . f(x))/dx_i ~= (v . f(x + eps e_i) - v . f(x - eps e_i)) / (2 eps)

Central differences are accurate to O(eps^2), so in float64 with eps=1e-6 the two agree to
~1e-9 unless the backward pass is wrong.

>>> import numpy as np
>>> from deepdojo.scratch.tensor import Tensor
>>> x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
>>> gradcheck(lambda t: (t * t.exp()).sum(dim=0), [x])
True
"""

import numpy as np

from deepdojo.scratch.tensor import Tensor, no_grad

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


def gradcheck(fn, inputs, eps=1e-6, rtol=1e-6, atol=1e-8, seed=0):
    """Return True if ``fn(*inputs)``'s gradients w.r.t. every float64 input with
    ``requires_grad`` match central differences within ``atol + rtol * |numeric|``;
    otherwise raise ``GradcheckError`` naming the input and its worst element.

    ``fn`` must be deterministic (reseed any randomness inside it).
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck needs at least one input with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"input {i} is {inputs[i].dtype}; gradcheck needs float64")
        inputs[i].grad = None

    out = fn(*inputs)
    v = np.random.default_rng(seed).standard_normal(out.shape)  # random direction

    def projected():  # v . fn(inputs), without building a graph
        with no_grad():
            return float((fn(*inputs).data * v).sum())

    out.backward(v)
    for i in checked:
        t = inputs[i]
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        numeric = np.empty_like(t.data)
        for idx in np.ndindex(t.shape):
            original = t.data[idx]
            t.data[idx] = original + eps
            plus = projected()
            t.data[idx] = original - eps
            minus = projected()
            t.data[idx] = original
            numeric[idx] = (plus - minus) / (2 * eps)
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(excess > 0):
            worst = np.unravel_index(np.argmax(excess), t.shape) if t.ndim else ()
            raise GradcheckError(
                f"gradient mismatch for input {i} {t.shape} at element {tuple(map(int, worst))}: "
                f"analytic {analytic[worst]:.10g} vs numeric {numeric[worst]:.10g} "
                f"({int(np.sum(excess > 0))} of {t.data.size} elements out of tolerance)"
            )
    return True
