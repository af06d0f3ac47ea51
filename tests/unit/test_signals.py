"""1-D signals: arrays (N, T) / (N, C, T) and builtin:eeg through the API and the CLI, standardized per channel,
cnn1d by default, recurrent models reading (C, T) time-major, predict on raw signals; and the curriculum's claim
that 1-D convolutions beat an MLP on signals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import deepdojo
from deepdojo import Learner
from deepdojo.data import load_builtin, signal_data
from deepdojo.data.signals import EEG_BANDS, as_signals, eeg_arrays
from deepdojo.errors import DataError
from deepdojo.models import create_model


def _batches(dl) -> torch.Tensor:
    return torch.cat([xb for xb, _ in dl])


def test_one_channel_signals_gain_a_channel_axis_and_bad_arrays_say_why():
    assert as_signals(np.zeros((3, 16))).shape == (3, 1, 16)
    with pytest.raises(DataError, match=r"\(N, T\) or \(N, C, T\)"):
        as_signals(np.zeros((2, 3, 4, 5)))
    with pytest.raises(DataError, match="too short"):
        as_signals(np.zeros((5, 2)))
    x = np.zeros((4, 2, 10))
    x[2, 1, 7] = np.nan
    with pytest.raises(DataError, match="signal 2, channel 1, step 7 is nan"):
        as_signals(x)
    with pytest.raises(DataError, match="4 signals but 3 labels"):
        signal_data(np.zeros((4, 10)), [0, 1, 0])


def test_each_channel_is_standardized_with_training_statistics_only():
    g = np.random.default_rng(0)
    x = g.normal(size=(60, 2, 32)).astype(np.float32)
    y = np.arange(60) % 2
    data = signal_data(x, y, seed=0)
    train = torch.from_numpy(x[data.info["splits"]["train"]]).double()  # (N, C, T)
    want_mean = train.mean(dim=(0, 2))
    want_std = train.transpose(0, 1).reshape(2, -1).std(1)
    assert np.allclose(data.info["preprocess"]["mean"], want_mean.numpy(), atol=1e-6)
    assert np.allclose(data.info["preprocess"]["std"], want_std.numpy(), atol=1e-6)
    # raw units and offsets per channel do not change what the model sees
    scaled = x * np.array([1000.0, 0.01], np.float32)[:, None] + np.array([-5e4, 3.0], np.float32)[:, None]
    same = signal_data(scaled, y, seed=0)
    torch.testing.assert_close(_batches(same.valid), _batches(data.valid), atol=1e-4, rtol=1e-4)


def test_builtin_eeg_is_a_named_signal_set_whose_bands_differ():
    data = deepdojo.data.load_builtin("eeg", seed=0, test_pct=0.1)
    assert data.input_shape == (2, 128) and data.classes == list(EEG_BANDS)
    assert data.info["preprocess"]["kind"] == "signal" and data.info["sizes"]["test"] > 0
    x, y = eeg_arrays(n=200, seed=3)
    spectrum = np.abs(np.fft.rfft(x - x.mean(-1, keepdims=True), axis=-1)).sum(1)  # (n, 65): 1 Hz bins at 128 Hz
    excess = np.stack([spectrum[y == c].mean(0) for c in range(4)]) - spectrum.mean(0)  # (4, 65): over the background
    for c, hz in enumerate(EEG_BANDS.values()):
        assert abs(int(np.argmax(excess[c])) - hz) <= 2, (c, int(np.argmax(excess[c])))
    assert np.array_equal(eeg_arrays(50, seed=1)[0], eeg_arrays(50, seed=1)[0])


def test_conv1d_beats_an_mlp_on_signals():
    """The curriculum's claim. Measured (seed 0, 6 epochs): cnn1d ~0.95, mlp ~0.4 (chance 0.25)."""
    torch.manual_seed(0)
    x, y = eeg_arrays(n=800, seed=0)
    data = signal_data(x, y, seed=0, classes=list(EEG_BANDS))
    acc = {}
    for arch, kw in (("cnn1d", {"in_channels": 2, "widths": (16, 32)}), ("mlp", {"in_features": 2 * 128})):
        torch.manual_seed(0)
        learn = Learner(create_model(arch, 4, **kw), data, seed=0, progress=False)
        learn.fit_one_cycle(6, lr_max=1e-2)
        acc[arch] = learn.history[-1]["accuracy"]
    assert acc["cnn1d"] >= 0.85, acc
    assert acc["cnn1d"] - acc["mlp"] >= 0.3, acc


def test_recurrent_models_read_signals_time_major():
    """(C, T) samples through the GRU equal the same data laid out (T, C) for a plain GRU (same weights)."""
    torch.manual_seed(0)
    m = create_model("gru", 3, in_features=2, hidden_size=8, channels_first=True).eval()
    plain = create_model("gru", 3, in_features=2, hidden_size=8).eval()
    plain.load_state_dict(m.state_dict())
    x = torch.randn(4, 2, 20)  # (B, C, T)
    torch.testing.assert_close(m(x), plain(x.transpose(1, 2)))
    cnn = create_model("textcnn", 3, in_features=2, channels=4, channels_first=True).eval()
    flat = create_model("textcnn", 3, in_features=2, channels=4).eval()
    flat.load_state_dict(cnn.state_dict())
    torch.testing.assert_close(cnn(x), flat(x.transpose(1, 2)))


