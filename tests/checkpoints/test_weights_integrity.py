"""best/last weights files: metadata and tensors under one digest, the metadata checked by a schema.

A tampered, mismatched or old-format file never gives an answer: ``deepdojo predict`` exits 2 with
one line naming the file (issue 13, items 1-2).
"""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from deepdojo.cli.main import main
from deepdojo.errors import CheckpointError
from deepdojo.train import checkpoint as ck
from deepdojo.train.checkpoint import load_weights, read_checkpoint, read_meta, save_weights


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from deepdojo import vision

    out = tmp_path_factory.mktemp("runs")
    learn = vision.classifier("builtin:xor", out=out, name="xor", progress=False, seed=0)
    learn.fit(1, 0.05)
    return learn.run.path


@pytest.fixture
def best(run, tmp_path):
    """A copy of the run's checkpoints folder to tamper with: ``(run_dir, best.safetensors)``."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    return copy, copy / "checkpoints" / "best.safetensors"


def predict(run_dir, capsys, *inputs) -> tuple[int, str, str]:
    code = main(["predict", str(run_dir), *(inputs or ("1.0,1.0",)), "--json"])
    out, err = capsys.readouterr()
    return code, out, err


def forge(path, meta) -> None:
    """Rewrite ``path`` with ``meta`` and a *matching* digest: what a bug or a hand-made file would hold."""
    tensors, _ = read_checkpoint(path)
    first = ck.tensors_to_bytes(tensors, {"format": ck.FORMAT, ck.META_KEY: json.dumps(meta)})
    header, data = ck._split(first, path)
    header["__metadata__"][ck.DIGEST_KEY] = ck._digest(header, data)
    body = json.dumps(header).encode()
    body += b" " * (-(8 + len(body)) % 8)
    path.write_bytes(struct.pack("<Q", len(body)) + body + data)


def stored_meta(path) -> dict:
    meta = read_meta(path)
    return {k: v for k, v in meta.items() if k not in ("format", "sha256")}


def test_a_saved_file_holds_its_metadata_and_round_trips(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = save_weights(model, tmp_path / "w", meta={"task": "classification", "classes": ["a", "b"], "num_classes": 2})
    assert not (tmp_path / "w.json").exists()  # one file, one atomic write
    other = torch.nn.Linear(3, 2)
    meta = load_weights(other, path)
    assert meta["classes"] == ["a", "b"] and meta["format"] == "deepdojo-weights-2"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))


def test_predict_works_on_an_untouched_run(best, capsys):
    code, out, _ = predict(best[0], capsys)
    assert code == 0 and json.loads(out.splitlines()[-1])["predictions"][0]["prediction"] in ("0", "1")


def test_a_corrupt_tensor_byte_is_refused(best, capsys):
    run_dir, path = best
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x40  # a weight, not the header
    path.write_bytes(bytes(raw))
    code, out, err = predict(run_dir, capsys)
    assert code == 2 and out == "" and "hash does not match" in err and str(path) in err
    assert len(err.strip().splitlines()) == 1


def test_a_file_without_a_digest_is_refused_hash_is_mandatory(best, capsys):
    """The old format: weights plus a JSON sidecar with its sha256 key deleted. Old code answered with exit 0."""
    run_dir, path = best
    tensors, meta = read_checkpoint(path)
    raw = bytearray(st_save({k: v.contiguous() for k, v in tensors.items()}))
    raw[-3] ^= 0x40
    path.write_bytes(bytes(raw))
    side = {k: v for k, v in meta.items() if k not in ("sha256", "format")}
    path.with_suffix(".json").write_text(json.dumps({"format": "deepdojo-weights-1", **side}))
    code, _, err = predict(run_dir, capsys)
    assert code == 2 and "not in format deepdojo-weights-2" in err


def test_the_digest_drops_with_the_header_key_removed(best, capsys):
    run_dir, path = best
    raw = path.read_bytes()
    header, data = ck._split(raw, path)
    del header["__metadata__"][ck.DIGEST_KEY]
    body = json.dumps(header).encode()
    body += b" " * (-(8 + len(body)) % 8)
    path.write_bytes(struct.pack("<Q", len(body)) + body + data)
    code, _, err = predict(run_dir, capsys)
    assert code == 2 and "hash does not match" in err


def test_hand_edited_metadata_is_refused(best, capsys):
    """Reversed classes in the header, digest untouched: refused (the old sidecar gave wrong labels, exit 0)."""
    run_dir, path = best
    raw = path.read_bytes()
    header, data = ck._split(raw, path)
    meta = json.loads(header["__metadata__"][ck.META_KEY])
    meta["classes"] = meta["classes"][::-1]
    header["__metadata__"][ck.META_KEY] = json.dumps(meta)
    body = json.dumps(header).encode()
    body += b" " * (-(8 + len(body)) % 8)
    path.write_bytes(struct.pack("<Q", len(body)) + body + data)
    code, _, err = predict(run_dir, capsys)
    assert code == 2 and "hash does not match" in err


def test_an_edited_tensor_index_is_refused(best, capsys):
    """Swapping two tensors' offsets keeps every byte of data: the digest covers the index too."""
    run_dir, path = best
    header, data = ck._split(path.read_bytes(), path)
    names = sorted((k for k, v in header.items() if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    same = [(a, b) for a in names for b in names if a < b and header[a]["shape"] == header[b]["shape"]
            and header[a]["dtype"] == header[b]["dtype"]]
    if not same:
        pytest.skip("no two tensors of one shape in this model")
    a, b = same[0]
    header[a]["data_offsets"], header[b]["data_offsets"] = header[b]["data_offsets"], header[a]["data_offsets"]
    body = json.dumps(header).encode()
    body += b" " * (-(8 + len(body)) % 8)
    path.write_bytes(struct.pack("<Q", len(body)) + body + data)
    assert predict(run_dir, capsys)[0] == 2


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(classes=["0", "0"]), "classes: class names must be unique"),
    (lambda m: m.update(classes=["0", "1", "2"]), "3 class names for a model with 2 outputs"),
    (lambda m: m["transform"].update(std=[0.0, 1.0]), "transform: features: std: every value must be finite and > 0"),
    (lambda m: m["transform"].update(mean=[float("nan"), 0.0]), "mean: every value must be finite"),
    (lambda m: m["transform"].update(kind="fourier"), "unknown transform kind 'fourier'"),
    (lambda m: m.update(transform=[1, 2]), "transform: expected a mapping or null"),
    (lambda m: m.update(model_kwargs=[1, 2]), "model_kwargs: expected a mapping"),
    (lambda m: m.update(input_shape=[3, 2_000_000]), "input_shape: expected 1 to 4 dimensions"),
    (lambda m: m.update(input_shape=[3, 16384, 16384]), "elements per example"),
    (lambda m: m.update(num_classes="2"), "num_classes: expected a positive integer"),
    (lambda m: m.update(arch=None), "arch: expected a non-empty string"),
    (lambda m: m.update(epoch=-1), "epoch: expected an integer >= 0"),
])
def test_metadata_that_breaks_the_schema_is_a_one_line_error(best, capsys, edit, message):
    run_dir, path = best
    meta = stored_meta(path)
    edit(meta)
    forge(path, meta)
    code, out, err = predict(run_dir, capsys)
    assert code == 2 and out == "" and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("meta", [None, [1, 2], "text"])
