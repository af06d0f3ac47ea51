"""Autoencoders: the KL term against torch.distributions, the ELBO terms, training, anomaly scores, linear probes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import deepdojo
from deepdojo.cli.main import main
from deepdojo.errors import ConfigError, DataError
from deepdojo.models import create_model
from deepdojo.models.autoencoder import ConvAutoencoder, gaussian_kl
from deepdojo.tasks import get_task


def test_kl_term_matches_torch_distributions():
    mu, logvar = torch.randn(6, 5, dtype=torch.float64), torch.randn(6, 5, dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1))


def test_vae_outputs_pack_reconstruction_error_kl_and_code():
    torch.manual_seed(0)
    m = ConvAutoencoder(in_channels=1, image_size=(9, 7), latent=3, width=4, variational=True).eval()
    x = torch.randn(4, 1, 9, 7)  # odd sizes: the decoder's output is cropped to the input's
    out = m(x)
    mu, logvar = m.encode(x)
    assert out.shape == (4, 5)
    torch.testing.assert_close(out[:, 0], (m.reconstruct(x) - x).pow(2).flatten(1).mean(1))
    torch.testing.assert_close(out[:, 1], gaussian_kl(mu, logvar))
    torch.testing.assert_close(out[:, 2:], mu)
    plain = create_model("conv_ae", 2 + 3, in_channels=1, image_size=(9, 7), width=4)
    assert float(plain(x)[:, 1].detach().abs().max()) == 0.0  # no KL term without a variational code
    with pytest.raises(ConfigError, match="2 \\+ latent"):
        create_model("vae", 2, in_channels=1, image_size=(8, 8))


def test_loss_is_negative_elbo_per_pixel_and_terms_are_reported_apart():
    task = get_task("autoencoder", latent=2, beta=0.5, pixels=100)
    out = torch.tensor([[0.2, 10.0, 0, 0], [0.4, 30.0, 0, 0]])
    assert float(task.loss(out, torch.zeros(2))) == pytest.approx(((0.2 + 0.5 * 0.1) + (0.4 + 0.5 * 0.3)) / 2)
    names = [m.name for m in task.metrics()]
    assert names == ["recon_mse", "kl"]
    with pytest.raises(ConfigError, match="quantile"):
        get_task("autoencoder", quantile=1.5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs")
    learn = deepdojo.learner("builtin:digits", task="autoencoder", out=out, name="ae", progress=False, seed=0)
    learn.fit_one_cycle(6, 3e-3)
    learn.finish(baseline_budget_s=1)
    return learn


def codes_of(learn, loader):
    xs, codes, ys = [], [], []
    learn.model.eval()
    with torch.no_grad():
        for xb, yb in loader:
            codes.append(learn.model(xb)[:, 2:])
            xs.append(xb.flatten(1))
            ys.append(yb)
    return torch.cat(xs).numpy(), torch.cat(codes).numpy(), torch.cat(ys).numpy()


def test_linear_probe_on_the_latent_beats_raw_pixels_at_two_labels_per_class(trained):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xt, ct, yt = codes_of(trained, trained.data.train)
    xv, cv, yv = codes_of(trained, trained.data.valid)
    rng = np.random.RandomState(0)
    raw, latent = [], []
    for _ in range(10):  # 10 draws of 2 labelled images per class; the autoencoder saw every image, no label
        idx = np.concatenate([rng.choice(np.flatnonzero(yt == c), 2, replace=False) for c in range(10)])
        probe = lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))  # noqa: E731
        raw.append(probe().fit(xt[idx], yt[idx]).score(xv, yv))
        latent.append(probe().fit(ct[idx], yt[idx]).score(cv, yv))
    assert np.mean(latent) > np.mean(raw) + 0.02, (np.mean(raw), np.mean(latent))
    assert np.mean(np.array(latent) > np.array(raw)) >= 0.7


def test_threshold_is_chosen_on_validation_and_predict_flags_anomalies(trained, tmp_path, capsys):
    from sklearn.datasets import load_digits

    run = trained.run.path
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert json.dumps(evaluation).count('"threshold"') >= 1
    Image.fromarray(load_digits().images[0].astype(np.uint8) * 15).save(tmp_path / "digit.png")
    Image.fromarray((np.random.RandomState(0).rand(8, 8) * 255).astype(np.uint8)).save(tmp_path / "noise.png")
    code = main(["predict", str(run), str(tmp_path / "digit.png"), str(tmp_path / "noise.png"), "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"]
    digit, noise = rows
    assert digit["anomaly"] is False and noise["anomaly"] is True
    assert noise["score"] > noise["threshold"] > digit["score"]


def test_non_image_data_is_a_one_line_error(capsys, tmp_path):
    code = main(["train", "builtin:xor", "--task", "autoencoder", "--epochs", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "takes images" in err[0]
    with pytest.raises(DataError):
        deepdojo.learner("builtin:xor", task="autoencoder", out=None)


def test_finish_writes_reconstructions_latent_map_and_report_sections(trained):
    run = trained.run.path
    assert (run / "reconstructions.png").is_file() and (run / "latent_map.png").is_file()
    it = json.loads((run / "interpretation.json").read_text())
    assert it["latent_size"] == 16 and it["map"] == "pca" and len(it["explained_variance"]) == 2
    assert sorted(it["recon_mse_by_class"]) == [str(c) for c in range(10)]
    html = (run / "report.html").read_text()
    assert "Latent map" in html and "Reconstructions" in html and "failed" not in html


def test_latent_map_uses_the_code_itself_when_it_is_two_dimensional():
    from deepdojo.evaluate.autoencoder_view import AutoencoderView

    codes = torch.randn(12, 2)
    v = AutoencoderView(torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4), codes, None, None, torch.rand(12))
    assert v.map_kind == "latent" and np.allclose(v.map, codes.numpy())
