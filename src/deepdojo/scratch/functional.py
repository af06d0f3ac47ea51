"""Stateless functions, named and shaped like ``torch.nn.functional``.

Most are short compositions of ``Tensor`` operations, so their gradients come for free;
``embedding`` and ``dropout`` define their own backward next to the forward.

>>> from deepdojo.scratch.tensor import Tensor
>>> logits = Tensor([[2.0, 0.0, 0.0]], requires_grad=True)   # (N=1, C=3)
>>> loss = cross_entropy(logits, np.array([0]))
>>> round(loss.item(), 4)                                      # -log softmax(logits)[0]
0.2395
"""

import numpy as np

from deepdojo.scratch._random import default_generator
from deepdojo.scratch.conv import avg_pool2d, conv2d, max_pool2d
from deepdojo.scratch.tensor import Tensor, _result, pad

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "l2_penalty",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "pad",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


def relu(x):
    return x.relu()


def leaky_relu(x, negative_slope=0.01):
    return x.leaky_relu(negative_slope)


def tanh(x):
    return x.tanh()


def sigmoid(x):
    return x.sigmoid()


def softmax(x, dim):
    return x.softmax(dim)


def log_softmax(x, dim):
    return x.log_softmax(dim)


def linear(x, weight, bias=None):
    """y = x W^T + b with torch's layout: weight (out_features, in_features)."""
    y = x @ weight.T  # (N, in) @ (in, out) -> (N, out)
    return y + bias if bias is not None else y


def dropout(x, p=0.5, training=True, generator=None):
    """Inverted dropout: zero each element with probability ``p``, scale survivors by
    1/(1-p) so the expected activation is unchanged and eval mode needs no rescaling."""
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    rng = generator if generator is not None else default_generator()
    mask = (rng.random(x.shape) >= p).astype(x.dtype) / (1.0 - p)  # 0 or 1/(1-p)
    return _result(x.data * mask, (x,), lambda g: (g * mask,))


def batch_norm(
    x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5
):
    """Batch normalisation over every axis except the channel axis 1.

    x: (N, C) or (N, C, L) or (N, C, H, W). ``running_mean``/``running_var`` are NumPy
    arrays (C,), updated in place when training, exactly like torch: the batch variance
    used to normalise is biased (divide by n), the one folded into ``running_var`` is
    unbiased (divide by n-1); ``running = (1 - momentum) * running + momentum * batch``.
    """
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcast (C,) against x
    if training or running_mean is None:
        mean = x.mean(dim=axes, keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dim=axes, keepdim=True)  # biased
        if training and running_mean is not None:
            n = x.data.size // x.shape[1]
            unbiased = var.data.reshape(-1) * n / max(n - 1, 1)
            running_mean *= 1 - momentum
            running_mean += momentum * mean.data.reshape(-1)
            running_var *= 1 - momentum
            running_var += momentum * unbiased
        out = centred / (var + eps).sqrt()
    else:
        out = (x - running_mean.reshape(shape)) / np.sqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def embedding(indices, weight, padding_idx=None):
    """Look up rows of ``weight`` (num_embeddings, dim) -> indices.shape + (dim,).

    The row at ``padding_idx`` receives no gradient (torch's behaviour).
    """
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)

    def backward(g):
        grad = np.zeros_like(weight.data)
        np.add.at(grad, idx, g)  # a row used k times gets k contributions
        if padding_idx is not None:
            grad[padding_idx] = 0
        return (grad,)

    return _result(weight.data[idx], (weight,), backward)


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def mse_loss(input, target, reduction="mean"):
    diff = input - target
    return _reduce(diff * diff, reduction)


def cross_entropy(input, target, reduction="mean"):
    """Softmax cross-entropy from logits ``input`` (N, C) and class indices ``target`` (N,).

    ``target`` may be an integer ``Tensor`` or NumPy array. Computed as
    -log_softmax(input)[n, target[n]], and log_softmax subtracts the log-sum-exp, so large
    logits cannot overflow.
    """
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"cross_entropy expects integer class targets, got {labels.dtype}")
    log_p = input.log_softmax(dim=1)  # (N, C)
    picked = log_p[np.arange(labels.shape[0]), labels]  # (N,)
    return _reduce(-picked, reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """BCE on logits x with targets y in [0, 1], in the stable form
    max(x, 0) - x*y + log(1 + exp(-|x|))   (never exponentiates a large positive)."""
    y = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    loss = input.relu() - input * y + (1.0 + (-input.abs()).exp()).log()
    return _reduce(loss, reduction)


def l2_penalty(parameters, weight):
    """``weight * sum(p**2)`` over all parameters: an explicit weight-decay term to add
    to a loss (its gradient, 2*weight*p, is what SGD's ``weight_decay=2*weight`` adds)."""
    total = None
    for p in parameters:
        term = (p * p).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l2_penalty got no parameters")
    return total * weight
