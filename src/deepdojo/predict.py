"""Inference from a run folder: rebuild the model, load verified weights, preprocess like training.

The checkpoint carries the task (and what it chose on validation, e.g. a
multi-label threshold) and every preprocessing step (normalization, image
decode settings), so a new input is prepared exactly as the training data was
and the output is decoded and printed by the task.

The preprocessing is the data source's full record (``preprocess``: image
decode settings and normalization, scalers and category maps, vocabularies;
see :mod:`deepdojo.data.preprocess`), so raw inputs — image files or folders,
CSV rows with categories as text, raw strings, or a whole CSV of them — are
prepared exactly as in training. :func:`load_learner` reads what
``learn.export(path)`` wrote.

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:xor", out=tempfile.mkdtemp(), progress=False, seed=0)
    >>> _ = learn.fit(2, 0.05)
    >>> p = Predictor.from_run(learn.run.path)
    >>> p.predict_input("1.0,1.0")["prediction"] in ("0", "1")
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepdojo.data.preprocess import preprocessor_from_meta
from deepdojo.errors import CheckpointError, DataError
from deepdojo.evaluate.run_eval import run_checkpoint
from deepdojo.tasks import get_task
from deepdojo.train.checkpoint import model_from_checkpoint, weights_path
from deepdojo.train.inference import decoded_outputs, predict_batch, predict_raw


class Predictor:
    """A trained model with its task, preprocessing and class names."""

    def __init__(self, model: torch.nn.Module, meta: dict[str, Any]):
        self.model, self.meta = model.eval(), meta
        self.task = get_task(meta.get("task") or "classification", **(meta.get("task_state") or {}))
        self.classes = meta.get("classes")
        self.input_shape = tuple(meta["input_shape"]) if meta.get("input_shape") else None
        self.preprocessor = preprocessor_from_meta(meta)  # raw input -> model input, as training did

    @classmethod
    def from_run(cls, run_dir: str | Path, checkpoint: str = "best") -> "Predictor":
        """Load ``run_dir/checkpoints/<checkpoint>.safetensors`` (falls back to ``last``)."""
        return cls(*model_from_checkpoint(run_checkpoint(run_dir, checkpoint)))

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "Predictor":
        """Load a weights file with its metadata (written by ``learn.save`` / ``learn.export``)."""
        path = weights_path(path)
        if not path.exists():
            raise CheckpointError("checkpoint not found", where=str(path), fix="check the path")
        return cls(*model_from_checkpoint(path))  # digest and metadata schema verified

    def predict(self, item: Any, strict: bool = False) -> Any:
        """One raw input (path, PIL image, array, CSV row, string) -> ``(label, index, probabilities)``
        for classification, the task's output otherwise: the same as ``learn.predict`` on the training Learner."""
        return predict_raw(self.model, self.preprocessor, self.task, self.classes, item, strict=strict)

    def predict_items(self, inputs: list, top: int = 3, strict: bool = False) -> list[dict[str, Any]]:
        """Every input (a CSV/TSV of rows or a folder of images counts as its items) -> one result dict each.

        The inputs are prepared in one batch; warnings about inputs that differ
        from the training data (image size, channels) are in :attr:`notes`.
        """
        if self.preprocessor is None:
            return [self.predict_input(item, top) for item in inputs]
        items = self.preprocessor.expand(inputs)
        if not items:
            raise DataError("no inputs found", where=", ".join(map(str, inputs)), fix="pass files, rows or texts")
        x = self.preprocessor.encode([item for _, item in items], strict=strict)
        outs = decoded_outputs(self.model, x, self.task)
        results = [{"input": name, **self.task.format_prediction(out, self.classes, top), **self.preprocessor.flags(item)}
                   for (name, item), out in zip(items, outs)]
        geometries = getattr(self.preprocessor, "geometries", None)  # images: model pixels -> original pixels
        if geometries and len(geometries) == len(results):
            results = [self.task.to_original(r, g) for r, g in zip(results, geometries)]
        return results

    def verify(self, inputs: list, strict: bool = False) -> dict[str, Any]:
        """Verification runs: every input's embedding, and each input after the first compared with the first
        (``distance``, and ``same`` under the threshold chosen on validation).

        Two images of one identity -> ``{"pairs": [{"a", "b", "distance", "same", "threshold"}], "embeddings": [...]}``.
        """
        if not hasattr(self.task, "compare_embeddings"):
            raise DataError(f"this run's task ({self.task.name}) does not compare inputs", where="predict",
                            fix="predict each input on its own")
        results = self.predict_items(inputs, strict=strict)
        if len(results) < 2:
            raise DataError("verification compares two or more images; got one", where=", ".join(map(str, inputs)),
                            fix="pass the reference image first, then the image(s) to check against it")
        first = torch.tensor(results[0]["embedding"])
        pairs = [{"a": results[0]["input"], "b": r["input"],
                  **self.task.compare_embeddings(first, torch.tensor(r["embedding"]))} for r in results[1:]]
        return {"pairs": pairs, "embeddings": results}

    @property
    def notes(self) -> list[str]:
        """Warnings about inputs unlike the training data, one line each."""
        return self.preprocessor.notes if self.preprocessor is not None else []

    def load_input(self, item: str) -> torch.Tensor:
        """An image file -> uint8 ``(C, H, W)`` decoded as in training; ``"1.5,2"`` -> float features ``(F,)``."""
        if self.input_shape is not None and len(self.input_shape) == 3:
            return self._load_image(item)
        try:
            values = [float(v) for v in item.split(",")]
        except ValueError:
            raise DataError("expected comma-separated numbers", where=item, fix="e.g. 0.5,1.2") from None
        if self.input_shape is not None and len(values) != self.input_shape[0]:
            raise DataError(f"expected {self.input_shape[0]} numbers, got {len(values)}", where=item)
        return torch.tensor(values)

    def _load_image(self, item: str) -> torch.Tensor:
        from PIL import Image

        from deepdojo.data.images import decode_image

        c, h, w = self.input_shape
        if not Path(item).is_file():
            raise DataError("input file not found", where=item, fix="pass image file paths")
        decode = self.meta.get("decode") or {"size": h if h == w else None}
        mode = "L" if c == 1 else "RGB"
        a = decode_image(item, size=decode.get("size"), mode=mode)  # as training decoded: resize+crop, or native
        self._geometry = _image_geometry(item, decode.get("size"), w, h)  # boxes/masks back to the user's pixels
        if a.shape[:2] != (h, w):  # trained at native size: bring the image to that size whole, without cropping
            a = np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))
        x = torch.from_numpy(np.ascontiguousarray(a).copy())
        return x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)

    def predict_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Raw batch ``(B, ...)`` -> the task's decoded outputs (classification: probabilities ``(B, K)``)."""
        return predict_batch(self.model, x, self.meta.get("transform"), self.task)

    def predict_input(self, item: Any, top: int = 3, strict: bool = False) -> dict[str, Any]:
        """One input -> ``{"input", "prediction", ...}`` as the task formats it (classification: probability, top)."""
        if self.preprocessor is None:  # an exported model: decoded here, normalized by the graph or meta["transform"]
            self._geometry = None
            out = self.predict_tensor(self.load_input(item).unsqueeze(0))[0]
            name = item if isinstance(item, str) else type(item).__name__
            result = {"input": name, **self.task.format_prediction(out, self.classes, top)}
            return self.task.to_original(result, self._geometry) if self._geometry is not None else result
        else:
            out = decoded_outputs(self.model, self.preprocessor.encode([item], strict=strict), self.task)[0]
        name = item if isinstance(item, str) else type(item).__name__
        flags = self.preprocessor.flags(item) if self.preprocessor is not None else {}
        result = {"input": name, **self.task.format_prediction(out, self.classes, top), **flags}
        geometries = getattr(self.preprocessor, "geometries", None)  # images: model pixels -> original pixels
        return self.task.to_original(result, geometries[0]) if geometries else result


def _image_geometry(path: str, size: int | None, model_w: int, model_h: int):
    """The :class:`~deepdojo.data.geometry.InputGeometry` of one image file decoded for the model (EXIF rotation counted)."""
    from PIL import Image

    from deepdojo.data.geometry import InputGeometry

    with Image.open(path) as im:
        width, height = im.size
        if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # decode_image rotates these: width and height swap
            width, height = height, width
    return InputGeometry.resize_crop(width, height, size) if size is not None else \
        InputGeometry.stretch(width, height, model_w, model_h)


def load_learner(path: str | Path) -> Predictor:
    """A ready-to-predict object from ``learn.export(path)`` (a ``.safetensors`` file) or a run folder.

    The same as :meth:`Predictor.from_run` / :meth:`Predictor.from_checkpoint`:
    ``load_learner(p).predict(item)`` returns what ``learn.predict(item)`` did.
    """
    path = Path(path)
    if path.is_dir():
        return Predictor.from_run(path)
    return Predictor.from_checkpoint(path)
