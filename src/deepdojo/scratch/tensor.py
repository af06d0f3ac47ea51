"""``Tensor``: a NumPy array that remembers how it was made, and reverse-mode autodiff.

Every operation below computes its result with NumPy and, right beside it, defines
``backward(g)``: given ``g = dLoss/dOut`` it returns ``dLoss/dParent`` for each parent.
``Tensor.backward`` walks the graph in reverse topological order calling those closures.
Broadcasting is handled once, in the engine: a parent's gradient is summed back down to
the parent's shape (``_unbroadcast``), so the closures can ignore it.

>>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()          # y = sum(x^2)
>>> y.backward()
>>> x.grad                     # dy/dx = 2x
array([2., 4., 6.])
"""

import contextlib
from collections import namedtuple

import numpy as np

from deepdojo.scratch._random import default_generator

_grad_enabled = True

MaxResult = namedtuple("MaxResult", ["values", "indices"])  # like torch.return_types.max


@contextlib.contextmanager
def no_grad():
    """Context manager (or decorator) in which results record no graph, like torch.no_grad.

    >>> w = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     (w * 2).requires_grad
    False
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


def _unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    while grad.ndim > len(shape):  # leading axes that broadcasting prepended
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):  # axes stretched from size 1
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _lift(value, like):
    """Wrap a scalar / array operand; Python scalars adopt ``like``'s float dtype."""
    if isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if array.ndim == 0 and np.issubdtype(like.data.dtype, np.floating):
        array = array.astype(like.data.dtype)  # keep float32 tensors float32
    return Tensor(array)