def test_metadata_that_is_not_a_mapping_is_refused(best, capsys, meta):
    run_dir, path = best
    forge(path, meta)
    code, _, err = predict(run_dir, capsys)
    assert code == 2 and "checkpoint metadata: expected a mapping" in err


def test_missing_model_spec_is_a_one_line_error(best, capsys):
    run_dir, path = best
    meta = stored_meta(path)
    del meta["arch"], meta["input_shape"]
    forge(path, meta)
    code, _, err = predict(run_dir, capsys)
    assert code == 2 and "does not record arch, input_shape" in err


def test_saving_bad_metadata_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(CheckpointError, match="std: every value must be finite and > 0"):
        save_weights(torch.nn.Linear(2, 2), tmp_path / "w", meta={"transform": {"kind": "image", "mean": [0.5], "std": [0.0]}})
    assert list(tmp_path.iterdir()) == []


def test_extra_keys_pass_through_and_registered_fields_are_checked(tmp_path, monkeypatch):
    from deepdojo.train import checkpoint_meta

    path = save_weights(torch.nn.Linear(2, 2), tmp_path / "w", meta={"note": {"free": "form"}})
    assert read_meta(path)["note"] == {"free": "form"}

    def vocab(value, meta):
        if not isinstance(value, list):
            raise checkpoint_meta.MetaError("expected a list of tokens")

    monkeypatch.setitem(checkpoint_meta.META_FIELDS, "vocab", vocab)
    with pytest.raises(CheckpointError, match="vocab: expected a list of tokens"):
        save_weights(torch.nn.Linear(2, 2), tmp_path / "v", meta={"vocab": "abc"})


def test_a_verified_old_format_file_can_be_upgraded_in_place(best, capsys):
    """The old format (weights + sidecar with a sha256): refused as is, converted only when its hash matches."""
    import hashlib

    from deepdojo.train.checkpoint import upgrade_weights

    run_dir, path = best
    tensors, meta = read_checkpoint(path)
    raw = st_save({k: v.contiguous() for k, v in tensors.items()})
    path.write_bytes(raw)
    side = {k: v for k, v in meta.items() if k not in ("sha256", "format")}
    sidecar = path.with_suffix(".json")
    sidecar.write_text(json.dumps({"format": "deepdojo-weights-1", "sha256": hashlib.sha256(raw).hexdigest(), **side}))
    code, _, err = predict(run_dir, capsys)
    assert code == 2 and "upgrade_weights" in err
    tampered = bytearray(raw)
    tampered[-3] ^= 0x40
    path.write_bytes(bytes(tampered))
    with pytest.raises(CheckpointError, match="does not match its sidecar"):
        upgrade_weights(path)
    path.write_bytes(raw)
    upgrade_weights(path)
    assert not sidecar.exists() and stored_meta(path) == side
    code, out, _ = predict(run_dir, capsys)
    assert code == 0 and json.loads(out.splitlines()[-1])["predictions"]
