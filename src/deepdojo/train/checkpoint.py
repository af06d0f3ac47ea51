"""Model weights on disk: one safetensors file whose header carries the metadata and a SHA-256.

What ``predict`` needs besides the weights (classes, task, input shape,
preprocessing, model spec, epoch) is stored as one JSON string in the
safetensors header's ``__metadata__``, next to a digest of everything else in
the file: the header (tensor names, dtypes, shapes, offsets, the metadata) and
every tensor byte. Weights and metadata are one atomic write under one hash,
so a flipped byte, a hand-edited class list or a mix of two saves is refused,
never a silent wrong answer. The metadata is also checked against a schema
(``checkpoint_meta.py``).

Never pickle: a file that is not safetensors is refused before anything in it
is read as code.

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> m = torch.nn.Linear(2, 1)
    >>> p = save_weights(m, Path(tempfile.mkdtemp()) / "w", meta={"arch": "linear"})
    >>> p.name, read_meta(p)["arch"]
    ('w.safetensors', 'linear')
    >>> load_weights(torch.nn.Linear(2, 1), p)["format"]
    'deepdojo-weights-2'
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
from deepdojo.io import atomic_write_bytes
from deepdojo.train.checkpoint_meta import check_meta

FORMAT = "deepdojo-weights-2"
META_KEY, DIGEST_KEY = "deepdojo_meta", "deepdojo_sha256"  # keys of the header's __metadata__ (str -> str)
MAX_HEADER = 100 * 2**20  # safetensors' own limit on the header's size


def weights_path(path: str | Path) -> Path:
    """``x`` or ``x.safetensors`` -> ``x.safetensors``."""
    path = Path(path)
    return path if path.suffix == ".safetensors" else path.with_name(path.name + ".safetensors")


def tensors_to_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """safetensors bytes of CPU, contiguous, non-aliased copies (tied weights are saved twice)."""
    return st_save({k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}, metadata=metadata)


def _split(raw: bytes, path: Path) -> tuple[dict[str, Any], bytes]:
    """``(header dict, tensor bytes)`` of a safetensors file, after the cheap structural checks."""
    check_safetensors_header(raw, path)
    (n,) = struct.unpack("<Q", raw[:8])
    try:
        header = json.loads(raw[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError("checkpoint header is not valid JSON (corrupt)", where=str(path)) from None
    if not isinstance(header, dict):
        raise CheckpointError("checkpoint header is not a mapping (corrupt)", where=str(path))
    return header, raw[8 + n :]


def _digest(header: dict[str, Any], data: bytes) -> str:
    """SHA-256 of the header without the digest itself (canonical JSON), then the tensor bytes."""
    meta = {k: v for k, v in (header.get("__metadata__") or {}).items() if k != DIGEST_KEY}
    canonical = json.dumps({**header, "__metadata__": meta}, sort_keys=True, separators=(",", ":"))
    h = hashlib.sha256(canonical.encode())
    h.update(data)
    return h.hexdigest()


def encode_weights(tensors: dict[str, torch.Tensor], meta: dict[str, Any] | None = None, where: str | None = None) -> bytes:
    """The bytes of a weights file: tensors, ``meta`` (checked) and the digest over both, in one buffer."""
    meta = dict(meta or {})
    check_meta(meta, where)
    try:
        text = json.dumps(meta, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint metadata is not JSON-serialisable ({exc})", where=where) from None
    first = tensors_to_bytes(tensors, {"format": FORMAT, META_KEY: text})
    header, data = _split(first, Path(where or "<memory>"))
    header["__metadata__"][DIGEST_KEY] = _digest(header, data)
    body = json.dumps(header, separators=(",", ":")).encode()
    body += b" " * (-(8 + len(body)) % 8)  # keep the tensor data 8-byte aligned, as safetensors does
    return struct.pack("<Q", len(body)) + body + data


def save_weights(model: nn.Module, path: str | Path, meta: dict[str, Any] | None = None,
                 state_dict: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``model.state_dict()`` (or ``state_dict``, e.g. gathered from FSDP shards) and ``meta`` to
    ``<path>.safetensors`` in one atomic write."""
    path = weights_path(path)
    atomic_write_bytes(path, encode_weights(model.state_dict() if state_dict is None else state_dict, meta, str(path)))
    return path


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` of a weights file, after checking its structure, digest and metadata schema.

    ``meta`` is what was saved plus ``format`` and ``sha256`` (of the whole file, as ``sha256sum``
    prints it). A file in the old format (metadata in a JSON sidecar) is refused: nothing vouched
    for its sidecar.
    """
    path = weights_path(path)
    if not path.is_file():
        raise CheckpointError("checkpoint not found", where=str(path), fix="check the run folder")
    raw = path.read_bytes()
    header, data = _split(raw, path)
    stored = header.get("__metadata__") or {}
    if not isinstance(stored, dict) or stored.get("format") != FORMAT or META_KEY not in stored:
        raise CheckpointError(f"checkpoint is not in format {FORMAT} (an older deepdojo's, or not deepdojo's): its "
                              "metadata is not integrity-checked", where=str(path),
                              fix="retrain, or convert a file of deepdojo's older format with "
                                  "deepdojo.train.checkpoint.upgrade_weights(path)")
    if stored.get(DIGEST_KEY) != _digest(header, data):
        raise CheckpointError("checkpoint hash does not match its contents (corrupt or modified)", where=str(path),
                              fix="restore the file, or retrain")
    try:
        meta = json.loads(stored[META_KEY])
    except (TypeError, json.JSONDecodeError):
        raise CheckpointError("checkpoint metadata is not valid JSON", where=str(path)) from None
    check_meta(meta, str(path))
    try:
        tensors = st_load(raw)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint cannot be read ({str(exc).splitlines()[0] if str(exc) else exc!r})",
                              where=str(path)) from None
    return tensors, {**meta, "format": FORMAT, "sha256": hashlib.sha256(raw).hexdigest()}


def read_meta(path: str | Path) -> dict[str, Any]:
    """The verified metadata of a weights file (see :func:`read_checkpoint`)."""
    return read_checkpoint(path)[1]


def read_verified_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file whose digest and metadata verify."""
    return read_checkpoint(path)[0]


def check_safetensors_header(raw: bytes, path: Path) -> None:
    """A safetensors file is an 8-byte little-endian header length, then that much JSON.

    Nothing in the file is ever unpickled; a pickle or zip (``torch.save``) payload is named as such.
    A header length of 640 starts with the bytes of a pickle's protocol-2 opcode, so the pickle
    test only speaks when the bytes do not also parse as a safetensors header.
    """
    n = struct.unpack("<Q", raw[:8])[0] if len(raw) >= 8 else -1
    looks_safetensors = 0 < n <= min(len(raw) - 8, MAX_HEADER) and raw[8:9] == b"{"
    if not looks_safetensors and (raw[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or raw[:2] == b"PK"):
        raise CheckpointError("refusing a pickle/zip payload where safetensors was expected (it could run code)",
                              where=str(path), fix="only load checkpoints written by deepdojo")
    if len(raw) < 10:
        raise CheckpointError("checkpoint is truncated", where=str(path))
    if not looks_safetensors:
        raise CheckpointError("not a safetensors file (bad header)", where=str(path))


def load_into(model: nn.Module, tensors: dict[str, torch.Tensor], path: str | Path, strict: bool = True) -> None:
    """``model.load_state_dict(tensors)`` with a one-line error when the shapes or names do not fit."""
    try:
        model.load_state_dict(tensors, strict=strict)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"weights do not fit this model: {first}", where=str(weights_path(path)),
                              fix="build the same architecture the checkpoint was trained with") from None


def load_weights(model: nn.Module, path: str | Path, strict: bool = True) -> dict[str, Any]:
    """Verify and load weights into ``model`` (in place); returns the metadata."""
    tensors, meta = read_checkpoint(path)
    load_into(model, tensors, path, strict)
    return meta


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the architecture a weights file records and load its weights: ``(model in eval mode, meta)``.

    The file is read and verified once; a spec this version cannot build is a one-line error.
    """
    from deepdojo.models.hub import build_model

    tensors, meta = read_checkpoint(path)
    path = weights_path(path)
    missing = [k for k in ("arch", "num_classes", "input_shape") if meta.get(k) is None]
    if missing:
        raise CheckpointError(f"checkpoint does not record {', '.join(missing)}, so the model cannot be rebuilt",
                              where=str(path), fix="save it with Learner.save from a vision.classifier run")
    try:
        model = build_model(meta["arch"], tuple(meta["input_shape"]), meta["num_classes"], **meta.get("model_kwargs", {}))
    except (TypeError, ValueError) as exc:  # kwargs this version's model does not take
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"cannot rebuild the model {meta['arch']!r} ({first})", where=str(path),
                              fix="use the deepdojo version that trained it, or retrain") from None
    load_into(model, tensors, path)
    return model.eval(), meta


def upgrade_weights(path: str | Path) -> Path:
    """Convert a weights file of the older format (``x.safetensors`` + ``x.json`` sidecar) to this one, in place.

    Only a file whose sidecar carries a SHA-256 that matches it is converted (the old format's own
    check, now mandatory); its metadata must pass the schema. The sidecar is removed afterwards.
    """
    path = weights_path(path)
    side = path.with_suffix(".json")
    try:
        old = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError("no readable JSON sidecar beside this weights file", where=str(side),
                              fix="retrain: without its sidecar nothing vouches for the file") from None
    if not isinstance(old, dict) or old.get("format") != "deepdojo-weights-1" or not old.get("sha256"):
        raise CheckpointError("the sidecar is not a deepdojo-weights-1 sidecar with a sha256", where=str(side),
                              fix="retrain: nothing vouches for this file")
    raw = path.read_bytes()
    check_safetensors_header(raw, path)
    if hashlib.sha256(raw).hexdigest() != old["sha256"]:
        raise CheckpointError("weights file hash does not match its sidecar (corrupt or modified)", where=str(path),
                              fix="restore the file, or retrain")
    meta = {k: v for k, v in old.items() if k not in ("format", "sha256", "bytes")}
    try:
        tensors = st_load(raw)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"checkpoint cannot be read ({exc!r})"[:300], where=str(path)) from None
    atomic_write_bytes(path, encode_weights(tensors, meta, str(path)))
    side.unlink()
    return path


def update_meta(path: str | Path, changes: dict[str, Any]) -> None:
    """Merge ``changes`` into a weights file's metadata: verified first, rewritten in one atomic write.

    For what is decided after training, such as a threshold chosen on validation.
    """
    tensors, meta = read_checkpoint(path)  # never bless a corrupt file with new metadata
    saved = {k: v for k, v in meta.items() if k not in ("format", "sha256")}
    path = weights_path(path)
    atomic_write_bytes(path, encode_weights(tensors, {**saved, **changes}, str(path)))


def read_foreign_tensors(path: str | Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Tensors of a plain safetensors file that is not deepdojo's (published weights, a user's file).

    Nothing is unpickled (a pickle/zip is refused before anything is parsed); ``sha256`` (of the
    whole file), when given, must match.
    """
    path = Path(path)
    raw = path.read_bytes()
    _split(raw, path)  # structure checks: safetensors, not a pickle
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise CheckpointError("weights file hash does not match the published SHA-256 (corrupt or another file)",
                              where=str(path), fix="download it again, or pass the file the hash belongs to")
    try:
        return st_load(raw)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"weights file cannot be read ({str(exc).splitlines()[0] if str(exc) else exc!r})",
                              where=str(path)) from None


def is_deepdojo_weights(path: str | Path) -> bool:
    """Does ``path`` hold a deepdojo weights file (metadata in its header), rather than foreign weights?"""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > MAX_HEADER:
                return False
            header = json.loads(f.read(n))
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError):
        return False
    stored = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(stored, dict) and stored.get("format") == FORMAT
