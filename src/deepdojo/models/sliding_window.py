"""The sliding-window detector and its convolutional implementation (OverFeat, Sermanet et al. 2014).

A small classifier of ``window x window`` crops (:class:`WindowCNN`: valid
convolutions, max pooling, fully connected layers) is run over a larger
image in two ways that give the same score maps:

- :func:`crop_scores`: cut every crop at ``stride`` and classify each one
  (the naive sliding window: neighbouring crops overlap, so most of the
  convolution work is done again and again);
- :func:`to_fully_convolutional`: the fully connected layers become
  convolutions (the first one a ``h x w`` convolution over the last feature
  map, the rest ``1 x 1``) with the *same* weights, and one forward pass over
  the whole image computes every window at once, sharing the overlap.

Position ``(i, j)`` of the maps is the crop whose top-left corner is
``(i * stride, j * stride)``; ``stride`` is the product of the pooling
strides (:attr:`WindowCNN.stride`). Valid (unpadded) convolutions are what
make the two agree exactly: padding would show the crop's border zeros
that the whole image does not have.

Example:
    >>> import torch
    >>> torch.manual_seed(0) is not None
    True
    >>> clf = WindowCNN(num_classes=4, in_channels=3, window=14, width=8, hidden=32).eval()
    >>> clf(torch.zeros(5, 3, 14, 14)).shape  # a classifier of 14x14 crops
    torch.Size([5, 4])
    >>> image = torch.randn(1, 3, 28, 28)
    >>> conv = to_fully_convolutional(clf)
    >>> conv(image).shape  # one pass: an 8x8 map of windows at stride 2
    torch.Size([1, 4, 8, 8])
    >>> torch.allclose(conv(image), crop_scores(clf, image, logits=True), atol=1e-5)
    True
"""

from __future__ import annotations

import torch
from torch import nn

from deepdojo.errors import ConfigError
from deepdojo.models.layers import init_weights
from deepdojo.models.registry import register_model


class WindowCNN(nn.Module):
    """The curriculum's crop classifier: conv 5x5 -> ReLU -> max-pool 2 -> FC -> ReLU -> FC -> ReLU -> FC.

    ``features`` holds only valid convolutions and pooling (what slides);
    ``head`` the fully connected layers (what :func:`to_fully_convolutional`
    turns into convolutions). Inputs must be ``window x window``.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, window: int = 14, width: int = 16, hidden: int = 64):
        super().__init__()
        if window < 6 or (window - 4) % 2:
            raise ConfigError(f"window must be an even number >= 6, got {window}", where="window",
                              fix="use 14 (the curriculum's), 16, 20 ...")
        self.window, self.stride = window, 2
        self.features = nn.Sequential(nn.Conv2d(in_channels, width, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.feature_size = (window - 4) // 2  # the last feature map is feature_size x feature_size
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * self.feature_size ** 2, hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, window, window) -> (B, K)
        if x.shape[-2:] != (self.window, self.window):
            raise ConfigError(f"WindowCNN classifies {self.window}x{self.window} crops, got {tuple(x.shape[-2:])}",
                              where="input", fix="slide it with crop_scores() or to_fully_convolutional()")
        return self.head(self.features(x))


def to_fully_convolutional(model: WindowCNN) -> nn.Sequential:
    """The same network with its fully connected layers as convolutions, weights copied (not shared).

    ``(B, C, H, W) -> (B, K, (H - window) // stride + 1, (W - window) // stride + 1)`` raw scores.
    """
    layers: list[nn.Module] = [*model.features]
    side = model.feature_size
    first = True
    for m in model.head:
        if isinstance(m, nn.Flatten):
            continue
        if isinstance(m, nn.Linear):
            k = side if first else 1  # FC over a (C, s, s) map == an s x s convolution; later FCs == 1x1
            conv = nn.Conv2d(m.in_features // (k * k), m.out_features, k)
            with torch.no_grad():  # nn.Flatten orders (C, H, W): the weight rows reshape to (out, C, k, k)
                conv.weight.copy_(m.weight.reshape(conv.weight.shape))
                conv.bias.copy_(m.bias)
            layers.append(conv)
            first = False
        else:
            layers.append(type(m)() if isinstance(m, nn.ReLU) else m)
    conv_model = nn.Sequential(*layers)
    conv_model.window, conv_model.stride = model.window, model.stride
    return conv_model.train(model.training)


@torch.no_grad()
def crop_scores(model: WindowCNN, images: torch.Tensor, stride: int | None = None, logits: bool = False,
                batch: int = 4096) -> torch.Tensor:
    """Classify every ``window x window`` crop of ``images (B, C, H, W)`` at ``stride``: ``(B, K, nh, nw)`` maps.

    Class probabilities (softmax) unless ``logits``. ``stride`` defaults to the
    model's, where :func:`to_fully_convolutional` gives the same maps in one pass.
    """
    w, s = model.window, stride or model.stride
    b, c, h, wd = images.shape
    if h < w or wd < w:
        raise ConfigError(f"images of {h}x{wd} are smaller than the {w}x{w} window", where="images",
                          fix="pass larger images or a model with a smaller window")
    crops = images.unfold(2, w, s).unfold(3, w, s)  # (B, C, nh, nw, w, w)
    nh, nw = crops.shape[2:4]
    crops = crops.permute(0, 2, 3, 1, 4, 5).reshape(-1, c, w, w)  # (B * nh * nw, C, w, w): every crop, cut out
    out = torch.cat([model(crops[i:i + batch]) for i in range(0, len(crops), batch)])  # (B * nh * nw, K)
    out = out.reshape(b, nh, nw, -1).permute(0, 3, 1, 2)  # (B, K, nh, nw)
    return out if logits else out.softmax(1)


@torch.no_grad()
def conv_scores(model: WindowCNN | nn.Sequential, images: torch.Tensor, logits: bool = False) -> torch.Tensor:
    """The same maps as :func:`crop_scores` at the model's stride, from one fully convolutional pass."""
    conv = model if isinstance(model, nn.Sequential) else to_fully_convolutional(model)
    out = conv(images)  # (B, K, nh, nw)
    return out if logits else out.softmax(1)


@register_model("window_cnn", kind="image", example={"input_shape": (3, 14, 14), "kwargs": {"width": 4, "hidden": 16}})
def window_cnn(num_classes: int, in_channels: int = 3, window: int = 14, width: int = 16, hidden: int = 64) -> WindowCNN:
    return WindowCNN(num_classes, in_channels, window, width, hidden)


__all__ = ["WindowCNN", "conv_scores", "crop_scores", "to_fully_convolutional", "window_cnn"]
