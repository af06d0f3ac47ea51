"""The streamed checkpoint writer: byte-identical to safetensors' own serializer (the oracle), its
hash equal to the file's, for every dtype, empty and scalar tensors, and the threaded large path."""

from __future__ import annotations

import hashlib

import pytest
import torch
from safetensors.torch import load, save

from deepdojo.train import state_files
from deepdojo.train.state_files import read_state, stream_tensors, write_state


def _mixed() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "model/w": torch.randn(7, 5, generator=g), "model/b": torch.randn(5, generator=g).double(),
        "opt/h": torch.randn(3, 3, generator=g).half(), "opt/bf": torch.randn(4, generator=g).bfloat16(),
        "rng/state": torch.randint(0, 255, (17,), generator=g, dtype=torch.uint8), "acc/n": torch.tensor(3),
        "mask": torch.tensor([True, False, True]), "empty": torch.zeros(0, 4), "i8": torch.arange(-3, 3, dtype=torch.int8),
        "i32": torch.arange(6, dtype=torch.int32).view(2, 3).t(),  # not contiguous
    }


@pytest.mark.parametrize("threaded", [False, True])
def test_streamed_bytes_equal_safetensors_save(tmp_path, monkeypatch, threaded):
    if threaded:
        monkeypatch.setattr(state_files, "_THREADED_MIN", 0)
        monkeypatch.setattr(state_files, "_PIECE", 64)  # many pieces: the hashing thread interleaves
    tensors = _mixed()
    digest, size = stream_tensors(tmp_path / "s.safetensors", tensors)
    raw = (tmp_path / "s.safetensors").read_bytes()
    assert raw == save({k: v.contiguous() for k, v in tensors.items()})
    assert digest == hashlib.sha256(raw).hexdigest() and size == len(raw)
    back = load(raw)
    assert all(torch.equal(back[k], v) for k, v in tensors.items())
    assert [p.name for p in tmp_path.iterdir()] == ["s.safetensors"]  # no temp file left


def test_large_state_round_trips_through_write_and_read_state(tmp_path):
    tensors = {"model/w": torch.randn(3 << 20), "opt/m": torch.randn(1 << 20)}  # 16 MB: the threaded path
    path = write_state(tmp_path, tensors, {"step": 1})
    back, meta = read_state(path)
    assert meta["bytes"] == path.stat().st_size and all(torch.equal(back[k], v) for k, v in tensors.items())


def test_unsupported_dtype_is_a_checkpoint_error(tmp_path):
    with pytest.raises(Exception, match="complex"):
        stream_tensors(tmp_path / "c.safetensors", {"z": torch.zeros(2, dtype=torch.complex64)})
    assert list(tmp_path.iterdir()) == []
