"""Pretrained ImageNet weights without torchvision: key mapping against a forward-pass oracle, download
from a local server (verified, cached, resumable, offline message), user files, normalization, fine-tuning.

The oracle (tests/fixtures/pretrained_oracle.json, made by make_pretrained_oracle.py
under torch 2.14 + torchvision 0.29 + timm) holds the reference models' outputs
under deterministic weights that tests/fixtures/oracle_weights.py rebuilds here
from each key alone; the zoo's model with those weights mapped must agree.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from deepdojo.errors import CheckpointError, ConfigError
from deepdojo.data.remote import DownloadError
from deepdojo.models import create_model
from deepdojo.models.foreign_weights import IMAGENET_MEAN, IMAGENET_STD, adapt_input_conv, guess_arch, load_foreign
from deepdojo.train import pretrained
from deepdojo.train.pretrained import PublishedWeights, load_imagenet

FIXTURES = Path(__file__).parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
import oracle_weights as ow  # noqa: E402

ORACLE = json.loads((FIXTURES / "pretrained_oracle.json").read_text())
CASES = {f"{c['layout']}-{c['arch']}": c for c in ORACLE["cases"]}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_mapped_weights_reproduce_the_reference_outputs(name):
    case = CASES[name]
    x = ow.inputs(case["input_seed"], tuple(case["input_shape"]))
    assert ow.tensor_sha256(x) == case["input_sha256"]  # the same seeded bits as in the reference venv
    tensors = ow.state_dict(case["keys"])
    assert guess_arch(tensors) == case["arch"]
    model = create_model(case["arch"], 1000)
    info = load_foreign(model, case["arch"], tensors, keep_head=True)
    assert info["new"] == [] and info["layout"] == ("timm" if case["layout"] == "timm" and "vgg" in name else "torchvision")
    del tensors
    with torch.no_grad():
        y = model.eval()(x).double()  # (B, 1000)
    scale = max(map(abs, case["row_norm"]))
    keep = ORACLE["keep"]
    torch.testing.assert_close(y[:, :keep], torch.tensor(case["logits"], dtype=torch.float64), rtol=1e-4, atol=1e-5 * scale)
    torch.testing.assert_close(y.sum(1), torch.tensor(case["row_sum"], dtype=torch.float64), rtol=1e-4, atol=1e-4 * scale)
    torch.testing.assert_close(y.norm(dim=1), torch.tensor(case["row_norm"], dtype=torch.float64), rtol=1e-4, atol=0.0)


def test_a_missing_or_misshapen_tensor_is_an_error_not_a_partial_load():
    tensors = ow.state_dict(CASES["torchvision-resnet18"]["keys"])
    short = {k: v for k, v in tensors.items() if not k.startswith("layer4.1.bn2")}
    with pytest.raises(CheckpointError, match="lacks the tensor 'stages.3.1.bn2"):
        load_foreign(create_model("resnet18", 10), "resnet18", short)
    with pytest.raises(CheckpointError, match="wrong shape.*small_input"):
        load_foreign(create_model("resnet18", 10, small_input=True), "resnet18", tensors)
    with pytest.raises(CheckpointError, match="lacks the tensor"):  # resnet34 weights are not resnet18's
        load_foreign(create_model("resnet34", 10), "resnet34", tensors)


def test_new_head_is_kept_and_grey_stem_is_the_rgb_sum():
    tensors = ow.state_dict(CASES["torchvision-resnet18"]["keys"])
    rgb, grey = create_model("resnet18", 1000), create_model("resnet18", 5, in_channels=1)
    head_before = grey.head.weight.clone()
    load_foreign(rgb, "resnet18", tensors, keep_head=True)
    info = load_foreign(grey, "resnet18", tensors)
    assert info["new"] == ["head.bias", "head.weight"] and torch.equal(grey.head.weight, head_before)
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():  # a grey image through the summed stem == the same image as R = G = B through RGB
        feats = lambda m, inp: m.pool(m.stages(m.stem(inp)))  # noqa: E731
        torch.testing.assert_close(feats(grey.eval(), x), feats(rgb.eval(), x.expand(-1, 3, -1, -1)), rtol=1e-4, atol=1e-4)
    w = torch.randn(4, 3, 3, 3)
    assert adapt_input_conv(w, 6).shape == (4, 6, 3, 3) and torch.allclose(adapt_input_conv(w, 6).sum(1), w.sum(1))


# ---------------------------------------------------------------- files and downloads


def tiny_resnet(num_classes=1000, seed=0):
    torch.manual_seed(seed)
    return create_model("resnet18", num_classes, width_mult=0.125)


def torchvision_names(ours: dict) -> dict:
    """Our ResNet state dict under torchvision's names (the inverse of the mapping)."""
    out = {}
    for k, v in ours.items():
        k = re.sub(r"^stem\.0\.", "conv1.", k)
        k = re.sub(r"^stem\.1\.", "bn1.", k)
        k = re.sub(r"^head\.", "fc.", k)
        k = re.sub(r"^stages\.(\d)\.", lambda m: f"layer{int(m.group(1)) + 1}.", k).replace(".shortcut.", ".downsample.")
        out[k] = v.clone()
    return out


