"""Seq2seq: shapes, masking and padding invariance, teacher forcing applied, beam width 1 = greedy, BLEU, data, CLI."""

from __future__ import annotations

import copy
import json
import datetime as dt
import random

import pytest
import torch
import torch.nn.functional as F

from deepdojo import Learner
from deepdojo.cli.main import main
from deepdojo.data.pairs import IGNORE_INDEX, date_pairs, load_dates, load_pairs
from deepdojo.errors import DataError
from deepdojo.metrics.seq2seq import BLEU, SequenceAccuracy, bleu
from deepdojo.models import create_model
from deepdojo.models.seq2seq import Seq2Seq
from deepdojo.tasks import get_task
from deepdojo.tasks.seq2seq import translate

KINDS = [("gru", "bahdanau"), ("lstm", "luong"), ("gru", "none"), ("lstm", "bahdanau")]


def tiny(cell="gru", attention="bahdanau", seed=0, **kw):
    torch.manual_seed(seed)
    return Seq2Seq(num_classes=10, vocab_size=12, cell=cell, attention=attention, hidden_size=16, embed_dim=8,
                   max_len=6, dropout=0.0, **kw).eval()


SRC = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 0, 0, 0], [11, 4, 4, 0, 0]])


@pytest.mark.parametrize("cell, attention", KINDS)
def test_shapes_and_attention_never_looks_at_padding(cell, attention):
    m = tiny(cell, attention)
    logits, attn = m(SRC, return_attention=True)
    assert logits.shape == (3, 6, 10)
    if attention == "none":
        assert attn is None
    else:
        assert attn.shape == (3, 6, 5)
        torch.testing.assert_close(attn.sum(-1), torch.ones(3, 6))
        assert torch.all(attn[1, :, 2:] == 0) and torch.all(attn[2, :, 3:] == 0)


@pytest.mark.parametrize("cell, attention", KINDS)
def test_padding_invariance(cell, attention):
    m = tiny(cell, attention)
    wide = torch.cat([SRC, torch.zeros(3, 4, dtype=torch.long)], 1)  # more trailing padding
    torch.testing.assert_close(m(wide), m(SRC))
    torch.testing.assert_close(m(SRC[1:2, :2]), m(SRC)[1:2])  # a row alone == the row in a padded batch
    assert m.beam_search(wide, 3) == m.beam_search(SRC, 3)


def test_loss_ignores_padding_positions():
    task = get_task("seq2seq")
    target = torch.tensor([[4, 5, 3, IGNORE_INDEX], [6, 3, IGNORE_INDEX, IGNORE_INDEX]])
    logits = torch.randn(2, 4, 10)
    other = logits.clone()
    other[0, 3], other[1, 2:] = 100.0, -50.0  # garbage where the target is padding
    assert task.loss(logits, target) == task.loss(other, target)
    manual = torch.stack([F.cross_entropy(logits[i, :n], target[i, :n], reduction="sum") for i, n in ((0, 3), (1, 2))])
    torch.testing.assert_close(task.loss(logits, target), manual.sum() / 5)


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_the_training_step_applies_the_teacher_forcing_ratio(ratio):
    data = load_dates(n=40, seed=0, batch_size=64, valid_pct=0.25)  # one training batch
    task = get_task("seq2seq", teacher_forcing=ratio)
    torch.manual_seed(0)
    model = create_model("seq2seq_gru", data.num_classes, **task.model_kwargs(data), hidden_size=16, dropout=0.0)
    before = copy.deepcopy(model)
    learn = Learner(model, data, task=task, progress=False, seed=0)
    learn.fit(1, 1e-3)
    x, y = data.train.x, data.train.y
    order = next(iter(data.train))[1]
    assert len(order) == len(y)  # one batch: learn.pred is its prediction with the weights before the step
    xb, yb = next(iter(data.train))
    with torch.no_grad():
        forced, free = before(xb, yb, teacher_forcing=1.0), before(xb)
    torch.testing.assert_close(learn.pred.detach(), forced if ratio == 1.0 else free)
    assert not torch.allclose(forced, free)
    assert x.shape[0] == y.shape[0]


def test_a_mixed_ratio_mixes_per_row_and_step():
    m = tiny()
    tgt = torch.tensor([[4, 5, 6, 7, 3, IGNORE_INDEX]] * 3)
    torch.manual_seed(1)
    half = m(SRC, tgt, teacher_forcing=0.5)
    assert not torch.allclose(half, m(SRC, tgt, teacher_forcing=1.0))
    assert not torch.allclose(half, m(SRC, tgt, teacher_forcing=0.0))


@pytest.mark.parametrize("cell, attention", KINDS)
def test_beam_width_one_is_greedy(cell, attention):
    for seed in range(3):
        m = tiny(cell, attention, seed=seed)
        src = torch.randint(4, 12, (6, 7))
        src[::2, 4:] = 0
        greedy = [ids[: ids.index(3)] if 3 in ids else ids for ids in m.greedy(src).tolist()]
        assert m.beam_search(src, beam_width=1) == greedy


