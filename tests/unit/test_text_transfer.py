"""Text classification that transfers: TextRNN, the LM's vocabulary and encoder (ULMFiT), gradual unfreezing,
the TF-IDF baseline (scikit-learn as the oracle), the split column and the data-mismatch diagnosis."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from deepdojo.cli.main import main
from deepdojo.config import TrainConfig
from deepdojo.data.text import text_csv, tokenize
from deepdojo.errors import ConfigError, DataError
from deepdojo.evaluate.finish import diagnose_run
from deepdojo.evaluate.run_eval import load_run_data
from deepdojo.models.text_rnn import TextRNN
from deepdojo.run import build, fit, train
from deepdojo.train.callbacks import Callback
from deepdojo.train.checkpoint import read_checkpoint

POS, NEG = ["good", "great", "lovely", "superb"], ["bad", "awful", "poor", "dreadful"]
FILL = "the food was and service staff place it really very quite i think we".split()


def sentences(n: int, seed: int, pos=POS, neg=NEG) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = i % 2
        words = rng.sample(FILL, 5) + [rng.choice(pos if label else neg) for _ in range(2)]
        rng.shuffle(words)
        out.append((" ".join(words), label))
    return out


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory) -> Path:
    """A small word-level LSTM language model trained on the reviews' texts (and a rare-word-first corpus, so its
    vocabulary order differs from the one a classifier's training split would build)."""
    root = tmp_path_factory.mktemp("lm")
    texts = [s for s, _ in sentences(300, 1)]
    corpus = root / "corpus.txt"
    corpus.write_text("zebra zebra zebra quokka quokka\n" * 40 + "\n".join(texts) + "\n")
    cfg = TrainConfig(data=str(corpus), task="lm", arch="lstm_lm", level="word", block_size=16, epochs=2, lr=3e-3,
                      batch_size=16, out=str(root / "runs"), name="lm", model_kwargs={"hidden_size": 24, "num_layers": 1})
    train(cfg, quiet=True)
    return root / "runs" / "lm"


