"""Layers with torch.nn's constructor arguments, parameter names and shapes.

Because names and shapes match, a ``state_dict`` moves between the engines:

>>> from deepdojo.scratch import manual_seed
>>> _ = manual_seed(0)
>>> model = Sequential(Linear(2, 8), ReLU(), Linear(8, 1))
>>> [(name, p.shape) for name, p in model.named_parameters()]
[('0.weight', (8, 2)), ('0.bias', (8,)), ('2.weight', (1, 8)), ('2.bias', (1,))]
>>> sorted(model.state_dict()) == ['0.bias', '0.weight', '2.bias', '2.weight']
True

With torch installed, ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in
model.state_dict().items()})`` goes one way and ``model.load_state_dict(torch_model.
state_dict())`` the other (NumPy converts CPU tensors itself).
"""

import math
from collections import OrderedDict

import numpy as np

from deepdojo.scratch import functional as F
from deepdojo.scratch._random import default_generator
from deepdojo.scratch.tensor import Tensor

functional = F  # so that nn.functional works, as in torch

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "Parameter",
    "RNNCell",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
]


class Parameter(Tensor):
    """A leaf tensor that a ``Module`` registers and optimisers update."""

    def __init__(self, data, requires_grad=True):
        data = data.data if isinstance(data, Tensor) else data
        super().__init__(np.array(data, copy=True), requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _uniform(shape, bound, dtype):
    """U(-bound, bound): torch's kaiming_uniform_(a=sqrt(5)) reduces to bound=1/sqrt(fan_in)."""
    return default_generator().uniform(-bound, bound, size=shape).astype(dtype)


class Module:
    """Base class. Assigning a ``Parameter`` or ``Module`` attribute registers it, so
    ``named_parameters`` / ``state_dict`` find it under that name."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())  # NumPy arrays in the state
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("call super().__init__() before assigning attributes")
        if isinstance(value, Parameter):
            home = self._parameters
        elif isinstance(value, Module):
            home = self._modules
        elif name in self._buffers:  # reassigning a buffer keeps it a buffer
            home = self._buffers
        else:
            home = None  # a plain attribute (or None, e.g. bias=False)
        for registry in (self._parameters, self._modules, self._buffers):
            if registry is not home:
                registry.pop(name, None)
        if home is not None:
            home[name] = value  # an existing key keeps its place: state_dict order is stable
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array):
        """A non-trained array saved in the ``state_dict`` (e.g. batch-norm statistics)."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ----------------------------------------------------------- traversal
    def children(self):
        return iter(self._modules.values())

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (module for _, module in self.named_modules())

    def named_parameters(self):
        for module_name, module in self.named_modules():
            for name, p in module._parameters.items():
                yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None  # torch's default set_to_none=True

    # ----------------------------------------------------------- state
    def state_dict(self):
        """Name -> NumPy array copy, in torch's order (per module: params, then buffers)."""
        state = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                state[prefix + name] = p.data.copy()
            for name, buf in module._buffers.items():
                state[prefix + name] = np.array(buf, copy=True)
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values in place; accepts NumPy arrays or anything ``np.asarray`` reads
        (including CPU torch tensors). Values are cast to the existing dtype."""
        own = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name in module._parameters:
                own[prefix + name] = (module, name, True)
            for name in module._buffers:
                own[prefix + name] = (module, name, False)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        for key, (module, name, is_param) in own.items():
            if key not in state_dict:
                continue
            target = module._parameters[name].data if is_param else module._buffers[name]
            value = np.asarray(state_dict[key])
            if value.shape != target.shape:
                raise ValueError(f"{key}: shape {value.shape} != expected {target.shape}")
            target[...] = value  # in place: optimisers keep pointing at the same arrays
        return missing, unexpected


class Linear(Module):
    """y = x W^T + b; weight (out_features, in_features), bias (out_features,).

    >>> Linear(3, 2)(Tensor(np.ones((4, 3)))).shape    # (N, in) -> (N, out)
    (4, 2)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float64):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(_uniform((out_features, in_features), bound, dtype))
        self.bias = Parameter(_uniform((out_features,), bound, dtype)) if bias else None

    def forward(self, x):  # (N, in) -> (N, out)
        return F.linear(x, self.weight, self.bias)


