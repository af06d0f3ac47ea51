"""Text sources: tokenization, a vocabulary from the training split only, padding, LM blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deepdojo.data.checks import DataCheckError
from deepdojo.data.text import text_csv, text_file, tokenize

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_text_csv_vocab_is_built_on_train_only(tmp_path):
    rows = [f"good movie number{i},1" if i % 2 else f"bad film number{i},0" for i in range(20)]
    (tmp_path / "t.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    data = text_csv(tmp_path / "t.csv", max_len=5, valid_pct=0.2)
    vocab = data.info["vocab"]
    assert vocab[:2] == ["<pad>", "<unk>"] and data.classes == ["0", "1"]
    valid_rows = data.info["splits"]["valid"]
    train_words = {w for j in data.info["splits"]["train"] for w in tokenize(rows[j].split(",")[0])}
    assert set(vocab[2:]) == train_words  # no word seen only in validation
    xv, _ = next(iter(data.valid))
    assert xv.shape == (len(valid_rows), 5) and (xv[:, 2] == 1).all()  # "number<i>" of valid rows: unknown
    assert (xv[:, 3:] == 0).all()  # padded


def test_text_csv_empty_fields_are_reported(tmp_path):
    (tmp_path / "t.csv").write_text("text,label\nfine,1\n,0\nalso fine,\nok,0\n")
    with pytest.raises(DataCheckError) as e:
        text_csv(tmp_path / "t.csv")
    assert [(p.where, p.kind) for p in e.value.report.errors] == [("t.csv:3 (text)", "empty_text"),
                                                                  ("t.csv:4 (label)", "empty_label")]


def test_text_file_blocks_are_shifted_by_one(tmp_path):
    text = "".join(chr(97 + (i * 7) % 26) for i in range(1000))
    (tmp_path / "t.txt").write_text(text)
    data = text_file(tmp_path / "t.txt", block_size=16, valid_pct=0.1)
    xb, yb = next(iter(data.train))
    assert xb.shape == ((900 - 16) // 16, 16) and torch.equal(xb[:, 1:], yb[:, :-1])  # room for a random offset
    itos = data.info["vocab"]
    first = "".join(itos[i] for i in data.train.x[0].tolist())
    assert first == text[:16] and data.info["sizes"]["valid"] == (100 - 1) // 16


@pytest.mark.skipif(not (SHARED / "tinyshakespeare.txt").exists(), reason="shared data not present")
def test_tinyshakespeare_loads(tmp_path):
    data = text_file(SHARED / "tinyshakespeare.txt", block_size=128)
    assert 60 <= len(data.info["vocab"]) <= 70 and data.info["sizes"]["train"] > 7000