@pytest.fixture
def reviews(tmp_path) -> Path:
    p = tmp_path / "reviews.tsv"
    p.write_text("text\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in sentences(200, 2)))
    return p


# ------------------------------------------------------------------------------------------------ the model
@pytest.mark.parametrize("cell,bi", [("lstm", False), ("gru", True)])
def test_text_rnn_ignores_padding(cell, bi):
    torch.manual_seed(0)
    m = TextRNN(3, vocab_size=20, cell=cell, hidden_size=8, num_layers=2, bidirectional=bi).eval()
    x = torch.randint(2, 20, (4, 6))
    padded = torch.cat([x, torch.zeros(4, 5, dtype=torch.long)], 1)  # (4, 11): trailing padding
    assert torch.allclose(m(x), m(padded), atol=1e-6)
    shorter = x.clone()
    shorter[0, 3:] = 0  # row 0 is 3 tokens long: the same as feeding those 3 alone
    assert torch.allclose(m(shorter)[0], m(x[:1, :3])[0], atol=1e-6)


def test_text_rnn_encoder_has_the_language_models_names_and_shapes():
    from deepdojo.models.language import RecurrentLM

    lm = RecurrentLM(vocab_size=30, cell="gru", hidden_size=16, num_layers=2)
    clf = TextRNN(2, vocab_size=30, cell="gru", hidden_size=16, num_layers=2)
    enc = {k: v.shape for k, v in clf.state_dict().items() if k.startswith(("embedding.", "rnn."))}
    assert enc and all(lm.state_dict()[k].shape == s for k, s in enc.items())


# ------------------------------------------------------------------------------------------------ ULMFiT
def test_classifier_reads_with_the_language_models_vocabulary_and_rows(lm_run, reviews, tmp_path):
    tensors, meta = read_checkpoint(lm_run / "checkpoints" / "best.safetensors")
    lm_vocab = meta["preprocess"]["vocab"]
    own = text_csv(reviews).info["vocab"]  # what the classifier's data alone would build
    assert own != lm_vocab  # the corpus put zebra/quokka first: ids differ, the test below can fail
    learn = build(str(reviews), TrainConfig(pretrained=str(lm_run), out=str(tmp_path / "runs"), name="c", epochs=1))
    data_vocab = learn.data.info["vocab"]
    assert data_vocab == lm_vocab and learn.config["arch"] == "text_rnn"
    emb = learn.model.embedding.weight.detach()
    for word in ("good", "awful", "food", "the"):  # the same word, the same vector the LM learned
        assert torch.equal(emb[data_vocab.index(word)], tensors["embedding.weight"][lm_vocab.index(word)])
    first = learn.data.train.source_x[0].tolist()  # ids of a review, as the LM would encode it
    row = int(learn.data.info.splits["train"][0])
    text = reviews.read_text().split("\n")[1 + row].split("\t")[0]
    assert first[: len(text.split())] == [lm_vocab.index(w) for w in tokenize(text)]
    for k in ("rnn.weight_hh_l0", "rnn.bias_ih_l0"):
        assert torch.equal(learn.model.state_dict()[k], tensors[k])


def test_ulmfit_run_thaws_one_group_per_epoch_with_discriminative_lrs(lm_run, reviews, tmp_path):
    seen = []

    class Watch(Callback):
        order = 50

        def after_batch(self):  # the first step of each epoch: which groups train, at what LR
            if len(seen) == self.learn.epoch:
                groups = self.learn.opt.param_groups
                trains = [any(p.requires_grad for p in g["params"]) for g in groups]
                seen.append((trains, [g["lr"] for g in groups], [g["layer_group"] for g in groups]))

    cfg = TrainConfig(data=str(reviews), pretrained=str(lm_run), epochs=2, lr=1e-2, out=str(tmp_path / "runs"),
                      name="c", seed=0)
    learn = build(cfg.data, cfg, callbacks=[Watch()])
    emb0 = learn.model.embedding.weight.detach().clone()
    fit(learn, cfg)
    assert len(seen) == 4  # 2 thawing epochs + 2
    by_group = lambda trains, ids: [any(t for t, i in zip(trains, ids) if i == g) for g in range(3)]  # noqa: E731
    assert [by_group(t, ids) for t, _, ids in seen] == [[False, False, True], [False, True, True], [True] * 3, [True] * 3]
    _, lrs, ids = seen[2]
    top = {i: lr for lr, i in zip(lrs, ids)}
    assert top[1] / top[2] == pytest.approx(1 / 2.6) and top[0] / top[2] == pytest.approx(1 / 2.6 ** 2)
    assert not torch.equal(learn.model.embedding.weight.detach(), emb0)  # the last epochs trained it


def test_evaluate_rebuilds_the_data_with_the_language_models_ids(lm_run, reviews, tmp_path):
    cfg = TrainConfig(data=str(reviews), pretrained=str(lm_run), epochs=1, lr=1e-2, out=str(tmp_path / "runs"),
                      name="c")
    run = Path(train(cfg, quiet=True)["run_dir"])
    _, meta = read_checkpoint(lm_run / "checkpoints" / "best.safetensors")
    rebuilt = load_run_data(run)
    assert rebuilt.info["vocab"] == meta["preprocess"]["vocab"]
    baselines = json.loads((run / "baselines.json").read_text())
    assert baselines["baselines"]["linear"]["name"] == "TF-IDF + logistic regression"
    assert any("TF-IDF" in line for line in baselines["comparison"])


def test_bad_pretrained_combinations_are_one_line_errors(lm_run, reviews, tmp_path):
    with pytest.raises(ConfigError, match="differs from the language model's tokens"):
        build(str(reviews), TrainConfig(pretrained=str(lm_run), level="char", out=None))
    with pytest.raises(ConfigError, match="goes into a text_rnn classifier"):
        build(str(reviews), TrainConfig(pretrained=str(lm_run), arch="textcnn", out=None))
    corpus = tmp_path / "c.txt"
    corpus.write_text("to be or not to be " * 200)
    train(TrainConfig(data=str(corpus), task="lm", arch="gpt", epochs=1, lr=1e-3, out=str(tmp_path / "runs"), name="g",
                      block_size=8, model_kwargs={"n_layer": 1, "n_head": 1, "n_embd": 8}), quiet=True)
    with pytest.raises(ConfigError, match="reuses a recurrent one's encoder"):
        build(str(reviews), TrainConfig(pretrained=str(tmp_path / "runs" / "g"), out=None))
    code = main(["train", str(reviews), "--pretrained", str(lm_run), "--level", "char", "--out", str(tmp_path / "r2")])
    assert code == 2 and not (tmp_path / "r2").exists()


# ------------------------------------------------------------------------------------------------ TF-IDF oracle
def test_tfidf_baseline_matches_scikit_learn_on_the_raw_sentences(reviews):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from deepdojo.evaluate.baselines import compute_baselines

    data = text_csv(reviews, seed=3)
    got = compute_baselines(data, "classification", seed=0)["baselines"]["linear"]
    rows = [ln.split("\t") for ln in reviews.read_text().strip().split("\n")[1:]]
    split = data.info.splits
    docs = lambda part: [" ".join(tokenize(rows[i][0])) for i in split[part]]  # noqa: E731
    ys = lambda part: np.array([int(rows[i][1]) for i in split[part]])  # noqa: E731
    vec = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, lowercase=False)
    lr = LogisticRegression(max_iter=1000, C=10.0, random_state=0).fit(vec.fit_transform(docs("train")), ys("train"))
    want = float(np.mean(lr.predict(vec.transform(docs("valid"))) == ys("valid")))
    assert got["accuracy"] == pytest.approx(want) and got["accuracy"] > 0.9


