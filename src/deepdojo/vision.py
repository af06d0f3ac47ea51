"""Image classification in three lines (four with the report).

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:digits", arch="cnn", out=tempfile.mkdtemp(), progress=False)
    >>> _ = learn.fit_one_cycle(1, 3e-3)
    >>> learn.history[-1]["accuracy"] > 0.5
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from deepdojo.config import TrainConfig
from deepdojo.data.core import Data
from deepdojo.data.images import ImageFolder
from deepdojo.data.load import load_data
from deepdojo.metrics.detection import batched_nms
from deepdojo.models.sliding_window import WindowCNN, conv_scores, crop_scores, to_fully_convolutional
from deepdojo.run import build
from deepdojo.train.learner import Learner

__all__ = ["ImageFolder", "WindowCNN", "classifier", "load_data", "sliding_window", "to_fully_convolutional",
           "window_detections"]


def classifier(
    source: str | Path | Data | ImageFolder,
    arch: str = "auto",
    metrics: Iterable[str] | None = None,
    *,
    config: TrainConfig | None = None,
    out: str | Path | None = "runs",
    name: str | None = None,
    progress: bool | None = None,
    callbacks: Iterable = (),
    **overrides: Any,
) -> Learner:
    """A :class:`Learner` for the data at ``source`` with a registered ``arch``.

    Settings come from ``config`` (a :class:`TrainConfig`) with ``overrides``
    on top (``size=``, ``seed=``, ``batch_size=``, ``opt=``, ``task=`` ...). The run
    folder is ``out/name`` (``out=None``: no run folder); with ``resume=True`` in the config and
    no name, the newest run folder under ``out`` is reused. After training,
    ``learn.finish()`` writes the evaluation and the report, as ``deepdojo train`` does.
    """
    cfg = config or TrainConfig()
    if arch != "auto":
        overrides["arch"] = arch
    return build(source, cfg, metrics=metrics, out=out, name=name, progress=progress, callbacks=callbacks,
                 **overrides)


def sliding_window(model: WindowCNN, images, method: str = "conv", stride: int | None = None):
    """Class probabilities of every ``window x window`` crop of ``images (B, C, H, W)``: ``(B, K, nh, nw)``.

    ``method="conv"``: one pass of the model with its fully connected layers
    turned into convolutions (weights copied); ``"crops"``: every crop cut out
    and classified, the naive sliding window (any ``stride``). Both give the
    same maps at the model's stride; the first shares the overlapping work.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> clf = WindowCNN(num_classes=2, in_channels=1, window=14, width=4, hidden=8).eval()
    >>> x = torch.randn(1, 1, 30, 30)
    >>> sliding_window(clf, x).shape  # (30 - 14) / 2 + 1 = 9 windows a side, at stride 2
    torch.Size([1, 2, 9, 9])
    >>> torch.allclose(sliding_window(clf, x), sliding_window(clf, x, method="crops"), atol=1e-6)
    True
    """
    from deepdojo.errors import ConfigError

    if method == "conv":
        if stride not in (None, model.stride):
            raise ConfigError(f"the convolutional form slides at the model's stride ({model.stride}), not {stride}",
                              where="stride", fix="leave stride unset, or use method='crops'")
        return conv_scores(model.eval(), images)
    if method == "crops":
        return crop_scores(model.eval(), images, stride=stride)
    raise ConfigError(f"unknown method {method!r}", where="method", fix="use 'conv' or 'crops'")


def window_detections(scores, window: int, stride: int, threshold: float = 0.5, iou_threshold: float = 0.3,
                      background: int | None = 0) -> list[dict]:
    """Score maps ``(B, K, nh, nw)`` -> one ``{"boxes", "scores", "labels"}`` per image (per-class NMS).

    Map position ``(i, j)`` is the box ``[j * stride, i * stride, j * stride + window, i * stride + window]``;
    a window is kept when its best class other than ``background`` scores above ``threshold``.

    >>> import torch
    >>> s = torch.zeros(1, 2, 3, 3); s[:, 0] = 1.0  # class 0: background everywhere ...
    >>> s[0, :, 1, 2] = torch.tensor([0.1, 0.9])  # ... but a class-1 window at row 1, column 2
    >>> window_detections(s, window=14, stride=2)[0]["boxes"].tolist()
    [[4.0, 2.0, 18.0, 16.0]]
    """
    import torch

    b, k, nh, nw = scores.shape
    keep_classes = [c for c in range(k) if c != background]
    gy, gx = torch.meshgrid(torch.arange(nh), torch.arange(nw), indexing="ij")
    corners = torch.stack([gx, gy, gx, gy], -1).reshape(-1, 4).float() * stride  # (nh * nw, 4)
    corners[:, 2:] += window
    found = []
    for s in scores:
        best, label = s[keep_classes].reshape(len(keep_classes), -1).max(0)  # (nh * nw,)
        label = torch.tensor(keep_classes, device=s.device)[label]
        on = best > threshold
        boxes, sc, lb = corners.to(s.device)[on], best[on], label[on]
        kept = batched_nms(boxes, sc, lb, iou_threshold)
        found.append({"boxes": boxes[kept], "scores": sc[kept], "labels": lb[kept]})
    return found
