"""Inference from a run folder: rebuild the model, load verified weights, preprocess like training.

The checkpoint carries the task (and what it chose on validation, e.g. a
multi-label threshold) and every preprocessing step (normalization, image
decode settings), so a new input is prepared exactly as the training data was
and the output is decoded and printed by the task.

Example:
    >>> import tempfile
    >>> from deepdojo import vision
    >>> learn = vision.classifier("builtin:xor", out=tempfile.mkdtemp(), progress=False, seed=0)
    >>> learn.fit(2, 0.05)
    >>> p = Predictor.from_run(learn.run.path)
    >>> p.predict_input("1.0,1.0")["prediction"] in ("0", "1")
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepdojo.errors import DataError
from deepdojo.evaluate.run_eval import run_checkpoint
from deepdojo.tasks import get_task
from deepdojo.train.checkpoint import model_from_checkpoint
from deepdojo.train.inference import predict_batch


class Predictor:
    """A trained model with its task, preprocessing and class names."""

    def __init__(self, model: torch.nn.Module, meta: dict[str, Any]):
        self.model, self.meta = model.eval(), meta
        self.task = get_task(meta.get("task") or "classification", **(meta.get("task_state") or {}))
        self.classes = meta.get("classes")
        self.input_shape = tuple(meta["input_shape"]) if meta.get("input_shape") else None

    @classmethod
    def from_run(cls, run_dir: str | Path, checkpoint: str = "best") -> "Predictor":
        """Load ``run_dir/checkpoints/<checkpoint>.safetensors`` (falls back to ``last``)."""
        return cls(*model_from_checkpoint(run_checkpoint(run_dir, checkpoint)))

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
        if a.shape[:2] != (h, w):  # trained at native size: bring the image to that size whole, without cropping
            a = np.asarray(Image.fromarray(a).resize((w, h), Image.BILINEAR))
        x = torch.from_numpy(np.ascontiguousarray(a).copy())
        return x.unsqueeze(0) if x.dim() == 2 else x.permute(2, 0, 1)

    def predict_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Raw batch ``(B, ...)`` -> the task's decoded outputs (classification: probabilities ``(B, K)``)."""
        return predict_batch(self.model, x, self.meta.get("transform"), self.task)

    def predict_input(self, item: str, top: int = 3) -> dict[str, Any]:
        """One input -> ``{"input", "prediction", ...}`` as the task formats it (classification: probability, top)."""
        out = self.predict_tensor(self.load_input(item).unsqueeze(0))[0]
        return {"input": item, **self.task.format_prediction(out, self.classes, top)}