@pytest.fixture
def weights_bytes():
    source = tiny_resnet(seed=1)
    return st_save(torchvision_names(source.state_dict())), source


@pytest.fixture
def server():
    from test_download import FileServer  # the same local server the dataset downloads are tested with

    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def publish(server, monkeypatch, body: bytes, sha256: str | None):
    import hashlib

    server.files["model.safetensors"] = body
    entry = PublishedWeights("test/resnet18.tv_in1k", sha256 if sha256 != "auto" else hashlib.sha256(body).hexdigest(),
                             url_override=server.url("model.safetensors"))
    monkeypatch.setitem(pretrained.IMAGENET, "resnet18", entry)
    return entry


def same_body(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if not k.startswith("head."))


def test_imagenet_download_is_verified_cached_and_resumed(server, monkeypatch, weights_bytes):
    body, source = weights_bytes
    publish(server, monkeypatch, body, "auto")
    server.cut["model.safetensors"] = len(body) // 3  # the first response breaks a third of the way
    model = tiny_resnet(num_classes=4, seed=2)
    info = load_imagenet(model, "resnet18", "imagenet")
    assert same_body(model, source) and info["new"] == ["head.bias", "head.weight"]
    assert [r for _, r in server.requests] == [None, f"bytes={len(body) // 3}-"]  # resumed, not restarted
    load_imagenet(tiny_resnet(num_classes=4), "resnet18", "imagenet")
    assert len(server.requests) == 2  # the cache answered
    assert Path(info["source"]).parent.parent.name == "weights"


def test_wrong_digest_is_refused_and_unknown_digest_never_downloads(server, monkeypatch, weights_bytes):
    body, _ = weights_bytes
    publish(server, monkeypatch, body, "0" * 64)
    with pytest.raises(DownloadError, match="corrupt download"):
        load_imagenet(tiny_resnet(), "resnet18", "imagenet")
    publish(server, monkeypatch, body, None)
    server.requests.clear()
    with pytest.raises(ConfigError, match="no pinned SHA-256.*pass --pretrained FILE"):
        load_imagenet(tiny_resnet(), "resnet18", "imagenet")
    assert server.requests == []
    with pytest.raises(ConfigError, match="only a pickle"):
        pretrained.imagenet_file("alexnet")


def test_offline_error_is_one_line_saying_where_to_put_the_file(monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    entry = PublishedWeights("timm/resnet18.tv_in1k", "a" * 64, url_override=f"http://127.0.0.1:{port}/model.safetensors")
    monkeypatch.setitem(pretrained.IMAGENET, "resnet18", entry)
    with pytest.raises(DownloadError) as err:
        load_imagenet(tiny_resnet(), "resnet18", "imagenet")
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "cache" / "weights" / "timm--resnet18.tv_in1k" / "model.safetensors") in msg
    assert "--pretrained FILE.safetensors" in msg


