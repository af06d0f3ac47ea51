"""Export a trained model in a standard form: ONNX (onnxruntime) or a ``torch.export`` ExportedProgram.

``deepdojo export RUN --format onnx|exported-program`` rebuilds the run's model from its verified
checkpoint and exports it with a dynamic batch dimension:

- **Preprocessing baked in** (default): the exported graph takes *raw* inputs -- image pixels as
  float32 ``(B, C, H, W)`` in 0..255, or unscaled feature rows ``(B, F)`` -- and applies the run's
  normalization itself. ``--preprocessing beside`` exports the bare model and leaves the
  normalization to the caller (its mean/std are in the sidecar).
- The graph returns the model's raw outputs (logits for classification); ``deepdojo predict``
  and :class:`ExportedModel` apply softmax and name the classes.
- Beside the model, ``<name>.json`` records the format, input shape and dtype, classes, task,
  where the preprocessing lives, and the source run and checkpoint.

Every registered model family exports to both formats (parity with eager PyTorch <= 1e-5 is
tested over the registry); :data:`CANNOT_EXPORT` lists any that cannot, with the reason.
TorchScript is not offered: ``torch.jit.script`` is deprecated in this PyTorch.

Example (a run: ``export_run(run_dir, "onnx")``; any module: ``export_module``):
    >>> import tempfile
    >>> path = export_module(nn.Linear(3, 2), torch.zeros(2, 3), "exported-program", Path(tempfile.mkdtemp(), "m.pt2"))
    >>> load_exported(path)(torch.ones(5, 3)).shape  # a dynamic batch: traced at 2, run at 5
    torch.Size([5, 2])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepdojo.errors import ConfigError, DataError
from deepdojo.predict import Predictor
from deepdojo.train.run_folder import atomic_write_bytes, write_json

FORMATS = {"onnx": ".onnx", "exported-program": ".pt2"}
PREPROCESSING = ("baked", "beside")
# Registered families that cannot be exported as built, with the reason (the registry's parity test skips
# them with it; every other family's parity is tested, so a family that stops exporting fails there).
_PACKED = ("over token ids it packs padded sequences with per-row lengths read from the data "
           "(pack_padded_sequence), which torch.export cannot trace; over feature sequences (T, F) it exports")
CANNOT_EXPORT: dict[str, str] = {"lstm": _PACKED, "gru": _PACKED}
# ...and the input that does export for those: feature sequences (T, F)
EXPORTABLE_VARIANT: dict[str, dict] = {"lstm": {"in_features": 4, "vocab_size": None},
                                       "gru": {"in_features": 4, "vocab_size": None}}


class WithPreprocessing(nn.Module):
    """``model(normalize(x))`` as one graph: the run's transform (mean/std buffers) in front of the model."""

    def __init__(self, model: nn.Module, transform: dict | None):
        super().__init__()
        self.model = model
        kind = (transform or {}).get("kind")
        self.kind = kind
        if kind == "image":
            c = len(transform["mean"])
            # x / 255 then (x - mean) / std, folded: (x - 255 mean) / (255 std); same float32 ops as training
            self.register_buffer("mean", torch.tensor(transform["mean"], dtype=torch.float32).view(1, c, 1, 1))
            self.register_buffer("std", torch.tensor(transform["std"], dtype=torch.float32).view(1, c, 1, 1))
        elif kind == "features":
            self.register_buffer("mean", torch.tensor(transform["mean"], dtype=torch.float32))
            self.register_buffer("std", torch.tensor(transform["std"], dtype=torch.float32))
        elif kind == "signal":  # per channel of (B, C, T)
            c = len(transform["mean"])
            self.register_buffer("mean", torch.tensor(transform["mean"], dtype=torch.float32).view(1, c, 1))
            self.register_buffer("std", torch.tensor(transform["std"], dtype=torch.float32).view(1, c, 1))
        elif kind is not None:
            raise ConfigError(f"cannot bake preprocessing of kind {kind!r}", where="transform",
                              fix="export with --preprocessing beside")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "image":
            x = (x / 255.0 - self.mean) / self.std  # (B, C, H, W) raw pixels -> normalized, as ImageBatchTransform
        elif self.kind in ("features", "signal"):
            x = (x - self.mean) / self.std  # (B, F) features or (B, C, T) signals -> standardized, as in training
        return self.model(x)


def input_dtype(meta: dict[str, Any]) -> str:
    """``int64`` for token-id sequences ``(T,)``, else ``float32``."""
    from deepdojo.models.registry import _MODELS, model_kind

    arch = meta.get("arch", "")
    seq = arch in _MODELS and model_kind(arch) == "sequence" and len(meta["input_shape"]) == 1
    return "int64" if seq else "float32"


def example_input(meta: dict[str, Any], batch: int = 2) -> torch.Tensor:
    """A raw input batch of the run's shape: pixels 0..255, features ~N(0, 1), or token ids."""
    shape = tuple(meta["input_shape"])
    g = torch.Generator().manual_seed(0)
    if input_dtype(meta) == "int64":
        high = int((meta.get("model_kwargs") or {}).get("vocab_size", 2))
        return torch.randint(0, high, (batch, *shape), generator=g)
    if len(shape) == 3:
        return torch.randint(0, 256, (batch, *shape), generator=g).float()
    return torch.randn(batch, *shape, generator=g)


