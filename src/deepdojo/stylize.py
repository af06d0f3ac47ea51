"""``deepdojo.stylize``: paint a content image in the style of another (Gatys et al.), on your own features.

Which network's features (``features=``):

- ``"auto"`` (default): the zoo's VGG-16 with ImageNet weights when the
  weights file is already in deepdojo's cache (``--pretrained imagenet`` put
  it there, or you copied it in), else the random-feature fallback;
- ``"vgg16-imagenet"``: that file, required (never downloaded here: the error
  names where to put it);
- a ``.safetensors`` file of torchvision/timm VGG/ResNet/AlexNet weights (the
  zoo's model loads it; VGG gets Gatys' layers, others their conv layers);
- a deepdojo run folder: the conv layers of the CNN it trained, with its own
  input normalization (a greyscale model reads the image's luminance, so the
  colours follow the content image);
- ``"random-vgg16"``: VGG-16 with seeded random weights. It transfers colour
  and texture statistics surprisingly well but knows no objects, so the
  content is kept as edges and colour layout, not as recognisable things; the
  result's ``note`` says so in one line.

Both images are decoded before anything is computed; nothing is written
unless the whole run succeeds. Next to ``out`` go ``<stem>.compare.png``
(content, style and result side by side), ``<stem>.losses.png`` (each term
per loss evaluation, log scale) and ``<stem>.losses.json`` (the same numbers
and the settings).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> d = Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (24, 24), (200, 40, 40)).save(d / "content.png")
    >>> Image.effect_noise((24, 24), 60).convert("RGB").save(d / "style.png")
    >>> r = stylize(d / "content.png", d / "style.png", out=d / "result.png", steps=3, size=24,
    ...             features="random-vgg16", width_mult=0.125)
    >>> r.image.shape, sorted(p.name for p in d.glob("result*"))
    (torch.Size([3, 24, 24]), ['result.compare.png', 'result.losses.json', 'result.losses.png', 'result.png'])
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from deepdojo.errors import ConfigError, DataError
from deepdojo.io import atomic_write_bytes, write_json
from deepdojo.models.foreign_weights import IMAGENET_MEAN, IMAGENET_STD
from deepdojo.models.style_features import FeatureTap, conv_layers, random_vgg, vgg_layers
from deepdojo.models.vgg import VGG
from deepdojo.tasks.style_transfer import OPTIMIZERS, StyleObjective, StyleWeights, optimize_image

RANDOM_NOTE = ("features: random-weight VGG-16 (no pretrained weights found): colour and texture transfer, "
               "but the content keeps only edges and layout, not objects; for ImageNet features put the "
               "vgg16 weights file in {path} or pass --features FILE.safetensors")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class Features:
    """A network to read features from, its layers, and the normalization it expects."""

    net: nn.Module
    content_layer: str
    style_layers: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str  # said in the output: what was used
    note: str | None = None  # a limit of these features, in one line
    in_channels: int = 3

    def normalize(self, img: torch.Tensor) -> torch.Tensor:  # (1, 3, H, W) in [0, 1] -> network input
        if self.in_channels == 1:  # a greyscale model reads luminance (ITU-R 601 weights)
            img = (img * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        mean = torch.tensor(self.mean, dtype=img.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=img.dtype).view(1, -1, 1, 1)
        return (img - mean) / std


@dataclass
class StyleResult:
    """What :func:`stylize` made: the image ``(3, H, W)`` in [0, 1], every loss evaluation, the files written."""

    image: torch.Tensor
    history: list[dict]
    features: str
    note: str | None = None
    files: dict[str, str] = field(default_factory=dict)

    def final(self) -> dict[str, float]:
        """The weighted loss terms of the last evaluation."""
        return {k: self.history[-1][k] for k in ("content", "style", "tv", "total")}


# ----------------------------------------------------------------------------- features


def cached_vgg16_file(cache_dir: str | Path | None = None) -> Path:
    """Where ``--pretrained imagenet`` keeps the VGG-16 weights (the file may not be there)."""
    from deepdojo.train.pretrained import IMAGENET, weights_dir

    return weights_dir(cache_dir) / IMAGENET["vgg16"].source.replace("/", "--") / "model.safetensors"


def _weights_features(path: Path, source: str, sha256: str | None = None) -> Features:
    from deepdojo.models import create_model
    from deepdojo.models.foreign_weights import guess_arch, load_foreign
    from deepdojo.train.pretrained import read_weights

    tensors = read_weights(path, sha256)
    arch = guess_arch(tensors)
    if arch is None:
        raise ConfigError("not a VGG/ResNet/AlexNet weights file deepdojo can map", where=str(path),
                          fix="pass torchvision's or timm's vgg16 safetensors, or a deepdojo run folder")
    net = create_model(arch, 1000)
    load_foreign(net, arch, tensors, keep_head=False, where=str(path))
    content, style = vgg_layers(net) if isinstance(net, VGG) else conv_layers(net)
    return Features(net, content, style, IMAGENET_MEAN, IMAGENET_STD, f"{arch} ImageNet weights ({path})")


def _run_features(run_dir: Path) -> Features:
    from deepdojo.evaluate.run_eval import run_checkpoint
    from deepdojo.train.checkpoint import model_from_checkpoint

    model, meta = model_from_checkpoint(run_checkpoint(run_dir))
    shape = meta.get("input_shape") or []
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ConfigError(f"the run's model takes inputs of shape {tuple(shape)}, not images", where=str(run_dir),
                          fix="use a run trained on an image folder (1 or 3 channels)")
    c = int(shape[0])
    content, style = conv_layers(model, in_channels=c, size=int(shape[1]))  # traced at the size it was trained on
    tf = meta.get("transform") or {}
    mean = tuple(tf.get("mean") or [0.0] * c)
    std = tuple(tf.get("std") or [1.0] * c)
    return Features(model, content, style, mean, std, f"the CNN of run {run_dir} ({meta.get('arch')})",
                    in_channels=c)


def resolve_features(spec: str | Path = "auto", seed: int = 0, width_mult: float = 1.0,
                     cache_dir: str | Path | None = None) -> Features:
    """The :class:`Features` ``spec`` names (see the module docstring); nothing is downloaded.

    Example:
        >>> f = resolve_features("random-vgg16", width_mult=0.125)
        >>> f.source, f.content_layer, f.note.split(":")[0]
        ('random-weight VGG-16 (seed 0)', 'features.3.3', 'features')
    """
    spec = str(spec)
    cached = cached_vgg16_file(cache_dir)
    if spec == "vgg16-imagenet" or (spec == "auto" and cached.is_file()):
        if not cached.is_file():
            from deepdojo.train.pretrained import IMAGENET

            raise ConfigError("the VGG-16 ImageNet weights file is not in the cache (stylize never downloads)",
                              where=str(cached), fix=f"put {IMAGENET['vgg16'].url} there (or run a training with "
                                                     "--pretrained imagenet --arch vgg16 once), or pass "
                                                     "--features FILE.safetensors / RUN_DIR / random-vgg16")
        from deepdojo.train.pretrained import IMAGENET

        return _weights_features(cached, "vgg16-imagenet", IMAGENET["vgg16"].sha256)
    if spec in ("auto", "random-vgg16"):
        net = random_vgg(seed=seed, width_mult=width_mult)
        content, style = vgg_layers(net)
        return Features(net, content, style, IMAGENET_MEAN, IMAGENET_STD, f"random-weight VGG-16 (seed {seed})",
                        note=RANDOM_NOTE.format(path=cached))
    path = Path(spec)
    if path.is_dir():
        return _run_features(path)
    if path.suffix == ".safetensors":
        return _weights_features(path, spec)
    raise ConfigError(f"unknown features {spec!r}", where="features",
                      fix="use auto, vgg16-imagenet, random-vgg16, a weights FILE.safetensors or a RUN_DIR")


# ----------------------------------------------------------------------------- images


def load_image(path: str | Path, size: int | None) -> torch.Tensor:
    """An image file -> ``(1, 3, H, W)`` float in [0, 1], its longer side scaled to ``size`` (None: as is)."""
    from PIL import Image

    from deepdojo.data.images import decode_image

    if not Path(path).is_file():
        raise DataError("image file not found", where=str(path), fix="check the path")
    a = decode_image(path, mode="RGB")  # (H, W, 3) uint8; a file that fails to decode: DataError naming it
    if size:
        h, w = a.shape[:2]
        scale = size / max(h, w)
        a = np.asarray(Image.fromarray(a).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                 Image.BICUBIC))
    return torch.from_numpy(np.array(a)).permute(2, 0, 1).float().div(255).unsqueeze(0)


def png_bytes(img: torch.Tensor, suffix: str = ".png") -> bytes:
    """``(3, H, W)`` in [0, 1] -> encoded image bytes (PNG, or JPEG for .jpg/.jpeg)."""
    from PIL import Image

    a = (img.detach().clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG" if suffix.lower() in (".jpg", ".jpeg") else "PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------- the whole thing


def stylize(content: str | Path, style: str | Path, out: str | Path | None = None, *, features: str | Path = "auto",
            steps: int = 300, optimizer: str = "lbfgs", size: int | None = 256, content_weight: float = 1.0,
            style_weight: float = 1e6, tv_weight: float = 1e-2, lr: float | None = None, init: str = "content",
            seed: int = 0, width_mult: float = 1.0, log: Callable[[dict], None] | None = None) -> StyleResult:
    """``content`` painted in ``style``'s manner; written to ``out`` (with the comparison and loss curves) if given.

    ``size``: the longer side both images are scaled to (VGG on a CPU: 256 takes ~1 s a step).
    ``init``: start from the content image (faster, keeps more content) or from ``"noise"``.
    ``width_mult`` narrows the random-feature fallback (tests, quick looks). See the module docstring.
    """
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {optimizer!r}", where="optimizer", fix=f"use one of {', '.join(OPTIMIZERS)}")
    if init not in ("content", "noise"):
        raise ConfigError(f"unknown init {init!r}", where="init", fix="use content or noise")
    if size is not None and size < 16:
        raise ConfigError(f"size {size} is too small for a CNN's pooling stages", where="size", fix="use 64 or more")
    weights = StyleWeights(content_weight, style_weight, tv_weight)
    if out is not None and Path(out).suffix.lower() not in IMAGE_SUFFIXES:
        raise ConfigError(f"cannot tell the image format of {Path(out).name!r}", where=str(out),
                          fix="end the output name with .png or .jpg")
    content_img = load_image(content, size)  # both decoded before any work, so a bad file costs nothing
    style_img = load_image(style, size)
    feats = resolve_features(features, seed=seed, width_mult=width_mult)
    tap = FeatureTap(feats.net, [feats.content_layer, *feats.style_layers])
    objective = StyleObjective(tap, feats.content_layer, feats.style_layers, content_img, style_img,
                               normalize=feats.normalize, weights=weights)
    gen = torch.Generator().manual_seed(seed)
    start = content_img if init == "content" else torch.rand(content_img.shape, generator=gen)
    img, history = optimize_image(objective, start, steps=steps, optimizer=optimizer, lr=lr, log=log)
    result = StyleResult(img[0], history, feats.source, feats.note)
    if out is not None:
        settings = {"content": str(content), "style": str(style), "features": feats.source, "note": feats.note,
                    "steps": steps, "optimizer": optimizer, "size": size, "init": init, "seed": seed, "lr": lr,
                    "weights": {"content": content_weight, "style": style_weight, "tv": tv_weight},
                    "content_layer": feats.content_layer, "style_layers": feats.style_layers}
        result.files = write_outputs(Path(out), content_img[0], style_img[0], result, settings)
    return result


def write_outputs(out: Path, content: torch.Tensor, style: torch.Tensor, result: StyleResult,
                  settings: dict[str, Any]) -> dict[str, str]:
    """The result image, the side-by-side comparison, the loss curves and their numbers (each written atomically)."""
    from deepdojo.report.style_figures import comparison_png, style_losses_png

    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    files = {"result": out, "compare": Path(f"{stem}.compare.png"), "losses_png": Path(f"{stem}.losses.png"),
             "losses_json": Path(f"{stem}.losses.json")}
    figures = {"compare": comparison_png(content, style, result.image, result.features),
               "losses_png": style_losses_png(result.history, settings["optimizer"])}
    atomic_write_bytes(files["result"], png_bytes(result.image, out.suffix))
    for key, png in figures.items():
        atomic_write_bytes(files[key], png)
    write_json(files["losses_json"], {**settings, "final": result.final(), "history": result.history})
    return {k: str(v) for k, v in files.items()}