class Conv2d(Module):
    """weight (out_channels, in_channels, kh, kw), bias (out_channels,).

    >>> Conv2d(1, 8, 3, padding=1)(Tensor(np.zeros((2, 1, 28, 28)))).shape
    (2, 8, 28, 28)
    >>> Conv2d(1, 8, 3, stride=2)(Tensor(np.zeros((2, 1, 28, 28)))).shape
    (2, 8, 13, 13)
    """

    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
        dtype=np.float64,
    ):  # fmt: skip
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        self.stride, self.padding = stride, padding
        bound = 1.0 / math.sqrt(in_channels * kh * kw)  # fan_in = C * kh * kw
        self.weight = Parameter(_uniform((out_channels, in_channels, kh, kw), bound, dtype))
        self.bias = Parameter(_uniform((out_channels,), bound, dtype)) if bias else None

    def forward(self, x):  # (N, C, H, W) -> (N, O, OH, OW)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d. ``momentum=None`` means a cumulative average, as in torch.

    >>> bn = BatchNorm1d(2)
    >>> _ = bn(Tensor(np.array([[1.0, 10.0], [3.0, 30.0]])))    # a training step
    >>> bn.running_mean      # 0.9 * 0 + 0.1 * batch mean
    array([0.2, 2. ])
    >>> bn.running_var       # 0.9 * 1 + 0.1 * unbiased batch variance (2 and 200)
    array([ 1.1, 20.9])
    """

    def __init__(
        self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
        dtype=np.float64,
    ):  # fmt: skip
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.track_running_stats = track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        use_batch_stats = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1  # 0-d array, updated in place
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        tracked = self.track_running_stats  # without running stats: always batch stats
        return F.batch_norm(
            x,
            self.running_mean if tracked else None,
            self.running_var if tracked else None,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=momentum,
            eps=self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Input (N, C) or (N, C, L)."""


class BatchNorm2d(_BatchNorm):
    """Input (N, C, H, W)."""


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class ReLU(Module):
    def forward(self, x):
        return x.relu()


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Sigmoid(Module):
    def forward(self, x):
        return x.sigmoid()


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return x.leaky_relu(self.negative_slope)


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):  # (N, C, H, W) -> (N, C*H*W)
        return x.flatten(self.start_dim, self.end_dim)


class Sequential(Module):
    """Children are named "0", "1", ... so parameters are "0.weight", like torch."""

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def __getitem__(self, i):
        layers = list(self._modules.values())
        return Sequential(*layers[i]) if isinstance(i, slice) else layers[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x


class RNNCell(Module):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), torch's names and U(-1/sqrt(H), 1/sqrt(H))
    init. x: (N, input_size) or (input_size,); h: (N, hidden_size), zeros if omitted.

    >>> cell = RNNCell(3, 5)
    >>> h = None
    >>> for x in np.ones((4, 2, 3)):              # (T, N, input_size): unroll in time
    ...     h = cell(Tensor(x), h)
    >>> h.shape
    (2, 5)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=np.float64):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = Parameter(_uniform((hidden_size, input_size), bound, dtype))
        self.weight_hh = Parameter(_uniform((hidden_size, hidden_size), bound, dtype))
        self.bias_ih = Parameter(_uniform((hidden_size,), bound, dtype)) if bias else None
        self.bias_hh = Parameter(_uniform((hidden_size,), bound, dtype)) if bias else None

    def forward(self, x, hx=None):
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
            hx = hx.unsqueeze(0) if hx is not None else None
        if hx is None:
            hx = Tensor(np.zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
        pre = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(hx, self.weight_hh, self.bias_hh)
        h = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return h.squeeze(0) if unbatched else h


class Embedding(Module):
    """weight (num_embeddings, embedding_dim) ~ N(0, 1); the ``padding_idx`` row starts at
    zero and never receives gradient.

    >>> emb = Embedding(10, 4, padding_idx=0)
    >>> out = emb(np.array([[0, 3], [5, 0]]))     # (2, 2) indices -> (2, 2, 4)
    >>> out.shape, float(abs(out.data[0, 0]).sum())
    ((2, 2, 4), 0.0)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=np.float64):
        super().__init__()
        if padding_idx is not None and padding_idx < 0:
            padding_idx += num_embeddings  # torch normalises negative indices too
        self.padding_idx = padding_idx
        weight = default_generator().standard_normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0.0
        self.weight = Parameter(weight.astype(dtype))

    def forward(self, indices):  # integer (...) -> (..., embedding_dim)
        return F.embedding(indices, self.weight, self.padding_idx)
