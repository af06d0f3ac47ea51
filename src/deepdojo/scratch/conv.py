"""Convolution and pooling by im2col, using NumPy stride tricks.

``_windows`` views a padded (N, C, H, W) array as (N, C, OH, OW, kh, kw) -- every
receptive field, without copying. A convolution is then one tensor contraction of those
windows with the (O, C, kh, kw) kernel, which NumPy hands to BLAS as a matrix product.
The backward pass is the reverse trip ("col2im"): each window's gradient is added back
onto the pixels it came from, looping over the kh*kw kernel offsets (9 for 3x3), not
over pixels.

>>> from deepdojo.scratch.tensor import Tensor
>>> x = Tensor(np.ones((1, 1, 4, 4)))
>>> w = Tensor(np.ones((2, 1, 3, 3)))
>>> conv2d(x, w, padding=1).shape    # same-size output with padding=1
(1, 2, 4, 4)
>>> max_pool2d(x, 2).shape
(1, 1, 2, 2)
"""

import numpy as np

from deepdojo.scratch.tensor import _result


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _windows(x, kernel, stride):
    """(N, C, H, W) -> view (N, C, OH, OW, kh, kw) of every kernel-sized window."""
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]]


def _fold(cols, padded_shape, stride):
    """col2im: add window gradients (N, C, OH, OW, kh, kw) back onto a padded image."""
    grad = np.zeros(padded_shape, dtype=cols.dtype)
    _, _, oh, ow, kh, kw = cols.shape
    for i in range(kh):
        for j in range(kw):
            # Kernel offset (i, j) touched pixels i, i+s, ..., i+s*(OH-1) (and same for j).
            grad[:, :, i : i + stride[0] * oh : stride[0], j : j + stride[1] * ow : stride[1]] += (
                cols[:, :, :, :, i, j]
            )
    return grad


def _pad_hw(x, padding, value=0.0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _unpad_hw(grad, padding):
    ph, pw = padding
    return grad[:, :, ph : grad.shape[2] - ph, pw : grad.shape[3] - pw]


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation like ``torch.nn.functional.conv2d`` (no dilation/groups).

    x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) -> (N, O, OH, OW)
    with OH = (H + 2*ph - kh) // sh + 1.
    """
    stride, padding = _pair(stride), _pair(padding)
    xp = _pad_hw(x.data, padding)  # (N, C, H+2ph, W+2pw)
    w = weight.data
    cols = _windows(xp, w.shape[2:], stride)  # (N, C, OH, OW, kh, kw)
    # Contract over (C, kh, kw): (N, OH, OW, O) -> (N, O, OH, OW)
    out = np.tensordot(cols, w, axes=((1, 4, 5), (1, 2, 3))).transpose(0, 3, 1, 2)
    parents = (x, weight)
    if bias is not None:
        out = out + bias.data[:, None, None]
        parents = (x, weight, bias)

    def backward(g):  # g: (N, O, OH, OW)
        d_w = np.tensordot(g, cols, axes=((0, 2, 3), (0, 2, 3)))  # (O, C, kh, kw)
        d_cols = np.tensordot(g, w, axes=((1,), (0,)))  # (N, OH, OW, C, kh, kw)
        d_x = _unpad_hw(_fold(d_cols.transpose(0, 3, 1, 2, 4, 5), xp.shape, stride), padding)
        return (d_x, d_w, g.sum(axis=(0, 2, 3))) if bias is not None else (d_x, d_w)

    return _result(np.ascontiguousarray(out), parents, backward)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling like ``torch.nn.functional.max_pool2d``; padding counts as -inf.

    The gradient goes to one maximum per window (the first, in row-major order).
    """
    kernel = _pair(kernel_size)
    stride = _pair(stride if stride is not None else kernel_size)
    padding = _pair(padding)
    xp = _pad_hw(x.data, padding, value=-np.inf)
    cols = _windows(xp, kernel, stride)  # (N, C, OH, OW, kh, kw)
    flat = cols.reshape(cols.shape[:4] + (-1,))  # (N, C, OH, OW, kh*kw), a copy
    arg = flat.argmax(axis=-1)  # (N, C, OH, OW): which kernel offset won
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def backward(g):
        # Route g to the winning offset: one-hot over the kh*kw positions, then fold.
        d_cols = (np.arange(flat.shape[-1]) == arg[..., None]) * g[..., None]
        d_cols = d_cols.reshape(cols.shape).astype(g.dtype)
        return (_unpad_hw(_fold(d_cols, xp.shape, stride), padding),)

    return _result(out, (x,), backward)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling like ``torch.nn.functional.avg_pool2d`` (zero padding is counted,
    torch's default ``count_include_pad=True``)."""
    kernel = _pair(kernel_size)
    stride = _pair(stride if stride is not None else kernel_size)
    padding = _pair(padding)
    xp = _pad_hw(x.data, padding)
    cols = _windows(xp, kernel, stride)
    area = kernel[0] * kernel[1]
    out = cols.mean(axis=(4, 5))  # (N, C, OH, OW)

    def backward(g):
        # Every pixel of a window gets g / area.
        d_cols = np.broadcast_to((g / area)[..., None, None], cols.shape)
        return (_unpad_hw(_fold(d_cols, xp.shape, stride), padding),)

    return _result(out, (x,), backward)
