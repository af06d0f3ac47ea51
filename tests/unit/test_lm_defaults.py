"""The language-model CLI: --level / --block-size, and the recipe a user gets when epochs are left unset."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from deepdojo.cli.main import main
from deepdojo.data.load import load_data
from deepdojo.tasks.lm_recipe import MAX_EPOCHS, TOKEN_BUDGET, WARMUP_PCT, lm_recipe

CORPUS = "".join(f"the {w} sat on the mat . " for w in ["cat", "dog", "bat", "rat", "hat"] * 40)


def test_recipe_sizes_training_to_the_token_budget_and_caps_small_corpora():
    generic = SimpleNamespace(lr="auto", schedule="one_cycle", warmup_pct=0.0)
    over, why = lm_recipe(245, 64 * 64, generic, default_lr=1e-3)  # tinyshakespeare, batch 64 x block 64
    assert over == {"epochs": 5, "lr": 1e-3, "schedule": "cosine", "warmup_pct": WARMUP_PCT}
    assert over["epochs"] * 245 * 4096 >= TOKEN_BUDGET > (over["epochs"] - 1) * 245 * 4096
    assert "5 epochs of 245 steps (1,225 steps, 5.0M tokens" in why
    assert lm_recipe(2, 4096, generic, 1e-3)[0]["epochs"] == MAX_EPOCHS
    chosen = SimpleNamespace(lr=3e-4, schedule="constant", warmup_pct=0.0)  # what the user set is kept
    assert lm_recipe(245, 4096, chosen, 1e-3)[0] == {"epochs": 5}


def test_cli_level_block_size_and_the_recipe_said_first(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS)
    code = main(["train", str(corpus), "--task", "lm", "--level", "word", "--block-size", "8", "--arch", "gru_lm",
                 "--model-arg", "hidden_size=16", "--model-arg", "num_layers=1", "--batch-size", "8",
                 "--out", str(tmp_path / "runs"), "--name", "w"])
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    said = next(ln for ln in out if ln.startswith("deepdojo: gru_lm"))
    assert "lr 0.002" in said and "cosine decay after 5% linear warm-up" in said  # the recurrent model's LR
    cfg = json.loads((tmp_path / "runs" / "w" / "config.json").read_text())
    assert (cfg["level"], cfg["block_size"], cfg["lr"], cfg["schedule"]) == ("word", 8, 2e-3, "cosine")
    assert len((tmp_path / "runs" / "w" / "metrics.jsonl").read_text().splitlines()) >= cfg["epochs"]
    data = load_data(str(corpus), level="word", block_size=8)
    assert data.input_shape == (8,) and "sat" in data.info["vocab"] and data.info["level"] == "word"


def test_block_size_on_a_table_is_a_one_line_error(tmp_path, capsys):
    t = tmp_path / "t.tsv"
    t.write_text("text\tlabel\n" + "".join(f"the food was fine number {i} today\t{i % 2}\n" for i in range(20)))
    assert main(["train", str(t), "--block-size", "8", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "block_size" in err and "t.tsv is a table" in err and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flag,says", [(["--block-size", "0"], "block_size"), (["--level", "byte"], "--level")])
def test_bad_lm_flag_values_exit_2(tmp_path, capsys, flag, says):
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS)
    assert main(["train", str(corpus), "--task", "lm", *flag, "--out", str(tmp_path / "runs")]) == 2
    assert says in capsys.readouterr().err and not (tmp_path / "runs").exists()
