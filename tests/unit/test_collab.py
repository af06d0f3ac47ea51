"""Collaborative filtering: ratings source, splits, cold start, baselines, planted low-rank recovery, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepdojo.cli.main import main
from deepdojo.data.builtin import RATINGS_NOISE, ratings_arrays
from deepdojo.data.csv_sources import load_csv
from deepdojo.data.ratings import ratings_data, ratings_split
from deepdojo.errors import DataError
from deepdojo.models import create_model
from deepdojo.run import build
from deepdojo.tasks import get_task
from deepdojo.tasks.collab import bias_model


def planted(**kw):
    d = ratings_arrays(n_users=150, n_items=100, rank=3, density=0.4, seed=0, **kw)
    return d, ratings_data([f"u{k}" for k in d["users"]], [f"i{k}" for k in d["items"]], d["ratings"],
                           split="user", seed=0, batch_size=256)


def test_dot_model_recovers_a_planted_low_rank_matrix_to_near_the_noise_floor():
    d, data = planted()
    learn = build(data, task="collab", out=None, arch="dot", model_kwargs={"n_factors": 3}, weight_decay=0.1, seed=0)
    learn.fit(20, 3e-2)
    va = data.valid
    with torch.no_grad():
        pred = learn.model.eval()(va.x).reshape(-1)
    rmse = float(((pred - va.y) ** 2).mean().sqrt())
    base = get_task("collab").baselines(data.train.x.numpy(), data.train.y.numpy(), va.x.numpy(), va.y.numpy(),
                                        None, 5, 0)
    assert rmse < 1.25 * RATINGS_NOISE, rmse  # the floor is RATINGS_NOISE: no model can beat the noise
    assert rmse < 0.5 * base["bias"]["rmse"] and base["bias"]["rmse"] < base["global_mean"]["rmse"]


def test_bias_model_matches_ridge_least_squares():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    x = np.stack([rng.integers(1, 9, 300), rng.integers(1, 7, 300)], 1)
    y = rng.normal(3, 1, 300)
    b = bias_model(x, y, reg=2.0, iters=200)
    onehot = np.concatenate([np.eye(9)[x[:, 0]], np.eye(7)[x[:, 1]]], 1)
    ridge = Ridge(alpha=2.0, fit_intercept=False).fit(onehot, y - y.mean())  # same objective, mean held fixed
    np.testing.assert_allclose(b.predict(x), y.mean() + ridge.predict(onehot), atol=1e-6)


def test_splits_per_user_keep_every_user_in_training_and_time_holds_out_the_latest():
    users = np.repeat(np.arange(20), 5)
    s = ratings_split(users, None, "user", 0.2, seed=0)
    assert set(users[s["train"]]) == set(range(20)) and len(s["valid"]) == 20
    times = np.arange(100)[::-1].astype(float)
    s = ratings_split(users, times, "time", 0.1, seed=0)
    assert times[s["valid"]].min() > times[s["train"]].max()
    with pytest.raises(DataError, match="timestamp"):
        ratings_split(users, None, "time", 0.1, seed=0)


def test_cold_start_rows_get_the_global_bias_plus_known_biases_and_are_counted():
    users = ["a", "a", "b", "b", "new", "a"]
    items = ["x", "y", "x", "y", "x", "fresh"]
    data = ratings_data(users, items, np.array([5, 1, 4, 2, 3, 3.0]),
                        splits={"train": np.arange(4), "valid": np.array([4, 5])})
    assert data.valid.x.tolist() == [[0, 1], [1, 0]]  # unseen ids -> code 0
    model = create_model("dot", 1, **get_task("collab").model_kwargs(data))
    with torch.no_grad():
        model.item_bias.weight[1] = 0.7
        model.user_bias.weight[1] = -0.2
        out = model(data.valid.x)
        lo, hi = model.y_range
        expected = lo + (hi - lo) * torch.sigmoid(model.bias + torch.tensor([0.7, -0.2]))  # the known bias only
    assert torch.allclose(out.reshape(-1), expected.reshape(-1))
    task = get_task("collab")
    base = task.baselines(data.train.x.numpy(), data.train.y.numpy(), data.valid.x.numpy(), data.valid.y.numpy(),
                          None, 5, 0)
    assert base["cold_start"]["counts"] == {"rows": 2, "new_user": 1, "new_item": 1, "either": 2}
    assert any("2 of 2 validation ratings are cold start" in s for s in task.compare({"rmse": 1.0}, base))


def write_ratings(path, n=400, bad=None):
    rng = np.random.default_rng(0)
    rows = [f"u{rng.integers(0, 30)},m{rng.integers(0, 20)},{rng.integers(1, 6)},{i}" for i in range(n)]
    if bad is not None:
        rows[bad] = "u1,m1,five,7"
    path.write_text("user,item,rating,timestamp\n" + "\n".join(rows) + "\n")
    return path


def test_ratings_csv_is_detected_by_its_columns(tmp_path):
    data = load_csv(write_ratings(tmp_path / "r.csv"))
    assert data.task == "collab" and data.train.x.dtype == torch.int64 and data.train.y.dtype == torch.float32
    assert data.info.preprocess["n_users"] <= 31


def test_non_numeric_rating_is_one_line_exit_2(tmp_path, capsys):
    path = write_ratings(tmp_path / "r.csv", bad=9)
    code = main(["train", str(path), "--task", "collab", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "r.csv:11 (rating)" in err and "'five'" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_cli_train_ratings_csv_with_task_collab_end_to_end(tmp_path, capsys):
    path = write_ratings(tmp_path / "ratings.csv")
    code = main(["train", str(path), "--task", "collab", "--epochs", "2", "--lr", "0.01", "--out", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0, out
    run = next((tmp_path / "runs").iterdir())
    evaluation = json.loads((run / "evaluation.json").read_text())
    baselines = json.loads((run / "baselines.json").read_text())
    assert {"rmse", "mae"} <= set(evaluation["valid"]) and np.isfinite(evaluation["valid"]["rmse"])
    assert {"global_mean", "bias", "cold_start"} <= set(baselines["baselines"])
    assert any("cold start" in s for s in baselines["comparison"])
