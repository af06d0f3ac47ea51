"""Language models: shapes, causality, carried state (truncated BPTT), token loaders, metrics, generation, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from deepdojo import Learner
from deepdojo.cli.main import main
from deepdojo.data.text import text_file
from deepdojo.data.tokens import TokenBlockLoader
from deepdojo.errors import ConfigError, DataError
from deepdojo.models import create_model
from deepdojo.models.language import GPT, RecurrentLM, sample
from deepdojo.tasks import get_task
from deepdojo.tasks.language_model import encode_prompt, generate_text

TEXT = "".join(f"the {w} sat on the mat. " for w in ["cat", "dog", "bat", "rat", "hat"] * 30)


@pytest.fixture
def corpus(tmp_path) -> Path:
    p = tmp_path / "corpus.txt"
    p.write_text(TEXT)
    return p


# ------------------------------------------------------------------------------------------ models
@pytest.mark.parametrize("arch", ["gpt", "rnn_lm", "gru_lm", "lstm_lm"])
def test_logits_per_position_and_tied_weights(arch):
    torch.manual_seed(0)
    m = create_model(arch, 13, vocab_size=13, block_size=10, **({"n_layer": 1, "n_head": 2, "n_embd": 8}
                                                                  if arch == "gpt" else {"hidden_size": 8}))
    assert m(torch.randint(0, 13, (3, 10))).shape == (3, 10, 13)
    emb, head = (m.tok_emb, m.head) if arch == "gpt" else (m.embedding, m.decoder)
    assert head.weight is emb.weight


def test_gpt_is_causal():
    torch.manual_seed(0)
    m = GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16).eval()
    x = torch.randint(0, 11, (2, 8))
    y = x.clone()
    y[:, 5] = (y[:, 5] + 1) % 11  # change a future token
    a, b = m(x), m(y)
    assert torch.equal(a[:, :5], b[:, :5]) and not torch.allclose(a[:, 5:], b[:, 5:])


def test_gpt_refuses_more_tokens_than_its_context():
    with pytest.raises(ConfigError, match="longer than the model's block_size 4"):
        GPT(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4)(torch.zeros(1, 5, dtype=torch.long))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_carried_state_continues_the_stream_exactly(cell):
    """Two consecutive half blocks with the carried state == one pass over the whole block (the oracle)."""
    torch.manual_seed(0)
    m = RecurrentLM(vocab_size=9, cell=cell, hidden_size=8, num_layers=2, dropout=0.0).eval()
    x = torch.randint(0, 9, (3, 12))
    whole, _ = m.run(x)
    first, second = m(x[:, :6]), m(x[:, 6:])
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    m.eval()  # switching mode forgets the state: the next batch starts from zeros again
    torch.testing.assert_close(m(x[:, 6:]), m.run(x[:, 6:])[0])


def test_carried_state_is_detached_so_backprop_is_truncated():
    torch.manual_seed(0)
    m = RecurrentLM(vocab_size=9, cell="lstm", hidden_size=8, dropout=0.0).train()
    x = torch.randint(0, 9, (2, 6))
    m(x).sum().backward()
    h, c = m.state
    assert not h.requires_grad and not c.requires_grad
    m(x).sum().backward()  # a second batch back-propagates into its own graph only (no "backward twice" error)


# ------------------------------------------------------------------------------------------ loaders
def test_streams_layout_rows_continue_across_batches():
    ids = torch.arange(1000)
    dl = TokenBlockLoader(ids, block_size=7, batch_size=4, layout="streams", shuffle=True, seed=3)
    dl.set_epoch(2)
    batches = list(dl)
    assert len(batches) == len(dl) and all(xb.shape == (4, 7) for xb, _ in batches)
    for row in range(4):
        stream = torch.cat([xb[row] for xb, _ in batches])
        assert torch.equal(stream, torch.arange(stream[0], stream[0] + len(stream)))  # contiguous text
        targets = torch.cat([yb[row] for _, yb in batches])
        assert torch.equal(targets, stream + 1)
    starts = [int(xb[r, 0]) for xb, _ in batches[:1] for r in range(4)]
    assert len(set(starts)) == 4  # four different places in the text


def test_block_layout_shifts_offsets_per_epoch_and_resumes_exactly():
    ids = torch.arange(500)
    dl = TokenBlockLoader(ids, block_size=8, batch_size=5, shuffle=True, seed=0)
    firsts = set()
    for epoch in range(6):
        dl.set_epoch(epoch)
        batches = list(dl)
        for xb, yb in batches:
            assert torch.equal(xb + 1, yb) and int(yb.max()) <= 499
        firsts.add(int(batches[0][0][0, 0]) % 8)
        tail = list(dl.iter_from(3))
        assert all(torch.equal(a[0], b[0]) for a, b in zip(batches[3:], tail))
    assert len(firsts) > 1  # block boundaries move between epochs
    valid = TokenBlockLoader(ids, block_size=8, batch_size=5)
    assert torch.equal(next(iter(valid))[0][0], torch.arange(8))  # evaluation: fixed blocks from the start


def test_text_file_last_tenth_validates_and_vocab_is_from_training(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("ab" * 500 + "abz" * 30)  # 'z' appears only in the last tenth
    data = text_file(p, block_size=8, batch_size=4)
    assert data.info["vocab"] == ["<pad>", "<unk>", "a", "b"]  # 'z' unknown: the vocabulary saw training text only
    assert data.task == "language_model" and data.input_shape == (8,)
    assert (data.valid.ids == 1).sum() == 30 and (data.train.ids == 1).sum() == 0


@pytest.mark.parametrize("content, match", [("", "empty"), ("   \n\n", "empty"), ("abc", "too short")])
def test_bad_corpus_is_a_one_line_error(tmp_path, content, match):
    p = tmp_path / "t.txt"
    p.write_text(content)
    with pytest.raises(DataError, match=match):
        text_file(p, block_size=8)


# ------------------------------------------------------------------------------------------ with the Learner
def test_learner_streams_for_recurrent_models_and_validation_matches_a_whole_stream_oracle(corpus):
    data = text_file(corpus, block_size=8, batch_size=3)
    torch.manual_seed(0)
    model = create_model("gru_lm", data.num_classes, hidden_size=16, dropout=0.0)
    learn = Learner(model, data, progress=False, seed=0)
    assert data.train.layout == data.valid.layout == "streams"
    learn.fit(1, 3e-3)
    out = learn.validate()
    assert out == learn.validate()  # a pass never depends on what ran before it
    # oracle: each validation stream run in one piece by plain PyTorch, scored over the tokens the loader served
    per = data.valid.n_blocks // 3
    streams = torch.stack([data.valid.ids[s * per * 8: s * per * 8 + per * 8 + 1] for s in range(3)])  # (3, L + 1)
    with torch.no_grad():
        logits, _ = model.eval().run(streams[:, :-1])
    nats = float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), streams[:, 1:].reshape(-1)))
    assert out["valid_loss"] == pytest.approx(nats, rel=1e-5)
    assert out["nats_per_token"] == pytest.approx(out["valid_loss"], rel=1e-6)
    assert out["perplexity"] == pytest.approx(math.exp(out["valid_loss"]), rel=1e-6)
    assert out["bits_per_token"] == pytest.approx(out["valid_loss"] / math.log(2), rel=1e-6)


def test_gpt_learns_the_corpus_and_keeps_random_blocks(corpus):
    data = text_file(corpus, block_size=16, batch_size=8)
    torch.manual_seed(0)
    model = create_model("gpt", data.num_classes, **get_task("lm").model_kwargs(data), n_layer=1, n_head=2, n_embd=32)
    learn = Learner(model, data, progress=False, seed=0)
    assert data.train.layout == "blocks" and learn.task.name == "language_model"
    learn.fit(3, 3e-3, schedule="one_cycle")
    assert learn.history[-1]["nats_per_token"] < 0.6 * math.log(data.num_classes)


# ------------------------------------------------------------------------------------------ generation
def _tiny_learner(corpus):
    data = text_file(corpus, block_size=8, batch_size=4)
    torch.manual_seed(0)
    return Learner(create_model("lstm_lm", data.num_classes, hidden_size=16), data, progress=False, seed=0)


def test_generation_is_reproducible_under_a_seed_and_leaves_the_global_rng_alone(corpus):
    learn = _tiny_learner(corpus)
    before = torch.get_rng_state()
    a = learn.generate("the ", length=40, temperature=0.8, top_k=5, seed=3)
    assert torch.equal(before, torch.get_rng_state())
    assert a == learn.generate("the ", length=40, temperature=0.8, top_k=5, seed=3)
    assert a != learn.generate("the ", length=40, temperature=0.8, top_k=5, seed=4)
    assert a.startswith("the ") and len(a) == 44 and "<" not in a  # <pad>/<unk> are never drawn


def test_temperature_zero_and_top_k_one_are_greedy(corpus):
    learn = _tiny_learner(corpus)
    model, prompt = learn.model.eval(), torch.tensor(encode_prompt("the c", learn.data.info["vocab"], "char"))
    ctx, greedy = prompt.clone(), []
    for _ in range(10):  # the oracle: arg-max over the whole context, recomputed from scratch each step
        z = model.run(ctx[None])[0][0, -1]
        z[:2] = float("-inf")
        greedy.append(int(z.argmax()))
        ctx = torch.cat([ctx, torch.tensor(greedy[-1:])])
    banned = (0, 1)
    assert sample(model, prompt, 10, temperature=0, banned=banned).tolist() == greedy
    g = torch.Generator().manual_seed(0)
    assert sample(model, prompt, 10, temperature=1.3, top_k=1, generator=g, banned=banned).tolist() == greedy


def test_gpt_generation_crops_to_its_context():
    torch.manual_seed(0)
    m = GPT(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=8)
    out = generate_text(m, ["<pad>", "<unk>", "a", "b", "c", "d", "\n"], "char", "abcdab", length=12, seed=0)
    assert len(out) == 18 and set(out[6:]) <= set("abcd\n")


def test_unknown_prompt_characters_are_named(corpus):
    learn = _tiny_learner(corpus)
    with pytest.raises(DataError, match=r"never saw in training: 'Q', 'é'"):
        learn.generate("Qé the", length=5)


# ------------------------------------------------------------------------------------------ CLI
def test_cli_train_then_generate_reproducibly(corpus, tmp_path, capsys):
    code = main(["train", str(corpus), "--arch", "gru_lm", "--epochs", "1", "--lr", "0.01", "--batch-size", "8",
                 "--out", str(tmp_path / "runs"), "--name", "lm", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    run = tmp_path / "runs" / "lm"
    samples = json.loads((run / "samples.json").read_text())["samples"]
    assert [s["temperature"] for s in samples] == [0.5, 0.8, 1.0] and all(len(s["text"]) == 8 + 300 for s in samples)  # prompt: the first 8 characters
    report = (run / "report.html").read_text()
    assert "<h2>Samples</h2>" in report and "nats_per_token" in report
    args = ["generate", str(run), "--prompt", "the ", "--length", "30", "--temperature", "0.8", "--top-k", "5",
            "--seed", "0"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and first.startswith("the ") and len(first.rstrip("\n")) == 34
    assert main(args[:3] + ["Zzz"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'Z'" in err


def test_cli_empty_corpus_exits_2(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("")
    assert main(["train", str(tmp_path / "empty.txt"), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "empty" in err


# ------------------------------------------------------------------------------------------ resume
def test_mid_epoch_resume_continues_the_carried_state_bit_exactly(corpus, tmp_path):
    from deepdojo.train.callbacks import Callback
    from deepdojo.train.resume import TrainingCheckpoints

    class Crash(Callback):
        def after_batch(self):
            if self.learn.step == 5:
                raise RuntimeError("crash")

    def make(run_dir, *cbs):
        data = text_file(corpus, block_size=8, batch_size=4)
        torch.manual_seed(0)
        model = create_model("lstm_lm", data.num_classes, hidden_size=8, dropout=0.0)
        learn = Learner(model, data, progress=False, seed=0, run_dir=run_dir, callbacks=cbs)
        learn.callback(TrainingCheckpoints).every_steps = 2
        return learn

    ref = make(tmp_path / "ref")
    ref.fit(2, 3e-3)
    with pytest.raises(RuntimeError, match="crash"):
        make(tmp_path / "run", Crash()).fit(2, 3e-3)
    resumed = make(tmp_path / "run")
    resumed.fit(2, 3e-3, resume=True)
    a, b = resumed.model.state_dict(), ref.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["valid_loss"] for r in resumed.history] == [r["valid_loss"] for r in ref.history]
