"""Inference from a run folder: rebuild the model, load verified weights, preprocess like training.

The checkpoint's metadata carries the data source's full preprocessing
(``preprocess``: image decode settings and normalization, scalers and category
maps, vocabularies; see :mod:`deepdojo.data.preprocess`), so raw inputs — image
files, CSV rows with categories as text, raw strings, or a whole CSV of them —
are prepared exactly as in training. :func:`load_learner` reads what
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
from deepdojo.data.transforms import transform_from_json
from deepdojo.errors import CheckpointError, DataError
from deepdojo.train.checkpoint import load_weights, read_meta, weights_path
from deepdojo.train.inference import model_outputs, predict_raw
from deepdojo.train.transfer import build_model


class Predictor:
    """A trained model with its preprocessing and class names."""

    def __init__(self, model: torch.nn.Module, meta: dict[str, Any]):
        self.model, self.meta = model.eval(), meta
        self.transform = transform_from_json(meta.get("transform"))
        self.preprocessor = preprocessor_from_meta(meta)  # raw input -> model input, as training did
        self.classes = meta.get("classes")
        self.input_shape = tuple(meta["input_shape"]) if meta.get("input_shape") else None

    @classmethod
    def from_run(cls, run_dir: str | Path, checkpoint: str = "best") -> "Predictor":
        """Load ``run_dir/checkpoints/<checkpoint>.safetensors`` (falls back to ``last``)."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise DataError("run folder does not exist", where=str(run_dir), fix="pass a folder made by 'deepdojo train'")
        path = weights_path(run_dir / "checkpoints" / checkpoint)
        if not path.exists() and checkpoint == "best":
            path = weights_path(run_dir / "checkpoints" / "last")
        if not path.exists():
            raise CheckpointError("no checkpoint in the run folder", where=str(path), fix="train first, or pass --checkpoint")
        return cls.from_checkpoint(path)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "Predictor":
        """Load a weights file with its metadata (written by ``learn.save`` / ``learn.export``)."""
        path = weights_path(path)
        if not path.exists():
            raise CheckpointError("checkpoint not found", where=str(path), fix="check the path")
        meta = read_meta(path)
        if "arch" not in meta:
            raise CheckpointError("checkpoint does not record its architecture", where=str(path))
        model = build_model(meta["arch"], tuple(meta["input_shape"]), meta["num_classes"], **meta.get("model_kwargs", {}))
        load_weights(model, path)
        return cls(model, meta)

    def predict(self, item: Any, strict: bool = False) -> Any:
        """One raw input (path, PIL image, array, CSV row, string) -> ``(label, index, probabilities)``
        for classification, the output otherwise: the same as ``learn.predict`` on the training Learner."""
        return predict_raw(self.model, self.preprocessor, self.meta.get("task", "classification"), self.classes, item,
                           strict=strict)

    def predict_items(self, inputs: list, top: int = 3, strict: bool = False) -> list[dict[str, Any]]:
        """Every input (a CSV/TSV of rows or a folder of images counts as its items) -> one result dict each.

        The results of a table are computed in batches; warnings about inputs
        that differ from the training data are in :attr:`notes`.
        """
        if self.preprocessor is None:
            raise CheckpointError("the checkpoint records no preprocessing", where="checkpoint",
                                  fix="retrain with this version of deepdojo")
        items = self.preprocessor.expand(inputs)
        if not items:
            raise DataError("no inputs found", where=", ".join(map(str, inputs)), fix="pass files, rows or texts")
        x = self.preprocessor.encode([item for _, item in items], strict=strict)
        task = self.meta.get("task", "classification")
        outs = model_outputs(self.model, x, task)
        return [self._result(name, out, top) for (name, _), out in zip(items, outs)]

    @property
    def notes(self) -> list[str]:
        return self.preprocessor.notes if self.preprocessor is not None else []

    def _result(self, name: str, out: torch.Tensor, top: int) -> dict[str, Any]:
        if self.meta.get("task") != "classification":
            return {"input": name, "prediction": out.tolist()}
        probs, idx = out.topk(min(top, len(out)))
        names = [self.classes[i] if self.classes else str(i) for i in idx.tolist()]
        return {"input": name, "prediction": names[0], "probability": float(probs[0]),
                "top": [{"class": n, "probability": float(p)} for n, p in zip(names, probs.tolist())]}

    def load_input(self, item: str) -> torch.Tensor:
        """An image file -> uint8 ``(C, H, W)``; ``"1.5,2"`` -> float features ``(F,)``."""
        if self.input_shape is not None and len(self.input_shape) == 3:
            from deepdojo.data.images import decode_image

            c, h, _ = self.input_shape
            if not Path(item).is_file():
                raise DataError("input file not found", where=item, fix="pass image file paths")
            a = decode_image(item, size=h, mode="L" if c == 1 else "RGB")
            x = torch.from_numpy(np.ascontiguousarray(a).copy())
            return x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)
        try:
            values = [float(v) for v in item.split(",")]
        except ValueError:
            raise DataError("expected comma-separated numbers", where=item, fix="e.g. 0.5,1.2") from None
        if self.input_shape is not None and len(values) != self.input_shape[0]:
            raise DataError(f"expected {self.input_shape[0]} numbers, got {len(values)}", where=item)
        return torch.tensor(values)

    @torch.no_grad()
    def predict_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Raw batch ``(B, ...)`` -> probabilities ``(B, K)`` (classification) or outputs."""
        if self.transform is not None:
            x, _ = self.transform(x, None, None)
        out = self.model(x.float()).float()
        return out.softmax(-1) if self.meta.get("task") == "classification" else out

    def predict_input(self, item: Any, top: int = 3, strict: bool = False) -> dict[str, Any]:
        """One raw input -> ``{"input", "prediction", "probability", "top": [...]}``."""
        if self.preprocessor is None:
            out = self.predict_tensor(self.load_input(item).unsqueeze(0))[0]
        else:
            x = self.preprocessor.encode([item], strict=strict)
            out = model_outputs(self.model, x, self.meta.get("task", "classification"))[0]
        return self._result(item if isinstance(item, str) else type(item).__name__, out, top)


def load_learner(path: str | Path) -> Predictor:
    """A ready-to-predict object from ``learn.export(path)`` (a ``.safetensors`` file) or a run folder.

    The same as :meth:`Predictor.from_run` / :meth:`Predictor.from_checkpoint`:
    ``load_learner(p).predict(item)`` returns what ``learn.predict(item)`` did.
    """
    path = Path(path)
    if path.is_dir():
        return Predictor.from_run(path)
    return Predictor.from_checkpoint(path)
