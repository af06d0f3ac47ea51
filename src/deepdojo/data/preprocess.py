"""Raw inputs -> model-ready tensors, exactly as training did: :func:`preprocessor_from_json`.

Every source writes its full preprocessing as JSON into ``data.info["preprocess"]``
(see :mod:`deepdojo.data.preprocess_spec`); checkpoints carry it, and
``deepdojo predict`` / ``learn.predict`` rebuild it here. A preprocessor takes
the inputs a person has — image paths, PIL images, arrays, raw CSV rows with
categories as text, raw strings — and returns the batch the model saw in
validation, bit for bit.

Example:
    >>> pre = preprocessor_from_json({"kind": "features", "n_features": 2, "mean": [1.0, 0.0], "std": [2.0, 1.0]})
    >>> pre.encode(["3,1", [1.0, -1.0]]).tolist()
    [[1.0, 1.0], [0.0, -1.0]]
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from deepdojo.errors import DataError

MISSING = {"", "na", "nan", "null", "none", "?"}
NA_LEVEL = "#na"
TABLE_SUFFIXES = (".csv", ".tsv")


class Preprocessor:
    """Base class: ``encode(items) -> (B, ...)`` tensor; ``expand(inputs)`` reads files of inputs (CSV, folders).

    ``strict=True`` turns every mismatch with the training data (image size,
    channels) into a :class:`DataError`; otherwise each one is a warning, and
    ``notes`` collects them.
    """

    kind = ""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.notes: list[str] = []

    def to_json(self) -> dict[str, Any]:
        return dict(self.spec)

    def encode(self, items: Sequence, strict: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def expand(self, inputs: Iterable[Any]) -> list[tuple[str, Any]]:
        """``(name, item)`` per input: a CSV/TSV file of inputs becomes one item per row."""
        out = []
        for item in inputs:
            if isinstance(item, (str, Path)) and str(item).lower().endswith(TABLE_SUFFIXES) and Path(item).is_file():
                out += self.rows_of(Path(item))
            else:
                out.append((_name(item), item))
        return out

    def flags(self, item: Any) -> dict[str, Any]:
        """What predict should say about one raw input besides the prediction (e.g. ratings' cold start)."""
        return {}

    def rows_of(self, path: Path) -> list[tuple[str, Any]]:
        raise DataError(f"a table of inputs is not understood by a {self.kind} model", where=str(path),
                        fix="pass the inputs themselves")

    def _mismatch(self, message: str, where: str, strict: bool, fix: str) -> None:
        if strict:
            raise DataError(message, where=where, fix=fix)
        note = f"{where}: {message} ({fix})"
        self.notes.append(note)
        warnings.warn(note, stacklevel=4)


def _name(item: Any) -> str:
    if isinstance(item, (str, Path)):
        return str(item)
    return type(item).__name__


# ------------------------------------------------------------------ images


def _native_channels(mode: str) -> int:
    """Channels a file of Pillow ``mode`` decodes to (see ``to_8bit``): 1 for grayscale modes, else 3."""
    return 1 if mode in ("1", "L", "LA", "La", "F") or mode.startswith("I") else 3


class ImagePreprocessor(Preprocessor):
    """An image file, PIL image or uint8 array -> normalized ``(B, C, H, W)`` float, decoded as in training."""

    kind = "image"

    def __init__(self, spec):
        super().__init__(spec)
        from deepdojo.data.transforms import ImageBatchTransform

        # no mean/std: the model takes raw pixel values (an exported graph with the normalization baked in)
        self.transform = ImageBatchTransform(spec["mean"], spec["std"]) if spec.get("mean") is not None else None
        self.shape = (spec["channels"], spec["height"], spec["width"])
        self.geometries: list = []  # filled by encode: each input's InputGeometry

    def describe(self) -> str:
        c, h, w = self.shape
        return f"{w}x{h} {'grayscale' if c == 1 else 'RGB'}"

    def raw(self, item: Any, strict: bool = False) -> torch.Tensor:
        """One input -> uint8 ``(C, H, W)``, the tensor the training cache holds for it."""
        from PIL import Image

        if isinstance(item, (str, Path)):
            return self._from_file(Path(item), strict)
        if isinstance(item, Image.Image):
            return self._from_pil(item, _name(item), strict)
        a = item.detach().cpu().numpy() if isinstance(item, torch.Tensor) else np.asarray(item)
        if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3, 4):
            a = a.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.dtype != np.uint8:
            if a.size and (a.min() < 0 or a.max() > 255):
                raise DataError(f"image array values span {a.min():g}..{a.max():g}", where="input",
                                fix="pass uint8 pixels in 0..255, as the files were decoded")
            a = np.round(a).astype(np.uint8)
        if a.ndim not in (2, 3):
            raise DataError(f"expected an image array (H, W) or (H, W, C), got shape {a.shape}", where="input",
                            fix="pass one image")
        return self._from_pil(Image.fromarray(a), "array", strict)

    def _from_file(self, path: Path, strict: bool) -> torch.Tensor:
        from PIL import Image

        from deepdojo.data.images import decode_image

        if not path.is_file():
            raise DataError("input file not found", where=str(path), fix="pass image file paths")
        spec = self.spec
        try:
            with Image.open(path) as im:
                native_c = _native_channels(im.mode)
                size = im.size[::-1] if im.getexif().get(0x0112) in (5, 6, 7, 8) else im.size  # decode turns by EXIF
        except Exception:
            native_c, size = None, None  # decode_image names the problem below
        max_pixels = spec.get("max_pixels") or 89_478_485
        c, h, w = self.shape
        if native_c is not None and native_c != c:
            self._channels_note(native_c, str(path), strict)
        if spec.get("size") is not None:  # training resized every file the same way: do exactly that
            a = decode_image(path, size=spec["size"], mode=spec["mode"], max_pixels=max_pixels)
            self._record(*size)
            return _chw(a)
        a = decode_image(path, mode=spec["mode"], max_pixels=max_pixels)  # native size, as training decoded
        self._record(a.shape[1], a.shape[0])
        if a.shape[:2] == (h, w):
            return _chw(a)
        return self._resized(Image.fromarray(a), str(path), strict)

    def _from_pil(self, im, where: str, strict: bool) -> torch.Tensor:
        from deepdojo.data.check_images import to_8bit

        c, h, w = self.shape
        im = to_8bit(im)
        self._record(*im.size)
        if _native_channels(im.mode) != c:
            self._channels_note(_native_channels(im.mode), where, strict)
            im = im.convert(self.spec["mode"])
        if self.spec.get("size") is not None:
            from deepdojo.data.check_images import resize_crop

            return _chw(np.asarray(resize_crop(im, self.spec["size"]), dtype=np.uint8))
        if im.size == (w, h):
            return _chw(np.asarray(im, dtype=np.uint8))
        return self._resized(im, where, strict)

    def _channels_note(self, native_c: int, where: str, strict: bool) -> None:
        got = "grayscale" if native_c == 1 else "colour (RGB)"
        self._mismatch(f"input is {got} but the model was trained on {self.describe()} images; converted",
                       where, strict, fix="pass images like the training ones, or retrain on these")

    def _resized(self, im, where: str, strict: bool) -> torch.Tensor:
        """Trained at one native size: the whole input brought to it (bilinear, no crop), with a warning."""
        from PIL import Image

        c, h, w = self.shape
        iw, ih = im.size
        self._mismatch(f"input is {iw}x{ih} but the model was trained on {self.describe()} images; "
                       f"resized to {w}x{h}", where, strict,
                       fix=f"pass {w}x{h} images, or train with --size to fix one input size")
        return _chw(np.asarray(im.resize((w, h), Image.BILINEAR), dtype=np.uint8))

    def _record(self, width: int, height: int) -> None:
        """Note where this input's model pixels come from (:attr:`geometries`, one per encoded input)."""
        from deepdojo.data.geometry import InputGeometry

        c, h, w = self.shape
        size = self.spec.get("size")
        self.geometries.append(InputGeometry.resize_crop(width, height, size) if size is not None
                               else InputGeometry.stretch(width, height, w, h))

    def encode(self, items, strict=False):
        self.geometries = []  # one InputGeometry per item: model pixels -> original pixels
        x = torch.stack([self.raw(item, strict) for item in items])  # (B, C, H, W) uint8
        return self.transform(x, None, None)[0] if self.transform is not None else x.float()

    def rows_of(self, path):
        from deepdojo.data.check_csv import read_table
        from deepdojo.data.csv_sources import PATH_COLUMNS

        table = read_table(path)
        col = next((c for c in table.columns if c.lower() in PATH_COLUMNS), None)
        if col is None:
            raise DataError("no image path column", where=str(path), fix=f"name one column {'/'.join(PATH_COLUMNS)}")
        return [(rel, path.parent / rel) for rel in table.column(col)]

    def expand(self, inputs):
        from deepdojo.data.images import IMAGE_EXTENSIONS

        out = []
        for item in inputs:
            if isinstance(item, (str, Path)) and Path(item).is_dir():  # a folder: every image under it, sorted
                files = sorted(p for p in Path(item).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS
                               and not any(part.startswith(".") for part in p.relative_to(item).parts))
                out += [(str(p), p) for p in files]
            else:
                out += super().expand([item])
        return out