def test_user_file_loads_and_pickles_are_refused(tmp_path, weights_bytes):
    body, source = weights_bytes
    path = tmp_path / "resnet18.safetensors"
    path.write_bytes(body)
    from deepdojo.train.checkpoint import save_weights

    ours = save_weights(tiny_resnet(), tmp_path / "run_ckpt")  # a deepdojo checkpoint (sidecar): not a foreign file
    assert pretrained.is_weights_file(str(path)) and not pretrained.is_weights_file(str(ours))
    assert pretrained.resolve_arch(str(path), "auto") == "resnet18" and pretrained.resolve_arch("imagenet", "auto") == "resnet18"
    model = tiny_resnet(num_classes=3)
    load_imagenet(model, "resnet18", str(path))
    assert same_body(model, source)
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(b"\x80\x04\x95" + b"\0" * 64)  # a pickle wearing the wrong suffix
    with pytest.raises(CheckpointError, match="refusing a pickle"):
        load_imagenet(tiny_resnet(), "resnet18", str(evil))


# ---------------------------------------------------------------- the whole path: API and CLI


def test_classifier_fine_tunes_from_a_weights_file_with_imagenet_normalization(tmp_path, weights_bytes):
    from deepdojo import vision
    from deepdojo.predict import Predictor

    body, source = weights_bytes
    path = tmp_path / "w.safetensors"
    path.write_bytes(body)
    learn = vision.classifier("builtin:digits", arch="resnet18", pretrained=str(path), out=tmp_path / "runs",
                              progress=False, model_kwargs={"width_mult": 0.125}, batch_size=128)
    grey_mean = sum(IMAGENET_MEAN) / 3
    assert learn.data.info["transform"]["mean"] == pytest.approx([grey_mean])
    assert learn.data.info["transform"]["std"] == pytest.approx([sum(IMAGENET_STD) / 3])
    stem = source.state_dict()["stem.0.weight"].sum(1, keepdim=True)  # grey digits: the RGB stem summed
    assert torch.allclose(learn.model.state_dict()["stem.0.weight"], stem)
    learn.fine_tune(1, 1e-3)
    assert [h["epoch"] for h in learn.history] == [0, 1]
    p = Predictor.from_run(learn.run.path, checkpoint="last")
    assert p.meta["transform"]["mean"] == pytest.approx([grey_mean])
    x = learn.data.valid.x[learn.data.valid.index[:4]] if learn.data.valid.index is not None else learn.data.valid.x[:4]
    torch.testing.assert_close(p.predict_tensor(x), learn.predict(x), rtol=1e-5, atol=1e-6)


def test_cli_pretrained_file_runs_the_fine_tune_recipe(tmp_path, weights_bytes, capsys):
    from deepdojo.cli.main import main

    body, _ = weights_bytes
    (tmp_path / "w.safetensors").write_bytes(body)
    (tmp_path / "cfg.toml").write_text('[model_kwargs]\nwidth_mult = 0.125\n')
    code = main(["train", "builtin:digits", "--arch", "resnet18", "--pretrained", str(tmp_path / "w.safetensors"),
                 "--config", str(tmp_path / "cfg.toml"), "--epochs", "1", "--lr", "0.001", "--batch-size", "256",
                 "--out", str(tmp_path / "runs"), "--name", "ft", "--json"])
    assert code == 0
    run = tmp_path / "runs" / "ft"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["pretrained"].endswith("w.safetensors") and cfg["size"] == 224
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len([m for m in lines if "train_loss" in m]) == 2  # one frozen epoch + --epochs 1
    from deepdojo.train.checkpoint import read_meta

    side = read_meta(run / "checkpoints" / "last.safetensors")
    assert side["transform"]["mean"] == pytest.approx([sum(IMAGENET_MEAN) / 3])
    from deepdojo.evaluate.run_eval import evaluate_run, load_run_data

    rebuilt = load_run_data(run)  # evaluate rebuilds the data: with the recorded ImageNet normalization
    assert rebuilt.info["transform"] == side["transform"]
    last = [m for m in lines if "valid_loss" in m][-1]
    assert evaluate_run(run, checkpoint="last")["metrics"]["loss"] == pytest.approx(last["valid_loss"], rel=1e-4)
