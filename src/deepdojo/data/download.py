"""Datasets fetched once from the internet: ``download:NAME`` (mnist, fashion_mnist, cifar10, imagenette160,
movielens100k, omniglot, oxford_pets; pennfudan, which publishes no checksum, is read once put in the cache by hand).

Each entry of :data:`CATALOGUE` names its files with URL, published digest
and size. Files land in ``$DEEPDOJO_CACHE/downloads/<name>/`` (see
:func:`~deepdojo.data.image_cache.default_cache_dir`); a broken download
resumes where it stopped, a corrupt one is deleted and reported, and with no
network the error says where to put the files by hand
(:mod:`deepdojo.data.remote`).

Formats are read directly, never unpickled: MNIST-style ``idx`` files
(gzip), CIFAR-10's *binary* version (``cifar-10-binary.tar.gz``: records of
one label byte + 3072 pixel bytes, read straight from the tarball), and
Imagenette's tgz of JPEG folders (extracted with tarfile's safe ``data``
filter, then read as an :class:`~deepdojo.data.images.ImageFolder`).

The official test split becomes the sealed ``test`` split; ``valid`` is a
stratified ``valid_pct`` of the training files.

Example (a tiny idx file written here; the real ones are downloaded):
    >>> import gzip, tempfile
    >>> p = Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
    >>> _ = gzip.open(p, "wb").write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9]))
    >>> read_idx(p).tolist()
    [7, 0, 9]
"""

from __future__ import annotations