def _raw(index):
    """Turn Tensors inside an index expression into NumPy arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return index


def _result(data, parents, backward):
    """Make the output tensor; attach the graph only if some parent needs a gradient."""
    out = Tensor(data)
    if _grad_enabled and any(p.requires_grad for p in parents):
        out.requires_grad = True
        out._parents = parents
        out._backward = backward
    return out


class Tensor:
    """An n-dimensional array with an optional gradient.

    ``data`` is a NumPy array; ``grad`` (after ``backward``) is a NumPy array of the same
    shape, filled only for leaves -- tensors created by the user, not by an operation.
    Unlike torch, the graph is kept after ``backward`` (no ``retain_graph`` needed).

    >>> a = Tensor([[1.0, 2.0]], requires_grad=True)   # (1, 2)
    >>> b = Tensor([[10.0], [20.0]])                    # (2, 1)
    >>> (a + b).shape                                   # broadcast to (2, 2)
    (2, 2)
    >>> (a + b).sum().backward(); a.grad                # summed back to (1, 2)
    array([[2., 2.]])
    """

    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__, not NumPy

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = np.asarray(data.data if isinstance(data, Tensor) else data, dtype=dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"only floating-point tensors can require grad, got {self.data.dtype}")
        self.requires_grad = requires_grad
        self.grad = None
        self._parents = ()
        self._backward = None  # None for leaves

    # ----------------------------------------------------------------- engine
    def backward(self, gradient=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` is dLoss/dself; it may be omitted only for one-element tensors.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            gradient = np.ones_like(self.data)
        gradient = gradient.data if isinstance(gradient, Tensor) else gradient
        grads = {id(self): np.asarray(gradient, dtype=self.data.dtype)}
        for node in reversed(self._topological_order()):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:  # a leaf: keep the gradient
                node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if pg is None or not parent.requires_grad:
                    continue
                pg = _unbroadcast(np.asarray(pg, dtype=parent.data.dtype), parent.data.shape)
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg

    def _topological_order(self):
        """Nodes ordered so every node comes after its parents (iterative DFS)."""
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))  # emit after all parents are emitted
            stack.extend((p, False) for p in node._parents if id(p) not in visited)
        return order

    # ------------------------------------------------------------ properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self):
        return self._backward is None

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, prefix='Tensor(')}{grad})"

    def numpy(self):
        """The underlying array (shared, like torch's ``.numpy()``)."""
        return self.data

    def item(self):
        return self.data.item()

    def detach(self):
        """Same data, cut from the graph."""
        return Tensor(self.data)

    def float(self):
        return self._cast(np.float32)

    def double(self):
        return self._cast(np.float64)

    def _cast(self, dtype):
        source = self.data.dtype
        return _result(self.data.astype(dtype), (self,), lambda g: (g.astype(source),))

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other):
        other = _lift(other, self)
        return _result(self.data + other.data, (self, other), lambda g: (g, g))

    def __sub__(self, other):
        other = _lift(other, self)
        return _result(self.data - other.data, (self, other), lambda g: (g, -g))

    def __mul__(self, other):
        other = _lift(other, self)
        a, b = self.data, other.data
        return _result(a * b, (self, other), lambda g: (g * b, g * a))

    def __truediv__(self, other):
        other = _lift(other, self)
        a, b = self.data, other.data
        return _result(a / b, (self, other), lambda g: (g / b, -g * a / (b * b)))

    def __neg__(self):
        return _result(-self.data, (self,), lambda g: (-g,))

    def __pow__(self, exponent):
        exponent = _lift(exponent, self)
        base, e = self.data, exponent.data
        out = base**e

        def backward(g):
            d_base = g * e * base ** (e - 1)  # d(b^e)/db = e b^(e-1)
            d_exp = g * out * np.log(base) if exponent.requires_grad else None  # b^e ln b
            return d_base, d_exp

        return _result(out, (self, exponent), backward)

    def __radd__(self, other):
        return _lift(other, self) + self

    def __rsub__(self, other):
        return _lift(other, self) - self

    def __rmul__(self, other):
        return _lift(other, self) * self

    def __rtruediv__(self, other):
        return _lift(other, self) / self

    def __rpow__(self, other):
        return _lift(other, self) ** self

    def __matmul__(self, other):
        other = _lift(other, self)
        a, b = self.data, other.data

        def backward(g):
            # Treat 1-D operands as a row (a) / column (b) so one formula covers all cases:
            # dA = g @ B^T, dB = A^T @ g; batch axes are summed by _unbroadcast.
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            g2 = np.expand_dims(g, -2) if a.ndim == 1 else g
            g2 = np.expand_dims(g2, -1) if b.ndim == 1 else g2
            da = g2 @ np.swapaxes(b2, -1, -2)
            db = np.swapaxes(a2, -1, -2) @ g2
            return (da.squeeze(-2) if a.ndim == 1 else da, db.squeeze(-1) if b.ndim == 1 else db)

        return _result(a @ b, (self, other), backward)

    def __rmatmul__(self, other):
        return _lift(other, self) @ self

    def __eq__(self, other):  # elementwise, no gradient (like torch)
        return Tensor(self.data == _raw(other))

    def __ne__(self, other):
        return Tensor(self.data != _raw(other))

    __hash__ = object.__hash__  # defining __eq__ would otherwise remove hashing

    def __bool__(self):  # one-element tensors only, as in torch (NumPy raises otherwise)
        return bool(self.data)

    # ------------------------------------------------------ elementwise math
    def exp(self):
        out = np.exp(self.data)
        return _result(out, (self,), lambda g: (g * out,))

    def log(self):
        x = self.data
        return _result(np.log(x), (self,), lambda g: (g / x,))

    def sqrt(self):
        out = np.sqrt(self.data)
        return _result(out, (self,), lambda g: (g / (2 * out),))

    def abs(self):
        x = self.data
        return _result(np.abs(x), (self,), lambda g: (g * np.sign(x),))

    def tanh(self):
        out = np.tanh(self.data)
        return _result(out, (self,), lambda g: (g * (1 - out * out),))

    def sigmoid(self):
        out = np.exp(-np.logaddexp(0, -self.data))  # 1/(1+e^-x) without overflow
        return _result(out, (self,), lambda g: (g * out * (1 - out),))

    def relu(self):
        mask = self.data > 0
        return _result(self.data * mask, (self,), lambda g: (g * mask,))

    def leaky_relu(self, negative_slope=0.01):
        slope = np.where(self.data > 0, 1.0, negative_slope).astype(self.data.dtype)
        return _result(self.data * slope, (self,), lambda g: (g * slope,))

    def softmax(self, dim):
        shifted = self.data - self.data.max(axis=dim, keepdims=True)  # exp can't overflow
        e = np.exp(shifted)
        s = e / e.sum(axis=dim, keepdims=True)
        # Jacobian-vector product: ds_i = s_i (g_i - sum_j g_j s_j)
        return _result(s, (self,), lambda g: (s * (g - (g * s).sum(axis=dim, keepdims=True)),))

    def log_softmax(self, dim):
        shifted = self.data - self.data.max(axis=dim, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))  # x - logsumexp
        # d(log s_i)/dx_j = delta_ij - s_j  =>  dx = g - s * sum(g)
        return _result(
            out, (self,), lambda g: (g - np.exp(out) * g.sum(axis=dim, keepdims=True),)
        )

    # ------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False):
        """Sum over ``dim`` (int, tuple or None = all), like NumPy's ``axis``."""
        shape = self.data.shape

        def backward(g):
            if dim is not None and not keepdim:
                g = np.expand_dims(g, dim)  # put the reduced axes back (size 1)
            return (np.broadcast_to(g, shape),)

        return _result(self.data.sum(axis=dim, keepdims=keepdim), (self,), backward)

    def mean(self, dim=None, keepdim=False):
        total = self.sum(dim, keepdim)
        return total * (total.data.size / self.data.size)  # divide by the count reduced

    def amax(self, dim=None, keepdim=False):
        """Max over ``dim``; ties share the gradient equally (torch.amax semantics)."""
        out = self.data.max(axis=dim, keepdims=True)
        mask = self.data == out
        count = mask.sum(axis=dim, keepdims=True)

        def backward(g):
            if dim is not None and not keepdim:
                g = np.expand_dims(g, dim)
            elif dim is None and not keepdim:
                g = np.reshape(g, (1,) * self.data.ndim)
            return (mask * g / count,)

        values = out if keepdim else (out.squeeze(axis=dim) if dim is not None else out.reshape(()))
        return _result(values, (self,), backward)

    def max(self, dim=None, keepdim=False):
        """``x.max()`` -> Tensor; ``x.max(dim)`` -> (values, indices), as in torch."""
        if dim is None:
            return self.amax()
        idx = np.expand_dims(np.argmax(self.data, axis=dim), dim)  # first maximum
        values = np.take_along_axis(self.data, idx, axis=dim)

        def backward(g):
            grad = np.zeros_like(self.data)
            np.put_along_axis(grad, idx, g if keepdim else np.expand_dims(g, dim), axis=dim)
            return (grad,)

        out = _result(values if keepdim else values.squeeze(dim), (self,), backward)
        return MaxResult(out, Tensor(idx if keepdim else idx.squeeze(dim)))

    def argmax(self, dim=None, keepdim=False):
        return Tensor(np.argmax(self.data, axis=dim, keepdims=keepdim))

    # ---------------------------------------------------------------- shapes
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        source = self.data.shape
        return _result(self.data.reshape(shape), (self,), lambda g: (g.reshape(source),))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.data.shape
        end = end_dim % len(shape) if shape else 0
        return self.reshape(shape[:start_dim] + (-1,) + shape[end + 1 :])

    def unsqueeze(self, dim):
        return self.reshape(np.expand_dims(self.data, dim).shape)

    def squeeze(self, dim=None):
        return self.reshape(np.squeeze(self.data, axis=dim).shape)

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        inverse = np.argsort(dims)
        return _result(self.data.transpose(dims), (self,), lambda g: (g.transpose(inverse),))

    def transpose(self, dim0, dim1):
        dims = list(range(self.data.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(dims)

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.data.ndim))))

    def __getitem__(self, index):
        index = _raw(index)
        shape, dtype = self.data.shape, self.data.dtype

        def backward(g):
            grad = np.zeros(shape, dtype=dtype)
            np.add.at(grad, index, g)  # repeated integer indices accumulate, as they should
            return (grad,)

        return _result(self.data[index], (self,), backward)


