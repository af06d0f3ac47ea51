"""Text interpretation: occlusion against a direct computation, the planted sentiment words found, report and CLI."""

from __future__ import annotations

import json
import random

import pytest
import torch

from deepdojo.cli.main import main
from deepdojo.evaluate.text_interpret import occlusion
from deepdojo.models.sequence import TextCNN

POS, NEG = ["good", "great", "lovely", "superb"], ["bad", "awful", "poor", "dreadful"]
FILL = "the food was and service staff place it really very quite i think we".split()


def test_occlusion_is_the_fall_in_probability_with_that_token_unknown():
    torch.manual_seed(0)
    m = TextCNN(3, vocab_size=12, embed_dim=8, channels=8).eval()
    ids = torch.tensor([4, 7, 2, 9, 0, 0])  # (T,), 4 real tokens
    effects = occlusion(m, ids, target=2)
    assert len(effects) == 4
    p = lambda x: float(m(x[None]).detach().softmax(-1)[0, 2])  # noqa: E731
    for i in range(4):
        masked = ids.clone()
        masked[i] = 1  # <unk>
        assert effects[i] == pytest.approx(p(ids) - p(masked), abs=1e-6)


def test_report_and_cli_show_the_planted_words_as_the_ones_that_moved_the_prediction(tmp_path, capsys):
    rng = random.Random(0)
    lines = []
    for i in range(400):
        y = i % 2
        words = rng.sample(FILL, 5) + [rng.choice(POS if y else NEG) for _ in range(2)]
        rng.shuffle(words)
        lines.append(f"{' '.join(words)}\t{y}\n")
    data = tmp_path / "r.tsv"
    data.write_text("text\tlabel\n" + "".join(lines))
    assert main(["train", str(data), "--epochs", "6", "--lr", "0.01", "--out", str(tmp_path / "runs"), "--name", "t"]) == 0
    run = tmp_path / "runs" / "t"
    texts = json.loads((run / "interpretation.json").read_text())["texts"]
    assert len(texts) == 12 and texts[0]["loss"] >= texts[-1]["loss"]
    sentiment = [abs(e) for t in texts for w, e in zip(t["tokens"], t["effects"]) if w in POS + NEG]
    filler = [abs(e) for t in texts for w, e in zip(t["tokens"], t["effects"]) if w not in POS + NEG]
    assert sum(sentiment) / len(sentiment) > 2 * sum(filler) / len(filler)  # the planted words move it most
    html = (run / "report.html").read_text()
    assert "the tokens that moved the prediction" in html and "&lt;unk&gt;" in html
    capsys.readouterr()
    assert main(["interpret", str(run), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("moved most:") == 3