def test_sequence_accuracy_reads_up_to_eos_and_bleu_matches_sacrebleu():
    target = torch.tensor([[4, 5, 3, IGNORE_INDEX], [4, 5, 3, IGNORE_INDEX]])
    logits = F.one_hot(torch.tensor([[4, 5, 3, 7], [4, 5, 6, 3]]), 10).float()
    m = SequenceAccuracy()
    m.update(logits, target)
    assert m.compute() == 0.5
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = random.Random(0)
    refs = [[rng.randrange(4, 9) for _ in range(rng.randrange(5, 15))] for _ in range(40)]  # no <eos> (3) inside
    hyps = [[t if rng.random() < 0.8 else rng.randrange(4, 9) for t in r[: len(r) - rng.randrange(3)]] for r in refs]
    oracle = sacrebleu.corpus_bleu([" ".join(map(str, h)) for h in hyps], [[" ".join(map(str, r)) for r in refs]],
                                   tokenize="none", smooth_method="none", force=True).score
    assert bleu(hyps, refs) == pytest.approx(oracle, abs=1e-9)
    b = BLEU()
    for h, r in zip(hyps, refs):
        w = max(len(h), len(r)) + 1
        b.update(F.one_hot(torch.tensor([h + [3] * (w - len(h))]), 10).float(),
                 torch.tensor([r + [3] + [IGNORE_INDEX] * (w - len(r) - 1)]))
    assert b.compute() == pytest.approx(oracle, abs=1e-9)


# ------------------------------------------------------------------------------------------ data
def test_generated_dates_are_right():
    sources, targets = date_pairs(300, seed=5)
    assert len(set(sources)) > 250
    for s, t in zip(sources, targets):
        d = dt.date.fromisoformat(t)
        assert str(d.year) in s and 1900 <= d.year <= 2099
    assert date_pairs(10, seed=5) == (sources[:10], targets[:10])


def test_pairs_file_and_its_vocabularies(tmp_path):
    rows = [f"{w}\t{w[::-1]}" for w in ["abc", "bca", "cab", "abcd", "dcba", "bad", "dab", "cad", "acd", "bcd"] * 3]
    (tmp_path / "p.tsv").write_text("source\ttarget\n" + "\n".join(rows) + "\n")
    data = load_pairs(tmp_path / "p.tsv", valid_pct=0.2)
    assert data.task == "seq2seq" and data.classes[:4] == ["<pad>", "<unk>", "<sos>", "<eos>"]
    assert data.train.x.shape[1] == 4 and data.train.y.shape[1] == 5  # longest target + <eos>
    y = data.train.y
    assert ((y == 3).sum(1) == 1).all() and (y[:, 0] >= 4).all()


@pytest.mark.parametrize("text, match", [("source\nabc\nbcd\n", "needs two columns"),
                                          ("source\ttarget\nabc\t\nbcd\tdcb\n", "empty target"),
                                          ("source\ttarget\nabc\tcba\n", "too few")])
def test_bad_pairs_files_are_one_line_errors(tmp_path, text, match):
    (tmp_path / "p.tsv").write_text(text)
    with pytest.raises(DataError, match=match):
        load_pairs(tmp_path / "p.tsv")


def test_cli_one_column_tsv_exits_2(tmp_path, capsys):
    (tmp_path / "p.tsv").write_text("source\nabc\nbcd\n")
    assert main(["train", str(tmp_path / "p.tsv"), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "two columns" in err


def test_cli_trains_a_pairs_file_end_to_end_and_translates(tmp_path, capsys):
    rng = random.Random(0)
    words = {"".join(rng.choice("abcdef") for _ in range(rng.randrange(2, 6))) for _ in range(300)}
    (tmp_path / "p.tsv").write_text("source\ttarget\n" + "\n".join(f"{w}\t{w[::-1]}" for w in sorted(words)) + "\n")
    code = main(["train", str(tmp_path / "p.tsv"), "--epochs", "1", "--lr", "0.01", "--out", str(tmp_path / "runs"),
                 "--name", "rev", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    from deepdojo.train.checkpoint import model_from_checkpoint

    model, meta = model_from_checkpoint(tmp_path / "runs" / "rev" / "checkpoints" / "best.safetensors")
    assert meta["task"] == "seq2seq" and meta["task_state"] == {"teacher_forcing": 0.5}
    run = tmp_path / "runs" / "rev"
    examples = json.loads((run / "attention.json").read_text())["examples"]
    assert len(examples) == 4 and all(abs(sum(row) - 1) < 1e-5 for ex in examples for row in ex["weights"])
    assert "<h2>Attention</h2>" in (run / "report.html").read_text() and (run / "attention.png").is_file()
    texts = translate(model, ["abc", "fed"], meta["vocab"], meta["classes"], beam_width=3)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
