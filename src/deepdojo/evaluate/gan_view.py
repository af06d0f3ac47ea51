"""What a GAN learned, measured after training with no download: Fréchet distance and class coverage.

The judge is a small CNN classifier trained on the run's own real training
images (a few epochs, a plain PyTorch loop) and cached under
``$DEEPDOJO_CACHE/gan_judge/<data fingerprint>.safetensors``, so every GAN run
on the same data is scored by the same judge and it is trained once. Its
penultimate features (64-d) give the Fréchet distance between generated and
real training images, beside the floor: the distance of the real validation
images to the same training images. Its predicted classes over N generated
samples give the class coverage (share of each class; a collapsed generator
covers few). Without class labels there is no judge and the view has only the
sample grid.

Example:
    >>> import torch
    >>> v = GANView(torch.rand(4, 1, 8, 8), fd=3.0, fd_floor=1.0, shares=[0.5, 0.5, 0.0], classes=["a", "b", "c"],
    ...             judge_accuracy=0.9, n=4)
    >>> s = v.summary()
    >>> s["coverage"], s["missing_classes"], s["fd_over_floor"]
    (0.6667, ['c'], 3.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepdojo.metrics.frechet import class_coverage, frechet_distance


def judge_net(channels: int, num_classes: int) -> nn.Sequential:
    """(B, C, H, W) -> logits (B, K); ``net[:-1]`` gives the 64-d features the Fréchet distance compares."""
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),  # (B, 32, H/2, W/2)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),  # (B, 64, H/2, W/2)
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 64): any image size
        nn.Linear(64, num_classes))


def judge_path(fingerprint: str, cache: Path | None = None) -> Path:
    from deepdojo.data.image_cache import default_cache_dir

    return Path(cache or default_cache_dir()) / "gan_judge" / f"{fingerprint}.safetensors"


def train_judge(data, epochs: int | None = None, seed: int = 0, cache: Path | None = None) -> nn.Sequential:
    """The real-data classifier for ``data`` (an image Data with classes): cached by its fingerprint, else trained.

    ``epochs=None``: enough for about 600 steps (digits: 27 epochs of 23 batches), at least 2, at most 30.
    """
    from safetensors.torch import load_file, save_file

    shape, k = tuple(data.input_shape), int(data.num_classes)
    fp = data.info.get("fingerprint")
    path = judge_path(f"{fp}-{k}-{'x'.join(map(str, shape))}", cache) if fp else None
    torch.manual_seed(seed)
    net = judge_net(shape[0], k)
    if path is not None and path.is_file():
        net.load_state_dict(load_file(str(path)))
        return net.eval()
    if epochs is None:
        epochs = min(30, max(2, -(-600 // max(len(data.train), 1))))
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    net.train()
    for _ in range(epochs):
        for xb, yb in data.train:
            loss = nn.functional.cross_entropy(net(xb.float().cpu()), yb.long().cpu())
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    if path is not None:  # atomic: a half-written judge would score later runs wrongly
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file({n: t.contiguous() for n, t in net.state_dict().items()}, str(tmp))
        tmp.replace(path)
    return net


def _judge_outputs(net: nn.Sequential, x: torch.Tensor, bs: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 64) and predicted classes (N,) for images x (N, C, H, W)."""
    feats, preds = [], []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            f = net[:-1](x[i:i + bs].float().cpu())
            feats.append(f.double().numpy())
            preds.append(net[-1](f).argmax(1).numpy())
    return np.concatenate(feats), np.concatenate(preds)


@dataclass
class GANView:
    samples: torch.Tensor  # (n_show, C, H, W) generated, in [0, 1] pixels
    fd: float | None = None  # generated vs real training features
    fd_floor: float | None = None  # real validation vs real training features
    shares: list[float] | None = None  # predicted share of each class among the generated samples
    classes: list[str] | None = None
    judge_accuracy: float | None = None  # the judge on real validation images
    n: int = 0  # generated samples scored
    kind = "gan"

    @classmethod
    def from_learner(cls, learn, n: int = 500, seed: int = 0, cache: Path | None = None) -> "GANView":
        """Sample ``n`` images under ``seed`` and score them with the data's judge (when the data has classes)."""
        data, model = learn.data, learn.model
        fake = model.sample(n, generator=torch.Generator().manual_seed(seed)).float().cpu()  # (n, C, H, W) normalized
        tf = data.info.get("transform") or {}
        c = fake.shape[1]
        mean = torch.tensor(tf.get("mean") or [0.0] * c).view(1, -1, 1, 1)
        std = torch.tensor(tf.get("std") or [1.0] * c).view(1, -1, 1, 1)
        show = (fake[:64] * std + mean).clamp(0, 1)
        k = int(data.num_classes or 0)
        if k < 2 or data.valid is None:
            return cls(show, n=n)
        net = train_judge(data, seed=seed, cache=cache)
        train_x = torch.cat([xb.cpu() for xb, _ in data.train])
        valid = [(xb.cpu(), yb.cpu()) for xb, yb in data.valid]
        valid_x, valid_y = torch.cat([v[0] for v in valid]), torch.cat([v[1] for v in valid])
        f_train, _ = _judge_outputs(net, train_x)
        f_valid, p_valid = _judge_outputs(net, valid_x)
        f_fake, p_fake = _judge_outputs(net, fake)
        cov = class_coverage(p_fake, k)
        return cls(show, fd=frechet_distance(f_fake, f_train), fd_floor=frechet_distance(f_valid, f_train),
                   shares=cov["shares"], classes=[str(x) for x in data.classes],
                   judge_accuracy=float((p_valid == valid_y.numpy()).mean()), n=n)

    def summary(self) -> dict[str, Any]:
        s: dict[str, Any] = {"kind": "gan", "n_samples": self.n, "frechet_distance": self.fd,
                             "frechet_floor": self.fd_floor}
        if self.fd is not None and self.fd_floor:
            s["fd_over_floor"] = round(self.fd / self.fd_floor, 4)
        if self.shares is not None:
            s["coverage"] = round(float(np.mean([x > 0 for x in self.shares])), 4)
            s["class_shares"] = dict(zip(self.classes, [round(x, 4) for x in self.shares]))
            s["missing_classes"] = [c for c, x in zip(self.classes, self.shares) if x == 0]
            s["judge_accuracy"] = self.judge_accuracy
        return s
