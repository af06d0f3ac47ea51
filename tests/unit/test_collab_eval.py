"""Collaborative filtering, evaluation side: top-N against a direct computation, the factors interpretation
against scikit-learn, predict through the saved vocabulary (cold start flagged), --split, MovieLens download."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

from deepdojo.cli.main import main
from deepdojo.data import download
from deepdojo.data.download import RemoteDataset, RemoteFile
from deepdojo.data.load import load_data
from deepdojo.data.ratings import ratings_data
from deepdojo.evaluate.collab_eval import factor_interpretation
from deepdojo.metrics.topn import topn_precision_recall
from deepdojo.models import create_model


def direct_topn(scores, train, held, ratings, k, threshold):
    """One user at a time, the plain definition."""
    precisions, recalls = [], []
    for u in range(scores.shape[0]):
        seen = {int(i) for uu, i in train if uu == u}
        relevant = {int(i) for (uu, i), r in zip(held, ratings) if uu == u and r >= threshold}
        if not relevant:
            continue
        ranked = sorted((i for i in range(scores.shape[1]) if i not in seen), key=lambda i: -scores[u, i])[:k]
        hits = len(relevant & set(ranked))
        precisions.append(hits / k)
        recalls.append(hits / len(relevant))
    return float(np.mean(precisions)), float(np.mean(recalls)), len(precisions)


def test_topn_precision_recall_matches_a_direct_per_user_computation():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(12, 30))  # distinct scores: the top K is unambiguous
    pairs = np.stack(np.divmod(rng.permutation(12 * 30)[:150], 30), 1)
    train, held = pairs[:100], pairs[100:]
    ratings = rng.integers(1, 6, len(held)).astype(float)
    for k in (1, 5, 10):
        got = topn_precision_recall(scores, train, held, ratings, k=k, threshold=4.0)
        p, r, n = direct_topn(scores, train, held, ratings, k, 4.0)
        assert got[f"precision@{k}"] == pytest.approx(p) and got[f"recall@{k}"] == pytest.approx(r)
        assert got["users"] == n and n > 3


def test_factor_interpretation_against_numpy_and_sklearn():
    from sklearn.decomposition import PCA
    from sklearn.metrics.pairwise import cosine_similarity

    users = [f"u{k % 5}" for k in range(40)]
    items = [f"i{k % 8}" for k in range(40)]  # 8 items x 5 ratings each
    data = ratings_data(users, items, np.full(40, 3.0), splits={"train": np.arange(40)})
    model = create_model("dot", 1, n_users=6, n_items=9, n_factors=3)
    rng = np.random.default_rng(1)
    bias, fac = rng.normal(size=9), rng.normal(size=(9, 3))
    with torch.no_grad():
        model.item_bias.weight[:, 0] = torch.tensor(bias, dtype=torch.float32)
        model.item_factors.weight[:] = torch.tensor(fac, dtype=torch.float32)
    f = factor_interpretation(model, data, top=8, min_count=1)
    codes = np.arange(1, 9)  # code j is item i{j-1} (sorted ids)
    assert [r["item"] for r in f["most_liked"]] == [f"i{c - 1}" for c in codes[np.argsort(-bias[codes])]]
    xy = np.array([[p["x"], p["y"]] for p in f["pca"]["points"]])
    ref = PCA(2).fit(fac[codes])
    np.testing.assert_allclose(np.abs(xy), np.abs(ref.transform(fac[codes])), atol=1e-4)  # up to each axis' sign
    np.testing.assert_allclose(f["pca"]["explained"], ref.explained_variance_ratio_, atol=1e-5)
    sims = cosine_similarity(fac[codes])
    for row in f["nearest"]:
        c = int(row["item"][1:])
        order = [j for j in np.argsort(-sims[c]) if j != c][:5]
        assert [a for a, _ in row["nearest"]] == [f"i{j}" for j in order]


def int_ratings(path, n=600):
    """Integer user/item ids as a real export has them, a timestamp column, a 1-5 scale."""
    rng = np.random.default_rng(0)
    rows = [f"{rng.integers(1, 40)},{rng.integers(100, 130)},{rng.integers(1, 6)},{1000 + i}" for i in range(n)]
    path.write_text("userId,movieId,rating,timestamp\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def collab_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("collab")
    path = int_ratings(tmp / "ratings.csv")
    runs = tmp / "runs"
    assert main(["train", str(path), "--task", "collab", "--split", "time", "--epochs", "3", "--lr", "0.03",
                 "--out", str(runs), "--name", "r"]) == 0
    return runs / "r"


def test_time_split_is_said_first_and_holds_out_the_latest(tmp_path, capsys):
    path = int_ratings(tmp_path / "ratings.csv")
    assert main(["train", str(path), "--task", "collab", "--split", "time", "--epochs", "1", "--lr", "0.01",
                 "--out", str(tmp_path / "runs"), "--name", "t"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("ratings: ") and "split: time" in out[1] and "latest" in out[1], out[:3]
    assert out[2].startswith("cold start: ") and "validation ratings" in out[2]
    splits = json.loads((tmp_path / "runs" / "t" / "splits.json").read_text())
    valid = np.array(splits["indices"]["valid"])
    assert valid.min() >= 600 - len(valid)  # rows are in time order here: the held-out ones are the last


def test_split_on_data_that_is_not_ratings_is_one_line_exit_2(tmp_path, capsys):
    assert main(["train", "builtin:xor", "--split", "user", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "split" in err and "ratings" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing half-written


def test_predict_maps_raw_ids_through_the_vocabulary_and_flags_cold_start(collab_run, capsys):
    capsys.readouterr()
    assert main(["predict", str(collab_run), "5,110", "5,999", "77777,110", "--json"]) == 0
    preds = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"]
    assert "cold_start" not in preds[0] and preds[1]["cold_start"] == "new item"
    assert preds[2]["cold_start"] == "new user"
    from deepdojo.predict import Predictor

    p = Predictor.from_run(collab_run)
    spec = p.preprocessor.spec
    with torch.no_grad():  # the oracle: the model on the codes the training vocabulary gives
        want = p.model.eval()(torch.tensor([[spec["users"]["5"], spec["items"]["110"]], [spec["users"]["5"], 0]]))
    assert preds[0]["prediction"] == pytest.approx(float(want[0, 0]), abs=1e-5)
    assert preds[1]["prediction"] == pytest.approx(float(want[1, 0]), abs=1e-5)
    assert main(["predict", str(collab_run), "5,999"]) == 0
    assert "[cold start: new item]" in capsys.readouterr().out
    assert main(["predict", str(collab_run), "5"]) == 2  # one id is not a (user, item) pair
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "user,item" in err


def test_run_writes_topn_and_factors_and_interpret_draws_the_map(collab_run, capsys):
    ev = json.loads((collab_run / "evaluation.json").read_text())["valid"]
    base = json.loads((collab_run / "baselines.json").read_text())
    assert {"precision@10", "recall@10", "rmse", "mae"} <= set(ev)
    assert "precision@10" in base["baselines"]["bias"] and any("top-10" in s for s in base["comparison"])
    f = json.loads((collab_run / "factors.json").read_text())
    assert f["most_liked"] and f["pca"]["points"] and f["nearest"]
    assert main(["interpret", str(collab_run)]) == 0
    out = capsys.readouterr().out
    assert "most liked (item bias)" in out and (collab_run / "interpret" / "item_factors_pca.png").is_file()
    html = (collab_run / "report.html").read_text()
    assert "Item factors (2-D PCA)" in html and "Nearest items" in html and "Top-10 recommendations" in html
    assert "<th>new_user</th>" not in html and "have an id unseen in training" in html  # counts are a note, not scores


# ------------------------------------------------------------------ download:movielens100k


def ml_zip() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    rows = "".join(f"{rng.integers(1, 20)}\t{rng.integers(1, 15)}\t{rng.integers(1, 6)}\t{880000000 + i}\n"
                   for i in range(300))
    items = "".join(f"{i}|Film {i} (199{i % 10})|01-Jan-1995||http://x|0|1\n" for i in range(1, 15))
    items = items.replace("Film 3 ", "Café 3 ")  # u.item is latin-1
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ml-100k/u.data", rows)
        z.writestr("ml-100k/u.item", items.encode("latin-1"))
    return buf.getvalue()


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "www"
    root.mkdir()
    body = ml_zip()
    (root / "ml-100k.zip").write_bytes(body)
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/ml-100k.zip"
    entry = RemoteDataset(files=(RemoteFile(url, md5=hashlib.md5(body).hexdigest(), size=len(body)),),
                          reader="ratings_zip")
    monkeypatch.setitem(download.CATALOGUE, "movielens100k", entry)
    yield body
    srv.shutdown()
    srv.server_close()


def test_movielens_download_is_checked_read_with_titles_and_split(served):
    data = load_data("download:movielens100k", seed=0, split="user")
    spec = data.info["preprocess"]
    assert data.task == "collab" and spec["split"] == "user" and spec["titles"]["3"] == "Café 3 (1993)"
    assert len(data.train.x) + len(data.valid.x) == 300
    assert set(spec["users"]) <= {str(u) for u in range(1, 20)}


def test_movielens_with_a_wrong_checksum_is_refused(served, monkeypatch):
    entry = download.CATALOGUE["movielens100k"]
    bad = RemoteDataset(files=(RemoteFile(entry.files[0].url, md5="0" * 32),), reader="ratings_zip")
    monkeypatch.setitem(download.CATALOGUE, "movielens100k", bad)
    with pytest.raises(Exception, match="(?i)md5|checksum|digest"):
        load_data("download:movielens100k")


def test_movielens_offline_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DEEPDOJO_CACHE", str(tmp_path / "cache"))
    entry = RemoteDataset(files=(RemoteFile("http://127.0.0.1:9/ml-100k.zip", md5="0" * 32),), reader="ratings_zip")
    monkeypatch.setitem(download.CATALOGUE, "movielens100k", entry)
    assert main(["train", "download:movielens100k", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the "downloading ..." progress line
    assert "ml-100k.zip" in last and "Traceback" not in last


def test_test_pct_seals_the_latest_ratings_and_evaluate_reads_them_once(tmp_path, capsys):
    from deepdojo.data.ratings import ratings_split

    users = np.repeat(np.arange(10), 10)
    s = ratings_split(users, None, "user", 0.2, seed=0, test_pct=0.1)
    assert set(users[s["train"]]) == set(range(10)) and len(s["valid"]) == 20 and len(s["test"]) == 10
    assert not set(s["valid"]) & set(s["test"]) and len(np.unique(np.concatenate(list(s.values())))) == 100
    path = int_ratings(tmp_path / "ratings.csv")
    assert main(["train", str(path), "--task", "collab", "--split", "time", "--test-pct", "0.1", "--epochs", "1",
                 "--lr", "0.01", "--out", str(tmp_path / "runs"), "--name", "r"]) == 0
    idx = json.loads((tmp_path / "runs" / "r" / "splits.json").read_text())["indices"]
    assert min(idx["test"]) > max(idx["valid"]) > max(idx["train"])  # rows are in time order here
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "runs" / "r"), "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["split"] == "test" and np.isfinite(result["metrics"]["rmse"]) and result["metrics"]["rmse"] > 0
    assert (tmp_path / "runs" / "r" / "test_log.jsonl").read_text().count("\n") == 1