import gzip
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from deepdojo.data.core import Data
from deepdojo.data.image_cache import default_cache_dir
from deepdojo.data.remote import DownloadError, fetch
from deepdojo.errors import DataError


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: where from, its published digest (SHA-256, else MD5) and size in bytes."""

    url: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RemoteDataset:
    """A downloadable dataset: its files, the reader that turns them into :class:`Data`, class names."""

    files: tuple[RemoteFile, ...]
    reader: str  # "idx", "cifar_binary", "image_tgz", "ratings_zip", "omniglot", "pets_trimaps" or "pennfudan"
    classes: tuple[str, ...] = ()
    about: str = ""
    class_names: dict[str, str] = field(default_factory=dict)  # folder name -> readable name
    manual: bool = False  # no published digest: never fetched; the user puts the file in the cache by hand


_MNIST = "https://storage.googleapis.com/cvdf-datasets/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_PETS = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/"
_OMNIGLOT = "https://github.com/brendenlake/omniglot/raw/master/python/"
IMAGENETTE_CLASSES = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn", "n03417042": "garbage truck",
    "n03425413": "gas pump", "n03445777": "golf ball", "n03888257": "parachute",
}

CATALOGUE: dict[str, RemoteDataset] = {
    "mnist": RemoteDataset(
        files=(
            RemoteFile(_MNIST + "train-images-idx3-ubyte.gz",
                       "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", size=9912422),
            RemoteFile(_MNIST + "train-labels-idx1-ubyte.gz",
                       "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", size=28881),
            RemoteFile(_MNIST + "t10k-images-idx3-ubyte.gz",
                       "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", size=1648877),
            RemoteFile(_MNIST + "t10k-labels-idx1-ubyte.gz",
                       "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", size=4542),
        ),
        reader="idx", classes=tuple(str(d) for d in range(10)),
        about="handwritten digits, 28x28 grayscale, 60,000 train / 10,000 test",
    ),
    "fashion_mnist": RemoteDataset(
        files=(
            RemoteFile(_FASHION + "train-images-idx3-ubyte.gz",
                       "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", size=26421880),
            RemoteFile(_FASHION + "train-labels-idx1-ubyte.gz",
                       "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", size=29515),
            RemoteFile(_FASHION + "t10k-images-idx3-ubyte.gz",
                       "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", size=4422102),
            RemoteFile(_FASHION + "t10k-labels-idx1-ubyte.gz",
                       "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", size=5148),
        ),
        reader="idx",
        classes=("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                 "ankle boot"),
        about="clothing, 28x28 grayscale, 60,000 train / 10,000 test",
    ),
    "cifar10": RemoteDataset(
        files=(RemoteFile("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                          "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", size=170052171),),
        reader="cifar_binary", about="small colour photos, 32x32 RGB, 50,000 train / 10,000 test",
    ),
    "imagenette160": RemoteDataset(
        # the publisher gives no SHA-256; this is the MD5 torchvision checks
        files=(RemoteFile("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
                          md5="e793b78cc4c9e9a4ccc0c1155377a412"),),
        reader="image_tgz", class_names=IMAGENETTE_CLASSES,
        about="10 easy ImageNet classes, JPEGs with shorter side 160, 9,469 train / 3,925 val (used as test)",
    ),
    "movielens100k": RemoteDataset(
        # GroupLens publishes the MD5 (ml-100k.zip.md5) and no SHA-256
        files=(RemoteFile("https://files.grouplens.org/datasets/movielens/ml-100k.zip",
                          md5="0e33842e24a9c977be4e0107933c0723", size=4924029),),
        reader="ratings_zip", about="100,000 movie ratings 1-5 by 943 users of 1,682 movies (1997-98), with titles",
    ),
    "omniglot": RemoteDataset(
        # the publisher gives no digest; these are the MD5s torchvision's Omniglot class checks
        files=(RemoteFile(_OMNIGLOT + "images_background.zip", md5="68d2efa1b9178cc56df9314c21c6e718"),
               RemoteFile(_OMNIGLOT + "images_evaluation.zip", md5="6b91aef0f799c5bb55b94e3f2daec811")),
        reader="omniglot",
        about="1,623 handwritten characters of 50 alphabets, 20 drawings each: one-shot verification "
              "(30 background alphabets train/valid, 20 evaluation alphabets the sealed test)",
    ),
    "oxford_pets": RemoteDataset(
        # the publisher gives no digest; these are the MD5s torchvision's OxfordIIITPet class checks
        files=(RemoteFile(_PETS + "images.tar.gz", md5="5c4f3ee8e5d25df40f4fd59a7f44e54c", size=791918971),
               RemoteFile(_PETS + "annotations.tar.gz", md5="95a8c909bbe2e81eed6a22bccdf3f68f", size=19173078)),
        reader="pets_trimaps",
        about="7,390 cat and dog photos with trimaps: segmentation into background / pet / border",
    ),
    "pennfudan": RemoteDataset(
        # no checksum is published for this zip: deepdojo does not download it unverified (see data/pennfudan.py)
        files=(RemoteFile("https://www.cis.upenn.edu/~jshi/ped_html/PennFudanPed.zip"),),
        reader="pennfudan", manual=True,
        about="170 street photos with 345 pedestrians (instance masks): segmentation into background / person",
    ),
}
ALIASES = {"pets": "oxford_pets", "oxford-iiit-pet": "oxford_pets", "penn-fudan": "pennfudan",
           "fashion-mnist": "fashion_mnist", "cifar-10": "cifar10", "imagenette": "imagenette160",
           "ml-100k": "movielens100k", "movielens": "movielens100k",
           "imagenette-160": "imagenette160"}


# ---------------------------------------------------------------- readers


def read_idx(path: Path) -> np.ndarray:
    """An unsigned-byte ``idx`` file (gzip or plain): ``(N,)`` labels or ``(N, H, W)`` images, uint8."""
    opener = gzip.open if Path(path).suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read the idx file: {e}", where=str(path), fix="delete it and download again") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataError("not an unsigned-byte idx file (bad magic number)", where=str(path),
                        fix="delete it and download again")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"idx header says {dims} but the file holds {body.size} values", where=str(path),
                        fix="delete it and download again")
    return body.reshape(dims).copy()  # writable (frombuffer views the read-only bytes)


CIFAR_RECORD = 1 + 3 * 32 * 32  # label byte, then R, G, B planes of 32x32


def read_cifar_binary(archive: Path) -> dict:
    """``cifar-10-binary.tar.gz`` -> ``{"train": (x, y), "test": (x, y), "classes": [...]}`` (x uint8 (N, 3, 32, 32))."""
    parts: dict[str, list[bytes]] = {"train": [], "test": []}
    classes: list[str] = []
    with tarfile.open(archive, "r:gz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        for m in members:
            base = m.name.rsplit("/", 1)[-1]
            if base == "batches.meta.txt":
                classes = [c for c in tar.extractfile(m).read().decode().split() if c]
            elif base.startswith("data_batch_") or base == "test_batch.bin":
                parts["test" if base.startswith("test") else "train"].append(tar.extractfile(m).read())
    out: dict = {"classes": classes}
    for name, blobs in parts.items():
        raw = np.frombuffer(b"".join(blobs), dtype=np.uint8)
        if not blobs or raw.size % CIFAR_RECORD:
            raise DataError(f"no whole {name} records of {CIFAR_RECORD} bytes in the archive", where=str(archive),
                            fix="delete it and download again")
        records = raw.reshape(-1, CIFAR_RECORD)
        out[name] = (records[:, 1:].reshape(-1, 3, 32, 32).copy(), records[:, 0].astype(np.int64))
    return out


def extract_tgz(archive: Path, dest: Path) -> Path:
    """Unpack ``archive`` into ``dest`` once (a marker file records success); links and ``../`` refused."""
    done = dest / ".extracted"
    if done.exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:*") as tar:
        for m in tar.getmembers():
            if m.issym() or m.islnk() or m.name.startswith("/") or ".." in Path(m.name).parts:
                raise DataError(f"archive member {m.name!r} points outside the archive", where=str(archive),
                                fix="delete the file and download it again from the catalogue URL")
            if not (m.isfile() or m.isdir()):  # a device, FIFO or other special file: never created here
                kind = "device" if m.isdev() and not m.isfifo() else "FIFO" if m.isfifo() else "special file"
                raise DataError(f"archive member {m.name!r} is a {kind}, not a file or folder", where=str(archive),
                                fix="delete the file and download it again from the catalogue URL")
        # members checked above; the "data" filter (Python >= 3.11.4) also drops device files and odd modes
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    done.write_text("ok\n")
    return dest


# ---------------------------------------------------------------- loading


def downloads_dir(cache_dir: str | Path | None = None) -> Path:
    """``<cache>/downloads``: where downloaded files are kept (``$DEEPDOJO_CACHE`` by default)."""
    return Path(cache_dir).expanduser() if cache_dir else default_cache_dir() / "downloads"


def lookup(name: str) -> tuple[str, RemoteDataset]:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in CATALOGUE:
        raise DataError(f"unknown downloadable dataset {name!r}", where=f"download:{name}",
                        fix=f"use one of {', '.join(sorted(CATALOGUE))}, or builtin:NAME for ones that need no network")
    return key, CATALOGUE[key]


def download_files(name: str, cache_dir: str | Path | None = None, log: Callable | None = None) -> list[Path]:
    """Fetch (or find in the cache) every file of catalogue entry ``name``; their local paths."""
    key, entry = lookup(name)
    folder = downloads_dir(cache_dir) / key
    if entry.manual:
        missing = [f for f in entry.files if not (folder / f.name).is_file()]
        if missing:
            f = missing[0]
            raise DownloadError(f"no checksum is published for {f.name}, so deepdojo does not download it unverified",
                                where=f"download:{key}", fix=f"download {f.url} yourself and put it at {folder / f.name}")
    return [fetch(f.url, folder / f.name, sha256=f.sha256, md5=f.md5, size=f.size, log=log) for f in entry.files]


def _idx_parts(paths: list[Path]) -> dict:
    by = {p.name.split("-", 2)[0] + ("-labels" if "labels" in p.name else "-images"): p for p in paths}
    try:
        return {split: (read_idx(by[f"{prefix}-images"])[:, None], read_idx(by[f"{prefix}-labels"]).astype(np.int64))
                for split, prefix in (("train", "train"), ("test", "t10k"))}
    except KeyError as e:
        raise DataError(f"no idx file for {e.args[0]}", where=str(paths[0].parent),
                        fix="the catalogue entry needs train-/t10k- images and labels files") from None


def load_download(name: str, *, size: int | None = None, valid_pct: float = 0.2, seed: int = 0, batch_size: int = 64,
                  augment: str | None = "auto", cache_dir: str | Path | None = None) -> Data:
    """Catalogue dataset ``name`` as :class:`Data`: downloaded on first use, verified, parsed.

    ``size`` matters only for image-folder archives (Imagenette; default 160).
    """
    key, entry = lookup(name)
    if entry.reader == "ratings_zip":  # (user, item) pairs, not images
        from deepdojo.data.ratings_sources import load_movielens100k

        return load_movielens100k(valid_pct=valid_pct, seed=seed, batch_size=batch_size, cache_dir=cache_dir)
    paths = download_files(key, cache_dir)
    if entry.reader == "image_tgz":
        return _load_image_tgz(key, entry, paths[0], size=size or 160, valid_pct=valid_pct, seed=seed,
                               batch_size=batch_size, augment=augment)
    if entry.reader == "pets_trimaps":
        from deepdojo.data.pets import load_pets

        return load_pets(paths, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    if entry.reader == "pennfudan":
        from deepdojo.data.pennfudan import load_pennfudan

        return load_pennfudan(paths, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    if entry.reader == "omniglot":
        from deepdojo.data.omniglot import load_omniglot

        return load_omniglot(paths, size=size, valid_pct=valid_pct, seed=seed, batch_size=batch_size)
    if entry.reader == "idx":
        parts, classes = _idx_parts(paths), list(entry.classes)
    else:
        parts = read_cifar_binary(paths[0])
        classes = parts.pop("classes") or [str(i) for i in range(10)]
    (xtr, ytr), (xte, yte) = parts["train"], parts["test"]
    if augment == "auto":
        augment = "light" if xtr.shape[1] == 1 else "default"
    return Data.from_tensors(torch.from_numpy(xtr), torch.from_numpy(ytr), test=(torch.from_numpy(xte), torch.from_numpy(yte)),
                             valid_pct=valid_pct, seed=seed, batch_size=batch_size, augment=augment, classes=classes,
                             name=f"download:{key}")


def _load_image_tgz(key: str, entry: RemoteDataset, archive: Path, **kw) -> Data:
    """A tgz of ``train/<class>/`` + ``val/<class>/`` folders -> :class:`Data` (``val`` is the test split)."""
    from deepdojo.data.images import ImageFolder

    root = extract_tgz(archive, archive.parent / (archive.name.split(".")[0]))
    tops = [p for p in root.iterdir() if p.is_dir()]
    folder_root = tops[0] if len(tops) == 1 else root  # the archive's own top folder, e.g. imagenette2-160/
    if (folder_root / "val").is_dir() and not (folder_root / "test").exists():
        (folder_root / "val").rename(folder_root / "test")  # the published val split is the held-out test
    print(f"deepdojo: decoding {folder_root} (once; cached)", file=sys.stderr)
    folder = ImageFolder(folder_root, size=kw["size"], valid_pct=kw["valid_pct"], seed=kw["seed"])
    data = folder.to_data(batch_size=kw["batch_size"], augment=kw["augment"], seed=kw["seed"])
    data.classes = [entry.class_names.get(c, c) for c in data.classes]
    data.info["name"] = f"download:{key}"
    return data


__all__ = ["CATALOGUE", "DownloadError", "RemoteDataset", "RemoteFile", "download_files", "load_download", "read_idx"]
