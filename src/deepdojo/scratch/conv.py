"""Convolution by im2col (NumPy stride tricks), and pooling by kernel taps.

Convolution: ``sliding_window_view`` sees a padded (N, C, H, W) array as
(N, C, OH, OW, kh, kw) -- every receptive field, without copying. Copying that into an
"im2col" matrix with one row per output pixel and one column per (c, i, j) weight turns
the convolution into a single matrix product, which NumPy hands to BLAS. The backward
pass reuses the matrix for the weight gradient, and makes the reverse trip ("col2im")
for the input gradient: each window's gradient is added back onto the pixels it came
from.

Pooling and col2im both use *taps*: for kernel offset (i, j), ``_tap`` is the strided
(N, C, OH, OW) view of the pixel at offset (i, j) in every window. Looping over the
kh*kw offsets (4 for 2x2) costs a handful of whole-array operations, not a loop over
pixels.

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


def _out_size(size, kernel, stride):
    return (size - kernel) // stride + 1


def _tap(a, i, j, out_hw, stride):
    """(N, C, H, W) -> strided view (N, C, OH, OW): pixel (i, j) of every window."""
    (oh, ow), (sh, sw) = out_hw, stride
    return a[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]


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
    o, c, kh, kw = w.shape
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    windows = windows[:, :, :: stride[0], :: stride[1]]  # (N, C, OH, OW, kh, kw), a view
    n, _, oh, ow = windows.shape[:4]
    # im2col, the one big copy: (N*OH*OW, C*kh*kw), one row per output pixel.
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    w2 = w.reshape(o, c * kh * kw)  # (O, C*kh*kw), one row per filter
    out = cols @ w2.T  # (N*OH*OW, O)
    if bias is not None:
        out += bias.data
    out = out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)  # (N, O, OH, OW)

    def backward(g):  # g: (N, O, OH, OW)
        g2 = g.transpose(0, 2, 3, 1).reshape(n * oh * ow, o)  # (N*OH*OW, O)
        d_w = (g2.T @ cols).reshape(w.shape)  # sum over output pixels of g * input patch
        d_x = None
        if x.requires_grad:  # e.g. not for the image fed to the first layer
            d_cols = (g2 @ w2).reshape(n, oh, ow, c, kh, kw)  # gradient of every patch
            d_xp = np.zeros(xp.shape, dtype=d_cols.dtype)
            for i in range(kh):  # col2im: patch pixel (i, j) came from tap (i, j)
                for j in range(kw):
                    _tap(d_xp, i, j, (oh, ow), stride)[...] += (
                        d_cols[..., i, j].transpose(0, 3, 1, 2)
                    )
            d_x = _unpad_hw(d_xp, padding)
        return (d_x, d_w, g2.sum(axis=0)) if bias is not None else (d_x, d_w)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return _result(out, parents, backward)


def _pool_geometry(x, kernel_size, stride, padding):
    kernel = _pair(kernel_size)
    stride = _pair(stride if stride is not None else kernel_size)
    padding = _pair(padding)
    h, w = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    out_hw = (_out_size(h, kernel[0], stride[0]), _out_size(w, kernel[1], stride[1]))
    offsets = [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]  # row-major
    return stride, padding, out_hw, offsets


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling like ``torch.nn.functional.max_pool2d``; padding counts as -inf.

    The gradient goes to one maximum per window (the first, in row-major order).
    """
    stride, padding, out_hw, offsets = _pool_geometry(x, kernel_size, stride, padding)
    xp = _pad_hw(x.data, padding, value=-np.inf)
    out = _tap(xp, 0, 0, out_hw, stride).copy()  # running max, (N, C, OH, OW)
    winner = np.zeros(out.shape, dtype=np.intp)  # which offset holds it
    for k, (i, j) in enumerate(offsets[1:], start=1):
        candidate = _tap(xp, i, j, out_hw, stride)
        better = candidate > out  # strict: ties keep the earlier offset
        np.copyto(out, candidate, where=better)
        winner[better] = k

    def backward(g):
        d_xp = np.zeros(xp.shape, dtype=g.dtype)
        for k, (i, j) in enumerate(offsets):  # each window's g goes to its winner only
            _tap(d_xp, i, j, out_hw, stride)[...] += np.where(winner == k, g, 0)
        return (_unpad_hw(d_xp, padding),)

    return _result(out, (x,), backward)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling like ``torch.nn.functional.avg_pool2d`` (zero padding is counted,
    torch's default ``count_include_pad=True``)."""
    stride, padding, out_hw, offsets = _pool_geometry(x, kernel_size, stride, padding)
    xp = _pad_hw(x.data, padding)
    scale = 1.0 / len(offsets)
    out = sum(_tap(xp, i, j, out_hw, stride) for i, j in offsets) * scale

    def backward(g):
        d_xp = np.zeros(xp.shape, dtype=g.dtype)
        for i, j in offsets:  # every pixel of a window gets g / area
            _tap(d_xp, i, j, out_hw, stride)[...] += g * scale
        return (_unpad_hw(d_xp, padding),)

    return _result(out.astype(x.dtype, copy=False), (x,), backward)