# ------------------------------------------------------------------------------------------------ splits, mismatch
def test_split_column_fixes_train_dev_valid_and_test_rows(tmp_path):
    p = tmp_path / "s.tsv"
    rows = sentences(40, 5)
    names = ["train"] * 24 + ["train_dev"] * 4 + ["dev"] * 6 + ["test"] * 6
    p.write_text("text\tlabel\tsplit\n" + "".join(f"{s}\t{y}\t{n}\n" for (s, y), n in zip(rows, names)))
    data = text_csv(p)
    assert {k: len(v) for k, v in data.info.splits.items()} == {"train": 24, "train_dev": 4, "valid": 6, "test": 6}
    assert list(data.info.splits["valid"]) == list(range(28, 34))
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tlabel\tsplit\n" + "".join(f"{s}\t{y}\tvalidate\n" for s, y in rows[:4]))
    with pytest.raises(DataError, match=r"bad.tsv:2 \(split\): unknown split .validate."):
        text_csv(bad)
    with pytest.raises(ConfigError, match="already says which rows are test rows"):
        text_csv(p, test_pct=0.2)


def mismatch_tsv(path: Path) -> Path:
    """Two training sources praise and pan with one set of words; the dev/test source with another (planted)."""
    a, b = sentences(160, 11), sentences(160, 12)
    c = sentences(120, 13, pos=["tasty", "fresh", "yummy"], neg=["stale", "bland", "soggy"])
    lines = [f"{s}\t{y}\ttrain\n" for s, y in a + b] + [f"{s}\t{y}\t{'dev' if i % 4 < 2 else 'test'}\n"
                                                       for i, (s, y) in enumerate(c)]
    path.write_text("text\tlabel\tsplit\n" + "".join(lines))
    return path


def test_planted_mismatch_is_diagnosed_as_data_mismatch_from_the_cli(tmp_path, capsys):
    data = mismatch_tsv(tmp_path / "three_sources.tsv")
    code = main(["train", str(data), "--train-dev-pct", "0.2", "--epochs", "8", "--lr", "0.01",
                 "--out", str(tmp_path / "runs"), "--name", "m"])
    assert code == 0
    capsys.readouterr()
    result = diagnose_run(tmp_path / "runs" / "m")
    e = result.errors
    assert e["train"] < 0.05 and e["train_dev"] < 0.1 and e["valid"] > 0.3, e
    assert result.primary == "data_mismatch"
    assert main(["diagnose", str(tmp_path / "runs" / "m")]) == 0
    out = capsys.readouterr().out
    assert "biggest problem: data mismatch" in out and "train_dev" in out


def test_a_stray_quote_in_a_tsv_does_not_swallow_the_lines_after_it(tmp_path):
    # the IMDB sentiment file starts sentences with quotes: read as CSV quoting, 176 of its 1,000 rows vanished
    p = tmp_path / "quotes.txt"
    rows = sentences(30, 7)
    lines = [f"{s}\t{y}" for s, y in rows]
    lines[3] = f'"Great" she said, {rows[3][0]}\t{rows[3][1]}'
    lines[10] = f'"unbalanced {rows[10][0]}\t{rows[10][1]}'
    p.write_text("\n".join(lines) + "\n")
    data = text_csv(p, header=False, delimiter="\t", valid_pct=0.2)
    assert sum(data.info.sizes.values()) == 30
    assert '"' in data.info["vocab"]  # the quote is text


SENTIMENT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sentiment"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("DEEPDOJO_LONG_TESTS") != "1", reason="DEEPDOJO_LONG_TESTS=1: trains on 3,000 reviews")
@pytest.mark.skipif(not (SENTIMENT / "imdb_labelled.txt").is_file(), reason=f"shared sentiment data not at {SENTIMENT}")
def test_amazon_and_yelp_to_imdb_shows_a_data_mismatch_gap(tmp_path, capsys):
    """The README's recipe, as a user runs it: awk-built table (quotes left raw), CLI train, CLI diagnose."""
    import subprocess

    table = tmp_path / "mismatch.tsv"
    recipe = (f"( printf 'text\\tlabel\\tsplit\\n'; "
              f"awk -F'\\t' '{{print $1\"\\t\"$2\"\\ttrain\"}}' {SENTIMENT}/amazon_cells_labelled.txt "
              f"{SENTIMENT}/yelp_labelled.txt; "
              f"awk -F'\\t' '{{print $1\"\\t\"$2\"\\t\"(NR%2 ? \"dev\" : \"test\")}}' {SENTIMENT}/imdb_labelled.txt )")
    table.write_text(subprocess.run(["bash", "-c", recipe], capture_output=True, text=True, check=True).stdout)
    assert main(["train", str(table), "--train-dev-pct", "0.15", "--skip-bad", "--epochs", "6",
                 "--out", str(tmp_path / "runs"), "--name", "s"]) == 0
    sizes = json.loads((tmp_path / "runs" / "s" / "data_summary.json").read_text())
    capsys.readouterr()
    assert main(["diagnose", str(tmp_path / "runs" / "s")]) == 0
    out = capsys.readouterr().out
    d = json.loads((tmp_path / "runs" / "s" / "diagnosis.json").read_text())
    assert d["errors"]["valid"] > d["errors"]["train_dev"] > d["errors"]["train"], (d, sizes)
    assert "data mismatch" in out and "train_dev" in out
