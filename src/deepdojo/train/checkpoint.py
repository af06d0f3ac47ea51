"""Model weights on disk: safetensors + a JSON sidecar carrying a SHA-256 of the weights.

Never pickle: a file that is not safetensors is refused before anything in it
is read as code.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> m = torch.nn.Linear(2, 1)
    >>> p = save_weights(m, Path(tempfile.mkdtemp()) / "w", meta={"arch": "linear"})
    >>> p.name, read_meta(p)["arch"]
    ('w.safetensors', 'linear')
    >>> load_weights(torch.nn.Linear(2, 1), p) and None
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from deepdojo.errors import CheckpointError
from deepdojo.io import atomic_write_bytes, read_json_file, write_json

FORMAT = "deepdojo-weights-1"


def weights_path(path: str | Path) -> Path:
    """``x`` or ``x.safetensors`` -> ``x.safetensors``."""
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_name(path.name + ".safetensors")


def sidecar_path(path: str | Path) -> Path:
    return weights_path(path).with_suffix(".json")


def tensors_to_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    """safetensors bytes of CPU, contiguous, non-aliased copies (tied weights are saved twice)."""
    return st_save({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()})


def save_weights(model: nn.Module, path: str | Path, meta: dict[str, Any] | None = None,
                 state_dict: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``model.state_dict()`` (or ``state_dict``, e.g. gathered from FSDP shards) to
    ``<path>.safetensors`` and ``<path>.json`` atomically."""
    path = weights_path(path)
    payload = tensors_to_bytes(model.state_dict() if state_dict is None else state_dict)
    atomic_write_bytes(path, payload)
    sidecar = {"format": FORMAT, "sha256": hashlib.sha256(payload).hexdigest(), "bytes": len(payload), **(meta or {})}
    write_json(sidecar_path(path), sidecar)
    return path


def read_meta(path: str | Path) -> dict[str, Any]:
    """The sidecar of a weights file."""
    side = sidecar_path(path)
    if not side.is_file():
        raise CheckpointError("checkpoint sidecar is missing", where=str(side), fix="re-save the checkpoint")
    return read_json_file(side, CheckpointError)


def read_verified_tensors(path: str | Path, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Load a safetensors file after checking its header, size and hash. Refuses pickles."""
    path = weights_path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint not found", where=str(path), fix="check the run folder")
    raw = path.read_bytes()
    check_safetensors_header(raw, path)
    if expected_sha256 is not None and hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise CheckpointError("checkpoint hash does not match its sidecar (corrupt or modified)", where=str(path))
    try:
        return st_load(raw)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint cannot be read ({exc})", where=str(path)) from None


def check_safetensors_header(raw: bytes, path: Path) -> None:
    """A safetensors file is an 8-byte little-endian header length, then that much JSON."""
    if raw[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or raw[:2] == b"PK":
        raise CheckpointError("refusing a pickle/zip payload where safetensors was expected (it could run code)",
                              where=str(path), fix="only load checkpoints written by deepdojo")
    if len(raw) < 10:
        raise CheckpointError("checkpoint is truncated", where=str(path))
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8 or raw[8:9] != b"{":
        raise CheckpointError("not a safetensors file (bad header)", where=str(path))


def load_weights(model: nn.Module, path: str | Path, strict: bool = True) -> dict[str, Any]:
    """Verify and load weights into ``model`` (in place); returns the sidecar."""
    meta = read_meta(path)
    tensors = read_verified_tensors(path, meta.get("sha256"))
    try:
        model.load_state_dict(tensors, strict=strict)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"weights do not fit this model: {first}", where=str(weights_path(path)),
                              fix="build the same architecture the checkpoint was trained with") from None
    return meta


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the architecture a weights file records and load its verified weights: ``(model, meta)``."""
    from deepdojo.models.hub import build_model

    meta = read_meta(path)
    if "arch" not in meta:
        raise CheckpointError("checkpoint does not record its architecture", where=str(weights_path(path)))
    model = build_model(meta["arch"], tuple(meta["input_shape"]), meta["num_classes"], **meta.get("model_kwargs", {}))
    load_weights(model, path)
    return model.eval(), meta


def update_meta(path: str | Path, changes: dict[str, Any]) -> None:
    """Merge ``changes`` into a weights file's metadata (its weights verified first, then rewritten atomically).

    For what is decided after training, such as a threshold chosen on validation.
    """
    meta = read_meta(path)
    read_verified_tensors(path, meta.get("sha256"))  # never bless a corrupt file with new metadata
    write_json(sidecar_path(path), {**meta, **changes})
