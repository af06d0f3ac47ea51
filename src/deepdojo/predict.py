"""Inference from a run folder: rebuild the model, load verified weights, preprocess like training.

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

from deepdojo.data.transforms import transform_from_json
from deepdojo.errors import CheckpointError, DataError
from deepdojo.train.checkpoint import model_from_checkpoint, weights_path


class Predictor:
    """A trained model with its preprocessing and class names."""

    def __init__(self, model: torch.nn.Module, meta: dict[str, Any]):
        self.model, self.meta = model.eval(), meta
        self.transform = transform_from_json(meta.get("transform"))
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
        return cls(*model_from_checkpoint(path))  # digest and metadata schema verified

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

    def predict_input(self, item: str, top: int = 3) -> dict[str, Any]:
        """One input -> ``{"input", "prediction", "probability", "top": [...]}``."""
        out = self.predict_tensor(self.load_input(item).unsqueeze(0))[0]
        if self.meta.get("task") != "classification":
            return {"input": item, "prediction": out.tolist()}
        probs, idx = out.topk(min(top, len(out)))
        names = [self.classes[i] if self.classes else str(i) for i in idx.tolist()]
        return {
            "input": item, "prediction": names[0], "probability": float(probs[0]),
            "top": [{"class": n, "probability": float(p)} for n, p in zip(names, probs.tolist())],
        }
