"""ImageNet weights for the zoo's own ResNet-18/34/50, VGG-16 and AlexNet, without torchvision or timm.

``pretrained="imagenet"`` (CLI: ``--pretrained imagenet``) fetches the
safetensors file timm publishes on the Hugging Face hub for that
architecture (torchvision's own ImageNet weights, re-saved as safetensors:
``timm/<arch>.tv_in1k``), checks its pinned SHA-256, keeps it in
``$DEEPDOJO_CACHE/weights/`` and maps its keys onto the zoo's model
(:mod:`deepdojo.models.foreign_weights`). ``pretrained="path/to/x.safetensors"``
loads a torchvision- or timm-layout file you already have, the same way:
an offline team copies the file in. Nothing is ever unpickled.

Weights whose SHA-256 is not pinned here are not downloaded: a file checked
against nothing could be anything. The error names the URL; download it,
check it yourself, and pass the file.

The data is then normalized with ImageNet's channel statistics (what the
weights were trained on), which the checkpoint records, so ``predict`` and
``evaluate`` preprocess the same way.

Example:
    >>> sorted(IMAGENET)
    ['alexnet', 'resnet18', 'resnet34', 'resnet50', 'vgg16']
    >>> IMAGENET["resnet18"].source
    'timm/resnet18.tv_in1k'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from deepdojo.data.image_cache import default_cache_dir
from deepdojo.data.remote import fetch
from deepdojo.errors import CheckpointError, ConfigError
from deepdojo.models.foreign_weights import IMAGENET_MEAN, IMAGENET_STD, guess_arch, load_foreign

_HUB = "https://huggingface.co/{repo}/resolve/{revision}/model.safetensors"


@dataclass(frozen=True)
class PublishedWeights:
    """One published weights file: the hub repo, the revision the URL pins, its SHA-256 (None: not known here)."""

    source: str  # Hugging Face repo, e.g. "timm/resnet18.tv_in1k"
    sha256: str | None
    revision: str = "main"
    about: str = ""
    url_override: str | None = None  # tests point this at a local server

    @property
    def url(self) -> str:
        return self.url_override or _HUB.format(repo=self.source, revision=self.revision)


# SHA-256s are the Git LFS object ids the Hugging Face hub shows for each model.safetensors
# (the file's own SHA-256). resnet34.tv_in1k's was not found offline when this was written:
# it is listed without one, so it is refused for download (pass the file instead).
IMAGENET: dict[str, PublishedWeights | None] = {
    "resnet18": PublishedWeights("timm/resnet18.tv_in1k",
                                 "694f673df6520a3158624e8a89af086f59923ee4cd7436fe5bc3bc71d295ad81",
                                 revision="a987fd6b60f845221bfff84b6f0191273ba56ead",
                                 about="torchvision IMAGENET1K_V1, 69.8% top-1, 46.8 MB"),
    "resnet34": PublishedWeights("timm/resnet34.tv_in1k", None, about="torchvision IMAGENET1K_V1, 73.3% top-1, 87.3 MB"),
    "resnet50": PublishedWeights("timm/resnet50.tv_in1k",
                                 "5d061a3c593d795bfe682d9b152bafbcf550579873492def3515b46db1189888",
                                 revision="aa6c2d36d56bc0209040c02b5a7b7d7bf11d57b8",
                                 about="torchvision IMAGENET1K_V1, 76.1% top-1, 102 MB"),
    "vgg16": PublishedWeights("timm/vgg16.tv_in1k",
                              "57b026918159a6bf9faf8405c3a551903768e7138989d9c6224a14227203fad8",
                              about="torchvision IMAGENET1K_V1, 71.6% top-1, 553 MB"),
    "alexnet": None,  # torchvision publishes AlexNet only as a pickle (.pth); timm has no AlexNet
}
DEFAULT_ARCH = "resnet18"  # arch="auto" with ImageNet weights: small and quick to fine-tune on a CPU
DEFAULT_SIZE = 224  # the resolution the weights were trained at, unless the user sets --size


def is_weights_file(spec: str | None) -> bool:
    """A ``.safetensors`` path that is not a deepdojo checkpoint (no deepdojo metadata in its header)."""
    if not spec or not spec.endswith(".safetensors"):
        return False
    from deepdojo.train.checkpoint import is_deepdojo_weights

    return not is_deepdojo_weights(spec)


def uses_imagenet_weights(spec: str | None) -> bool:
    """``imagenet`` or a torchvision/timm weights file: the data gets ImageNet's normalization."""
    return spec == "imagenet" or is_weights_file(spec)