def cat(tensors, dim=0):
    """Concatenate along an existing axis (``torch.cat``).

    >>> cat([Tensor([1.0]), Tensor([2.0, 3.0])]).numpy()
    array([1., 2., 3.])
    """
    tensors = tuple(tensors)
    sizes = np.cumsum([t.data.shape[dim] for t in tensors])[:-1]
    out = np.concatenate([t.data for t in tensors], axis=dim)
    return _result(out, tensors, lambda g: np.split(g, sizes, axis=dim))


concatenate = cat


def stack(tensors, dim=0):
    """Stack along a new axis (``torch.stack``).

    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], dim=1).shape
    (2, 2)
    """
    tensors = tuple(tensors)
    out = np.stack([t.data for t in tensors], axis=dim)
    return _result(out, tensors, lambda g: [np.take(g, i, axis=dim) for i in range(len(tensors))])


def pad(x, pad, value=0.0):
    """Constant padding with torch's argument order: ``(left, right, top, bottom, ...)``
    pads the last axis first.

    >>> pad(Tensor([[1.0, 2.0]]), (1, 0)).numpy()
    array([[0., 1., 2.]])
    """
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
    out = np.pad(x.data, widths, constant_values=value)
    return _result(out, (x,), lambda g: (g[crop],))


def tensor(data, requires_grad=False, dtype=None):
    """``torch.tensor`` look-alike; floats default to float64 (NumPy's default)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, requires_grad=False, dtype=np.float64):
    return Tensor(np.zeros(shape, dtype=dtype), requires_grad=requires_grad)


def ones(*shape, requires_grad=False, dtype=np.float64):
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def randn(*shape, requires_grad=False, dtype=np.float64):
    """Standard-normal samples from scratch's global generator (see ``manual_seed``)."""
    data = default_generator().standard_normal(shape).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)
