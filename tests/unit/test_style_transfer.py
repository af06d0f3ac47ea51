"""Neural style transfer: the losses against direct computations, the optimization, the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepdojo.cli.main import main
from deepdojo.errors import ConfigError, DataError
from deepdojo.models.style_features import FeatureTap, conv_layers, random_vgg, vgg_layers
from deepdojo.stylize import resolve_features, stylize
from deepdojo.tasks.style_transfer import (
    StyleObjective, gram_matrix, optimize_image, range_penalty, style_loss, tv_loss,
)

SIZE = 48


def pictures() -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth colour ramp (content) and a high-frequency stripe/noise texture (style), ``(1, 3, 48, 48)``."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, SIZE), torch.linspace(0, 1, SIZE), indexing="ij")
    content = torch.stack([xx, yy, 1 - xx])[None]
    gen = torch.Generator().manual_seed(0)
    style = torch.stack([(torch.sin(xx * 40) > 0).float(), (torch.sin(yy * 30) > 0).float(),
                         torch.rand(SIZE, SIZE, generator=gen)])[None]
    return content, style


def objective(seed: int = 0) -> StyleObjective:
    net = random_vgg(seed=seed, width_mult=0.25)
    content_layer, style_layers = vgg_layers(net)
    content, style = pictures()
    return StyleObjective(FeatureTap(net, [content_layer, *style_layers]), content_layer, style_layers, content, style)


def gram_distance(obj: StyleObjective, img: torch.Tensor) -> float:
    grams = obj.grams(img)
    return sum(float((grams[k] - obj.style_grams[k]).pow(2).sum() / obj.style_grams[k].pow(2).sum()) for k in grams)


def test_gram_matrix_matches_a_direct_computation():
    f = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    direct = torch.zeros(2, 5, 5, dtype=torch.float64)
    for b in range(2):
        for i in range(5):
            for j in range(5):
                direct[b, i, j] = sum(f[b, i, y, x] * f[b, j, y, x] for y in range(3) for x in range(4)) / (5 * 3 * 4)
    torch.testing.assert_close(gram_matrix(f), direct)


def test_style_loss_and_tv_match_direct_computations():
    feats = {"a": torch.randn(1, 3, 4, 4), "b": torch.randn(1, 6, 2, 2)}
    targets = {k: torch.randn(1, v.shape[1], v.shape[1]) for k, v in feats.items()}
    direct = sum(((gram_matrix(feats[k]) - targets[k]) ** 2).mean() for k in feats)
    torch.testing.assert_close(style_loss(feats, targets), direct)
    img = torch.rand(1, 3, 5, 6, dtype=torch.float64)
    a = img.numpy()
    expected = np.mean((a[..., 1:, :] - a[..., :-1, :]) ** 2) + np.mean((a[..., :, 1:] - a[..., :, :-1]) ** 2)
    assert float(tv_loss(img)) == pytest.approx(expected)
    assert float(range_penalty(torch.full((1, 3, 2, 2), 0.5))) == 0.0
    assert float(range_penalty(torch.full((1, 3, 2, 2), 1.5))) == pytest.approx(10 * 0.25)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_style_loss_falls_by_orders_of_magnitude_and_content_stays_bounded(optimizer):
    obj = objective()
    content, style = pictures()
    steps = 40 if optimizer == "lbfgs" else 100
    img, history = optimize_image(obj, content, steps=steps, optimizer=optimizer)
    first, last = history[0], history[-1]
    assert first["content"] == 0.0  # the start is the content image itself
    factor = 100 if optimizer == "lbfgs" else 10
    assert last["style"] < first["style"] / factor, (first, last)
    # bounded: the content term the result pays is a small part of the style term it removed
    assert last["content"] < 0.05 * first["style"], (first, last)
    assert img.min() >= 0 and img.max() <= 1
    # the history is honest: its last row is the loss of the image returned (L-BFGS ends on an evaluated point)
    if optimizer == "lbfgs":
        with torch.no_grad():
            assert float(obj(img)["total"]) == pytest.approx(last["total"], rel=1e-4)


def test_result_grams_move_toward_the_style_also_under_a_network_it_never_saw():
    obj, held_out = objective(seed=0), objective(seed=1)  # the second net's filters played no part
    content, style = pictures()
    img, _ = optimize_image(obj, content, steps=40, optimizer="lbfgs")
    for o in (obj, held_out):
        before, after = gram_distance(o, content), gram_distance(o, img)
        assert after < 0.5 * before, (before, after)
    # and the result's Gram matrices are nearer the style's than the content's were
    assert gram_distance(obj, img) < gram_distance(obj, content)


def test_conv_layers_of_any_cnn_are_taken_in_call_order():
    from deepdojo.models import create_model

    net = create_model("resnet18", 10, width_mult=0.25)
    content, style = conv_layers(net)
    first_conv = next(name for name, m in net.named_modules() if isinstance(m, torch.nn.Conv2d))
    assert style[0] == first_conv and len(style) == 5 and content not in style[:1]
    feats = FeatureTap(net, [content, *style])(torch.rand(1, 3, 32, 32))
    assert set(feats) == {content, *style}
    with pytest.raises(ConfigError, match="no layer"):
        FeatureTap(net, ["nope"])


def save(path, tensor: torch.Tensor) -> None:
    Image.fromarray((tensor[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(path)


@pytest.fixture
def images(tmp_path):
    content, style = pictures()
    save(tmp_path / "content.png", content)
    save(tmp_path / "style.png", style)
    return tmp_path


def test_api_writes_result_comparison_and_curves(images):
    r = stylize(images / "content.png", images / "style.png", out=images / "out" / "result.png", steps=5,
                size=SIZE, features="random-vgg16", width_mult=0.25, optimizer="lbfgs")  # decoded images are
    # permuted (non-contiguous) tensors: L-BFGS flattens gradients with view(), which needs them contiguous
    assert Image.open(images / "out" / "result.png").size == (SIZE, SIZE)
    assert Image.open(images / "out" / "result.compare.png").size[0] > 3 * SIZE
    saved = json.loads((images / "out" / "result.losses.json").read_text())
    assert len(saved["history"]) >= 5 and saved["final"]["style"] == r.history[-1]["style"]
    assert "random-weight VGG-16" in r.note and saved["note"] == r.note


def test_cli_bad_style_image_is_one_line_exit_2_and_nothing_written(images, capsys):
    (images / "style.jpg").write_bytes(b"not an image at all")
    code = main(["stylize", str(images / "content.png"), str(images / "style.jpg"), "--out",
                 str(images / "res" / "result.png"), "--size", "32", "--steps", "2", "--features", "random-vgg16"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "style.jpg" in err and "decode" in err
    assert not (images / "res").exists()


def test_cli_runs_and_states_the_fallback_limit(images, capsys, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(images / "empty-cache"))  # no cached VGG weights: auto falls back
    code = main(["stylize", str(images / "content.png"), str(images / "style.png"), "--out", str(images / "r.png"),
                 "--size", "32", "--steps", "3", "--optimizer", "adam", "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "random-weight VGG-16" in err and len([line for line in err.splitlines() if "note" in line]) == 1
    files = json.loads(out.strip().splitlines()[-1])["files"]
    assert sorted(files) == ["compare", "losses_json", "losses_png", "result"]


def test_missing_imagenet_weights_name_where_to_put_them(tmp_path):
    with pytest.raises(ConfigError, match="never downloads") as info:
        resolve_features("vgg16-imagenet", cache_dir=tmp_path)
    assert str(tmp_path) in str(info.value) and "huggingface.co" in str(info.value)
    with pytest.raises(ConfigError, match="unknown features"):
        resolve_features("vgg99")


def test_bad_settings_are_config_errors(images):
    with pytest.raises(ConfigError, match="optimizer"):
        stylize(images / "content.png", images / "style.png", optimizer="sgd")
    with pytest.raises(ConfigError, match=r"\.png or \.jpg"):
        stylize(images / "content.png", images / "style.png", out=images / "result.txt")
    with pytest.raises(DataError, match="not found"):
        stylize(images / "missing.png", images / "style.png", steps=1)
    with pytest.raises(ConfigError, match="style_weight"):
        stylize(images / "content.png", images / "style.png", style_weight=-1.0)


def test_features_from_a_run_folder_use_its_cnn_and_normalization(images, tmp_path):
    import deepdojo

    learn = deepdojo.learner("builtin:digits", arch="cnn", out=tmp_path / "runs", name="cnn", progress=False, seed=0)
    learn.fit(1, 3e-3)
    feats = resolve_features(learn.run.path)
    assert feats.in_channels == 1 and "the CNN of run" in feats.source and feats.note is None
    assert feats.mean == tuple(learn.data.info["transform"]["mean"])  # the run's own normalization
    r = stylize(images / "content.png", images / "style.png", features=learn.run.path, size=32, steps=15)
    assert r.history[-1]["style"] < r.history[0]["style"] / 10
    assert r.image.shape == (3, 32, 32)


def test_a_run_on_non_image_data_is_refused(tmp_path):
    import deepdojo

    learn = deepdojo.learner("builtin:xor", out=tmp_path / "runs", name="xor", progress=False, seed=0)
    learn.fit(1, 1e-2)
    with pytest.raises(ConfigError, match="not images"):
        resolve_features(learn.run.path)