def weights_dir(cache_dir: str | Path | None = None) -> Path:
    """``<cache>/weights``: downloaded weights (``$DEEPDOJO_CACHE`` by default)."""
    return Path(cache_dir).expanduser() if cache_dir else default_cache_dir() / "weights"


def imagenet_file(arch: str, cache_dir: str | Path | None = None, log=None) -> Path:
    """The verified ImageNet safetensors for ``arch``: from the cache, else downloaded (resumable)."""
    if arch not in IMAGENET:
        raise ConfigError(f"no ImageNet weights for {arch!r}", where="pretrained",
                          fix=f"use --arch {' / '.join(IMAGENET)}, or pass a weights file")
    entry = IMAGENET[arch]
    if entry is None:
        raise ConfigError(f"no safetensors ImageNet weights are published for {arch} (torchvision ships only a pickle)",
                          where="pretrained", fix="convert torchvision's weights to safetensors yourself and pass "
                                                  "--pretrained FILE.safetensors, or use resnet18/resnet50/vgg16")
    dest = weights_dir(cache_dir) / entry.source.replace("/", "--") / "model.safetensors"
    if entry.sha256 is None:
        raise ConfigError(f"no pinned SHA-256 for {entry.source}, so deepdojo will not download it unchecked",
                          where="pretrained", fix=f"download {entry.url}, check it, and pass --pretrained FILE "
                                                  "(or use resnet18/resnet50/vgg16)")
    return fetch(entry.url, dest, sha256=entry.sha256, log=log,
                 offline_alternative="or pass --pretrained FILE.safetensors (a torchvision or timm weights file)")


def read_weights(path: Path, sha256: str | None = None) -> dict:
    """Tensors of a safetensors file (pickles refused before anything is parsed; hash checked if given)."""
    from deepdojo.train.checkpoint import read_foreign_tensors

    if not path.is_file():
        raise CheckpointError("weights file not found", where=str(path), fix="check the path")
    return read_foreign_tensors(path, sha256)


def resolve_arch(spec: str, arch: str) -> str:
    """``arch="auto"`` with pretrained weights: the default, or what a weights file's keys show."""
    if arch != "auto":
        return arch
    if spec == "imagenet":
        return DEFAULT_ARCH
    guessed = guess_arch(read_weights(Path(spec)))
    if guessed is None:
        raise ConfigError("cannot tell which architecture this weights file is for", where=spec,
                          fix="pass --arch resnet18/resnet34/resnet50/vgg16/alexnet")
    return guessed


def load_imagenet(model: nn.Module, arch: str, spec: str, cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Load ``imagenet`` (downloaded, verified) or a weights file into ``model``; its head stays new."""
    if spec == "imagenet":
        entry = IMAGENET.get(arch)
        path = imagenet_file(arch, cache_dir)
        tensors = read_weights(path, entry.sha256 if entry else None)
    else:
        path = Path(spec)
        tensors = read_weights(path)
    info = load_foreign(model, arch, tensors, keep_head=False, where=str(path))
    return {**info, "source": str(path)}


def set_image_normalization(data, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> None:
    """Normalize ``data``'s images with ``mean``/``std`` (per RGB channel; their average for grey images).

    Changes every split's transform in place and ``data.info["transform"]``,
    which checkpoints record for ``predict``. Non-image data is left as it is.
    """
    from deepdojo.data.transforms import ImageBatchTransform

    if not data.is_image:
        return
    channels = data.input_shape[0]
    if channels != len(mean):
        mean, std = [sum(mean) / len(mean)] * channels, [sum(std) / len(std)] * channels
    found = False
    for dl in data.loaders():
        tf = getattr(getattr(dl, "_loader", dl), "transform", None)  # a SealedSplit wraps its loader
        if isinstance(tf, ImageBatchTransform):
            fresh = ImageBatchTransform(mean, std)
            tf.mean, tf.std, found = fresh.mean, fresh.std, True
            data.info["transform"] = tf.to_json()
    if not found:
        raise ConfigError("pretrained ImageNet weights need deepdojo's own image loaders to set the normalization",
                          where="pretrained", fix="load the images with deepdojo (a folder, CSV or builtin:)")