def _chw(a: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W)`` / ``(H, W, 3)`` -> ``(C, H, W)``."""
    x = torch.from_numpy(np.ascontiguousarray(a).copy())
    return x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1).contiguous()


# ------------------------------------------------------------------ vectors


def _numbers(item: Any, n: int | None, where: str) -> list[float]:
    if isinstance(item, str):
        parts = [p for p in item.replace(",", " ").split()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise DataError("expected comma-separated numbers", where=where, fix="e.g. 0.5,1.2") from None
    else:
        values = torch.as_tensor(np.asarray(item, dtype=np.float64)).flatten().tolist()
    if n is not None and len(values) != n:
        raise DataError(f"expected {n} numbers, got {len(values)}", where=where, fix=f"pass {n} values per input")
    return values


class FeaturePreprocessor(Preprocessor):
    """Numbers (``"1.5,2"``, a list, an array) -> ``(B, F)`` float, standardized as in training."""

    kind = "features"

    def __init__(self, spec):
        super().__init__(spec)
        from deepdojo.data.transforms import FeatureTransform

        self.transform = FeatureTransform(spec["mean"], spec["std"]) if spec.get("mean") is not None else None

    def encode(self, items, strict=False):
        n = self.spec.get("n_features")
        x = torch.tensor([_numbers(item, n, _name(item)) for item in items], dtype=torch.float32)  # (B, F)
        return self.transform(x, None, None)[0] if self.transform is not None else x

    def rows_of(self, path):
        from deepdojo.data.check_csv import read_table

        table = read_table(path, duplicates="warning")
        n = self.spec.get("n_features")
        numeric = [c for c in table.columns if all(_is_number(v) for v in table.column(c))]
        cols = numeric[:n] if n is not None else numeric
        return [(f"{path.name}:{i + 2}", [float(table.column(c)[i]) for c in cols]) for i in range(len(table.rows))]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class TensorPreprocessor(Preprocessor):
    """Inputs used as given (arrays of the training dtype and sample shape)."""

    kind = "tensor"

    def encode(self, items, strict=False):
        dtype = getattr(torch, self.spec.get("dtype") or "float32")
        x = torch.stack([torch.as_tensor(np.asarray(item)).to(dtype) for item in items])
        shape = tuple(self.spec.get("shape") or ())
        if shape and tuple(x.shape[1:]) != shape:
            raise DataError(f"expected inputs of shape {shape}, got {tuple(x.shape[1:])}", where="input",
                            fix="pass inputs shaped like the training samples")
        return x


class SignalPreprocessor(Preprocessor):
    """A signal (an array ``(T,)`` / ``(C, T)`` or a ``.npy`` file of one) -> ``(B, C, T)``, standardized per channel."""

    kind = "signal"

    def __init__(self, spec):
        super().__init__(spec)
        from deepdojo.data.signals import SignalTransform

        self.transform = SignalTransform(spec["mean"], spec["std"])

    def _one(self, item: Any) -> torch.Tensor:
        where = _name(item)
        if isinstance(item, (str, Path)):
            if not (str(item).endswith(".npy") and Path(item).is_file()):
                raise DataError("a signal input is an array or a .npy file", where=where,
                                fix="save the signal with numpy.save(path, array) and pass the path")
            item = np.load(item, allow_pickle=False)
        a = torch.as_tensor(np.asarray(item, dtype=np.float32))
        a = a[None] if a.dim() == 1 else a  # (T,) -> (1, T)
        want = (self.spec["channels"], self.spec["length"])
        if tuple(a.shape) != want:
            raise DataError(f"expected a signal of shape (channels, steps) = {want}, got {tuple(a.shape)}", where=where,
                            fix="pass signals shaped like the training ones (pad or crop to the same length)")
        return a

    def encode(self, items, strict=False):
        x = torch.stack([self._one(item) for item in items])  # (B, C, T)
        return self.transform(x, None, None)[0]


# ------------------------------------------------------------------ tables


def parse_number(text: str) -> float:
    """A CSV cell as a float; the missing markers (``""``, NA, NaN, null, none, ?) are NaN."""
    if text.strip().lower() in MISSING:
        return math.nan
    return float(text)


class TabularEncoder(Preprocessor):
    """Raw table columns (strings, categories as text) -> ``(N, F)`` float32, as training encoded them.

    Continuous columns: missing values filled with the training median, then
    ``(v - mean) / std`` with training statistics (float64, then float32); a
    ``<name>_na`` indicator follows a column that had missing values in the
    training file. Categorical columns: levels seen in training (plus ``#na``,
    which every unseen level maps to) as one-hot (``encoding="onehot"``,
    after the continuous columns) or as one integer code per column
    (``encoding="codes"``, *before* the continuous ones: the
    :class:`~deepdojo.models.tabular.TabularModel` convention).

    Example:
        >>> cols = {"a": ["1", "2", "3", ""], "b": ["u", "v", "u", "w"]}
        >>> x, enc = TabularEncoder.fit(cols, np.arange(3), cont=["a"], cat=["b"], encoding="codes")
        >>> enc.spec["columns"], x[:, 0].tolist()
        (['b', 'a', 'a_na'], [1.0, 2.0, 1.0, 0.0])
        >>> enc.encode([{"a": "2", "b": "v"}]).tolist() == x[1:2].tolist()
        True
    """

    kind = "tabular"

    @classmethod
    def fit(cls, columns: dict[str, list[str]], train: np.ndarray, cont: list[str], cat: list[str],
            encoding: str = "onehot", target: str | None = None) -> tuple[np.ndarray, "TabularEncoder"]:
        """Statistics and levels from the ``train`` rows; returns ``(x of every row, encoder)``."""
        spec: dict[str, Any] = {"kind": "tabular", "target": target, "encoding": encoding, "continuous": list(cont),
                                "mean": [], "std": [], "fill": [], "na_indicator": [], "categorical": {}}
        for name in cont:
            v = np.array([parse_number(t) for t in columns[name]], dtype=np.float64)
            missing = np.isnan(v)
            fill = float(np.nanmedian(v[train])) if (~missing[train]).any() else 0.0
            v[missing] = fill
            spec["mean"].append(float(v[train].mean()))
            spec["std"].append(float(v[train].std()) or 1.0)
            spec["fill"].append(fill)
            spec["na_indicator"].append(bool(missing.any()))  # that a value was missing can itself be informative
        for name in cat:
            raw = [t or NA_LEVEL for t in columns[name]]
            spec["categorical"][name] = sorted({raw[j] for j in train} | {NA_LEVEL})
        spec["cat_cardinalities"] = [len(v) for v in spec["categorical"].values()]
        cont_names = [n for name, na in zip(cont, spec["na_indicator"]) for n in ([name, f"{name}_na"] if na else [name])]
        if encoding == "codes":
            spec["columns"] = list(cat) + cont_names
            spec["n_categorical"] = len(cat)
        else:
            spec["columns"] = cont_names + [f"{name}={lev}" for name in cat for lev in spec["categorical"][name]]
            spec["n_categorical"] = None
        enc = cls(spec)
        return enc.encode_columns(columns), enc

    @property
    def features(self) -> list[str]:
        """The raw columns a row must have."""
        return list(self.spec["continuous"]) + list(self.spec["categorical"])

    def encode_columns(self, columns: dict[str, list[str]], where: str = "input") -> np.ndarray:
        """``{column: raw strings}`` -> float32 ``(N, F)``; unparseable numbers are a DataError naming the column."""
        spec = self.spec
        cont_cols, cat_cols = [], []
        for k, name in enumerate(spec["continuous"]):
            raw = columns[name]
            try:
                v = np.array([parse_number(t) for t in raw], dtype=np.float64)
            except ValueError:
                bad = next(t for t in raw if not _is_number(t) and t.strip().lower() not in MISSING)
                raise DataError(f"{bad!r} is not a number", where=f"{where} ({name})",
                                fix="pass a number, or leave it empty for a missing value") from None
            missing = np.isnan(v)
            v[missing] = spec["fill"][k]
            cont_cols.append((v - spec["mean"][k]) / spec["std"][k])
            if spec["na_indicator"][k]:
                cont_cols.append(missing.astype(np.float64))
        for name, levels in spec["categorical"].items():
            index = {lev: i for i, lev in enumerate(levels)}
            codes = np.array([index.get(t or NA_LEVEL, index[NA_LEVEL]) for t in columns[name]])
            if spec["encoding"] == "codes":
                cat_cols.append(codes.astype(np.float64))
            else:
                cat_cols += list(np.eye(len(levels))[codes].T)
        cols = cat_cols + cont_cols if spec["encoding"] == "codes" else cont_cols + cat_cols
        n = len(next(iter(columns.values()))) if columns else 0
        return np.stack(cols, 1).astype(np.float32) if cols else np.zeros((n, 0), np.float32)

    def _row(self, item: Any, where: str) -> dict[str, str]:
        names = self.features
        if isinstance(item, dict):
            missing = [n for n in names if n not in item]
            if missing:
                raise DataError(f"row has no value for {', '.join(missing)}", where=where,
                                fix=f"give every feature column: {', '.join(names)}")
            return {n: "" if item[n] is None else str(item[n]).strip() for n in names}
        if isinstance(item, str):
            import csv

            values = next(csv.reader([item]))
        else:
            values = ["" if v is None else str(v) for v in item]
        values = [v.strip() for v in values]
        if len(values) != len(names):
            raise DataError(f"expected {len(names)} values ({', '.join(names)}), got {len(values)}", where=where,
                            fix="give the feature columns in this order, or pass a dict / the CSV file")
        return dict(zip(names, values))

    def encode(self, items, strict=False):
        rows = [self._row(item, _name(item)) for item in items]
        columns = {n: [r[n] for r in rows] for n in self.features}
        return torch.from_numpy(self.encode_columns(columns))

    def rows_of(self, path):
        from deepdojo.data.check_csv import read_table

        table = read_table(path, duplicates="warning")
        for name in self.features:
            table.require(name, "feature")
        return [(table.where(i), {n: table.column(n)[i] for n in self.features}) for i in range(len(table.rows))]


# ------------------------------------------------------------------ text


class TextPreprocessor(Preprocessor):
    """Raw strings -> token ids ``(B, max_len)`` int64: the same tokenizer, vocabulary and padding as training."""

    kind = "text"

    def __init__(self, spec):
        super().__init__(spec)
        from deepdojo.data.text import Vocab

        self.vocab = Vocab(list(spec["vocab"]))

    def encode(self, items, strict=False):
        from deepdojo.data.text import tokenize

        for item in items:
            if not isinstance(item, str):
                raise DataError(f"expected a string, got {type(item).__name__}", where="input", fix="pass raw text")
        return torch.tensor([self.vocab.encode(tokenize(t, self.spec["level"]), self.spec["max_len"]) for t in items],
                            dtype=torch.long)

    def expand(self, inputs):
        out = []
        for item in inputs:
            if isinstance(item, Path) or (isinstance(item, str) and item.lower().endswith((*TABLE_SUFFIXES, ".txt"))
                                          and Path(item).is_file()):
                out += self.rows_of(Path(item))
            else:
                out.append((item if len(item) <= 40 else item[:37] + "...", item))
        return out

    def rows_of(self, path):
        from deepdojo.data.check_csv import read_table

        if path.suffix.lower() == ".txt":  # one text per line
            lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
            return [(f"{path.name}:{i + 1}", ln) for i, ln in enumerate(lines)]
        table = read_table(path, delimiter=self.spec.get("delimiter"), duplicates="warning",
                           header=self.spec.get("header", True), names=self.spec.get("names"))
        col = self.spec.get("text_col") or "text"
        table.require(col, "text")
        return [(table.where(i), t) for i, t in enumerate(table.column(col))]


class LanguageModelPreprocessor(TextPreprocessor):
    """A prompt -> its last ``block_size`` token ids ``(B, L)`` (unknown tokens -> ``<unk>``), left-padded."""

    kind = "language_model"

    def encode(self, items, strict=False):
        from deepdojo.data.text import tokenize

        n = self.spec["block_size"]
        ids = [self.vocab.encode(tokenize(t, self.spec["level"]))[-n:] for t in items]
        width = max(1, max(len(i) for i in ids))
        return torch.tensor([[0] * (width - len(i)) + i for i in ids], dtype=torch.long)


KINDS = {cls.kind: cls for cls in (ImagePreprocessor, FeaturePreprocessor, TensorPreprocessor, TabularEncoder,
                                   TextPreprocessor, LanguageModelPreprocessor, SignalPreprocessor)}


def preprocessor_from_json(spec: dict[str, Any] | None) -> Preprocessor | None:
    """Rebuild the preprocessing a source recorded in ``data.info["preprocess"]`` (None -> None)."""
    if not spec:
        return None
    if spec.get("kind") == "ratings":  # defined beside the ratings source (it imports this module)
        from deepdojo.data.ratings_codes import RatingsPreprocessor

        return RatingsPreprocessor(spec)
    if spec.get("kind") not in KINDS:
        raise DataError(f"unknown preprocessing kind {spec.get('kind')!r}", where="preprocess",
                        fix=f"use one of {', '.join(sorted(KINDS))}")
    return KINDS[spec["kind"]](spec)


def preprocessor_from_meta(meta: dict[str, Any]) -> Preprocessor | None:
    """The preprocessing of a checkpoint's metadata, also for checkpoints written before ``preprocess`` existed."""
    if meta.get("preprocess"):
        return preprocessor_from_json(meta["preprocess"])
    shape, tf = meta.get("input_shape"), meta.get("transform") or {}
    if not shape:
        return None
    if len(shape) == 3:
        c, h, w = shape
        from deepdojo.data.preprocess_spec import image_spec

        decode = meta.get("decode") or {}
        spec = image_spec(channels=c, height=h, width=w, mean=tf.get("mean"), std=tf.get("std"),
                          size=decode.get("size") if "size" in decode else (h if h == w else None))
        return ImagePreprocessor(spec)  # no transform recorded: raw pixel values, as the model takes them
    if len(shape) == 1:
        return FeaturePreprocessor({"kind": "features", "n_features": shape[0], "mean": tf.get("mean"),
                                    "std": tf.get("std")})
    return TensorPreprocessor({"kind": "tensor", "shape": list(shape), "dtype": "float32"})