def test_api_arrays_choose_cnn1d_and_gru_on_request(tmp_path):
    x, y = eeg_arrays(n=120, seed=0)
    learn = deepdojo.learner(signal_data(x[:, 0], y), out=None, progress=False)  # (N, T): one channel
    assert learn.config["arch"] == "cnn1d" and learn.data.input_shape == (1, 128)
    gru = deepdojo.learner(signal_data(x, y), arch="gru", out=None, progress=False)
    assert gru.model.channels_first and gru.model.proj[0].in_features == 2  # two channels = two features per step
    learn.fit(1, 1e-3)


def test_cli_trains_on_builtin_eeg_and_predicts_a_raw_npy_signal(tmp_path, capsys, monkeypatch):
    from deepdojo.cli.main import main
    from deepdojo.predict import Predictor
    from deepdojo.train import auto_defaults

    monkeypatch.setattr(auto_defaults, "IMAGE_TARGET_STEPS", 30)  # the images-and-signals rule, at a test's scale
    monkeypatch.setattr(auto_defaults, "IMAGE_EPOCHS", 1)
    assert main(["train", "builtin:eeg", "--lr", "0.01", "--out", str(tmp_path), "--name", "eeg"]) == 0
    said = capsys.readouterr().out.splitlines()[1]
    # 960 training signals, 15 steps an epoch -> 2 epochs for 30 steps: signals follow the CNN (image) rule
    assert said.startswith("deepdojo: cnn1d on 960 training examples: 2 epochs of 15 steps (about 30 optimizer "
                           "steps for images and signals"), said
    cfg = json.loads((tmp_path / "eeg" / "config.json").read_text())
    assert cfg["arch"] == "cnn1d" and cfg["epochs"] == 2
    x, y = eeg_arrays(n=4, seed=9)
    np.save(tmp_path / "one.npy", x[0] * 3.0)  # raw units: predict standardizes like training
    p = Predictor.from_run(tmp_path / "eeg")
    out = p.predict_input(str(tmp_path / "one.npy"))
    assert out["prediction"] in EEG_BANDS
    direct = p.predict_input(x[0] * 3.0)
    assert direct["prediction"] == out["prediction"]
    with pytest.raises(DataError, match=r"shape \(channels, steps\) = \(2, 128\)"):
        p.predict_input(x[0, :, :100])
    capsys.readouterr()
    np.save(tmp_path / "short.npy", x[0, :, :100])
    assert main(["predict", str(tmp_path / "eeg"), str(tmp_path / "short.npy")]) == 2
    assert "(2, 128)" in capsys.readouterr().err


def test_baked_export_preprocessing_standardizes_signals_like_training():
    from deepdojo.data.signals import SignalTransform
    from deepdojo.export import WithPreprocessing

    torch.manual_seed(0)
    model = create_model("cnn1d", 4, in_channels=2, widths=(4,)).eval()
    tf = SignalTransform([10.0, -3.0], [2.0, 0.5])
    raw = torch.randn(3, 2, 32) * 5 + 7  # (B, C, T) raw units
    baked = WithPreprocessing(model, tf.to_json()).eval()
    with torch.no_grad():
        torch.testing.assert_close(baked(raw), model(tf(raw, None, None)[0]))


def _long_csv(path, x, y, shuffle=True):
    """(N, C, T) signals as a long-format CSV: one row per (series, step), rows in a random order."""
    rows = [f"s{n},{t},{','.join(f'{v:.6f}' for v in x[n, :, t])},{EEG_BANDS_NAMES[y[n]]}"
            for n in range(len(x)) for t in range(x.shape[2])]
    if shuffle:
        np.random.default_rng(0).shuffle(rows)
    chans = ",".join(f"ch{c}" for c in range(x.shape[1]))
    path.write_text(f"series_id,time,{chans},label\n" + "\n".join(rows) + "\n")
    return path


EEG_BANDS_NAMES = list(EEG_BANDS)


def test_long_format_csv_equals_the_arrays_it_was_written_from(tmp_path):
    from deepdojo.data.load import load_data

    x, y = eeg_arrays(n=24, seed=2)
    x = np.round(x, 4)  # what the CSV keeps (6 decimals)
    data = load_data(str(_long_csv(tmp_path / "long.csv", x, y)), seed=0)
    assert data.input_shape == (2, 128) and data.info["preprocess"]["kind"] == "signal"
    assert data.classes == sorted(EEG_BANDS_NAMES)
    # oracle: the same signals straight from the arrays (series ordered as first seen: rebuild that order)
    ids = []
    for line in (tmp_path / "long.csv").read_text().splitlines()[1:]:
        s = line.split(",")[0]
        if s not in ids:
            ids.append(s)
    order = [int(s[1:]) for s in ids]
    names = sorted(EEG_BANDS_NAMES)
    want = signal_data(x[order], np.array([names.index(EEG_BANDS_NAMES[y[i]]) for i in order]), seed=0)
    torch.testing.assert_close(_batches(data.valid), _batches(want.valid), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("edit,match", [
    (lambda t: t.replace("s3,5,", "s3,5,x", 1),  # series 3, step 5: line 2 + 3 * 8 + 5
     r"bad.csv:31 \(ch0\): 'x[-\d.]+' is not a number"),
    (lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("s4,7,")) + "\n", "series 's4' has 7 steps"),
])
def test_bad_long_csv_is_a_one_line_error_with_exit_2(tmp_path, capsys, edit, match):
    from deepdojo.cli.main import main

    x, y = eeg_arrays(n=8, seed=0)
    path = _long_csv(tmp_path / "bad.csv", x[:, :, :8], y, shuffle=False)
    path.write_text(edit(path.read_text()))
    assert main(["train", str(path), "--epochs", "1", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and __import__("re").search(match, err[0]), err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing half-written