def export_module(module: nn.Module, x: torch.Tensor, fmt: str, path: str | Path) -> Path:
    """Export ``module`` (eval mode) traced at ``x`` with a dynamic first (batch) dimension to ``path``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", where="--format", fix=f"use one of {', '.join(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    dynamic = ({0: batch},)
    with torch.no_grad():
        program = torch.export.export(module, (x,), dynamic_shapes=dynamic, strict=False)
    tmp = path.with_name(f".tmp-{path.name}")  # same suffix: torch.export.save wants .pt2
    try:
        if fmt == "exported-program":
            torch.export.save(program, str(tmp))
        else:
            _onnx_export(module, x, dynamic, tmp)
        atomic_write_bytes(path, tmp.read_bytes())  # one atomic write: never a half-written model
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _onnx_export(module: nn.Module, x: torch.Tensor, dynamic: tuple, path: Path) -> None:
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError:
        raise ConfigError("ONNX export needs the onnx and onnxscript packages", where="--format onnx",
                          fix="pip install 'deepdojo[export]'") from None
    import logging
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        program = torch.onnx.export(module, (x,), dynamo=True, dynamic_shapes=dynamic, input_names=["input"],
                                    output_names=["output"], external_data=False, verbose=False)
    program.save(str(path))


def export_run(run_dir: str | Path, fmt: str = "onnx", out: str | Path | None = None, checkpoint: str = "best",
               preprocessing: str = "baked") -> Path:
    """Export the run's model (``checkpoint``: best, falling back to last); returns the model file's path.

    ``out`` defaults to ``RUN/export/model.onnx`` (or ``model.pt2``); the sidecar JSON goes beside it.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", where="--format", fix=f"use one of {', '.join(FORMATS)}")
    if preprocessing not in PREPROCESSING:
        raise ConfigError(f"unknown preprocessing placement {preprocessing!r}", where="--preprocessing",
                          fix="use baked or beside")
    run_dir = Path(run_dir)
    predictor = Predictor.from_run(run_dir, checkpoint)
    meta = dict(predictor.meta)
    arch = meta.get("arch", "")
    if arch in CANNOT_EXPORT and input_dtype(meta) == "int64":
        raise ConfigError(f"model {arch!r} cannot be exported: {CANNOT_EXPORT[arch]}", where=str(run_dir))
    model = predictor.model.cpu().eval()
    transform = meta.get("transform")
    module = WithPreprocessing(model, transform if preprocessing == "baked" else None)
    path = Path(out) if out is not None else run_dir / "export" / f"model{FORMATS[fmt]}"
    if path.suffix != FORMATS[fmt]:
        path = path.with_suffix(FORMATS[fmt])
    export_module(module, example_input(meta), fmt, path)
    sidecar = {
        "format": fmt,
        "input": {"name": "input", "shape": ["batch", *meta["input_shape"]], "dtype": input_dtype(meta),
                  "values": "raw pixels 0..255" if len(meta["input_shape"]) == 3 else "raw features"},
        "output": "logits (apply softmax for probabilities)" if meta.get("task") == "classification" else "outputs",
        "preprocessing": preprocessing,
        "transform": transform,  # with "beside": apply this yourself; with "baked": already in the graph
        "task": meta.get("task"),
        "classes": meta.get("classes"),
        "input_shape": meta.get("input_shape"),
        "arch": arch,
        "source": {"run": str(run_dir), "checkpoint": checkpoint},
        "torch": torch.__version__,
    }
    write_json(path.with_suffix(".json"), sidecar)
    return path


class _OrtModule(nn.Module):
    """An onnxruntime session behind an ``nn.Module`` face (CPU; float32 in, float32 out)."""

    def __init__(self, path: Path):
        super().__init__()
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError("running an ONNX model needs onnxruntime", where=str(path),
                              fix="pip install 'deepdojo[export]'") from None
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {self.input_name: np.ascontiguousarray(x.detach().cpu().numpy())})[0]
        return torch.from_numpy(out)


class _ProgramModule(nn.Module):
    """An ExportedProgram's module, traced in eval mode (its own ``.eval()`` is not supported: not a submodule)."""

    def __init__(self, graph: nn.Module):
        super().__init__()
        object.__setattr__(self, "graph", graph)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(x)


def load_exported(path: str | Path) -> nn.Module:
    """The exported model at ``path`` (``.onnx`` via onnxruntime, ``.pt2`` via ``torch.export.load``) as a module."""
    path = Path(path)
    if not path.is_file():
        raise DataError("exported model not found", where=str(path), fix="run 'deepdojo export RUN' first")
    if path.suffix == ".onnx":
        return _OrtModule(path)
    if path.suffix == ".pt2":
        return _ProgramModule(torch.export.load(str(path)).module())
    raise DataError("not an exported model (expected .onnx or .pt2)", where=str(path), fix="pass the file export wrote")


class ExportedModel(Predictor):
    """A :class:`Predictor` over an exported file: same ``predict_input``/``predict_tensor``."""

    @classmethod
    def load(cls, path: str | Path) -> "ExportedModel":
        path = Path(path)
        if not path.is_file():
            raise DataError("exported model not found", where=str(path), fix="run 'deepdojo export RUN' first")
        side = path.with_suffix(".json")
        try:
            meta = json.loads(side.read_text())
        except (OSError, json.JSONDecodeError):
            raise DataError("the exported model's JSON sidecar is missing or broken", where=str(side),
                            fix="re-run 'deepdojo export' (it writes the model and its .json together)") from None
        model = load_exported(path)
        # preprocessing "baked": the graph normalizes; "beside": Predictor applies meta["transform"] first
        info = {**meta, "transform": meta.get("transform") if meta.get("preprocessing") == "beside" else None}
        exported = cls(model, info)
        # inputs are decoded here and normalized by the graph (baked) or by meta["transform"] (beside), never by
        # the run's full preprocessor as well: that one normalizes too, and twice is a silent wrong answer
        exported.preprocessor = None
        return exported


def is_exported_path(text: str | Path) -> bool:
    """Does ``text`` name an exported model file (``.onnx`` / ``.pt2``)?"""
    return Path(text).suffix in FORMATS.values()
