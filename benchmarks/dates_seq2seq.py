"""builtin:dates: human-readable dates -> ISO with attention (Bahdanau, Luong) vs without. Goal: >= 99% exact match.

    python benchmarks/dates_seq2seq.py [--pairs 20000] [--epochs 2] [--arms bahdanau,luong,none] [--threads 1]

Each arm: a GRU encoder-decoder (hidden 64, embeddings 32), teacher forcing
0.5, AdamW one-cycle at lr 5e-3, batch 64, through ``deepdojo.Learner``. It is
scored on its validation split (10% of the generated pairs) and on a fresh
held-out set of 2,000 dates drawn under another seed with every source string
seen in training removed: exact-sequence accuracy (greedy, and beam search of
width 5 on the first 300), token accuracy and BLEU. Prints the no-attention
baseline's error beside the attention arms' (a ratio measured in this run)
and writes ``dates_seq2seq.json`` and ``dates_attention_<kind>.png`` (``--out``).

Measured 2026-11-28 (1 thread, 2 shared CPUs at load average 16-19; 20,000
pairs, 2 epochs): Bahdanau 107,503 parameters, 4.1 min: validation exact
1.0000, BLEU 100.00, held-out exact 1.0000 (beam 5: 1.0000); Luong 100,943,
3.8 min: 1.0000 / 100.00 / 1.0000 (1.0000); no attention 95,087, 1.7 min:
validation exact 0.9935, BLEU 99.80, held-out exact 0.9925 (beam 5: 0.9933) —
15 of 2,000 held-out dates wrong without attention, 0 with either kind (the
baseline's errors are digits copied from the wrong place: '1904/03/15' ->
'1904-05-15'). The attention maps show the diagonal alignment of day, month
and year.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from deepdojo import Learner
from deepdojo.data.pairs import date_pairs, load_dates
from deepdojo.metrics.seq2seq import bleu
from deepdojo.models import create_model
from deepdojo.report.attention_maps import attention_png
from deepdojo.tasks import get_task
from deepdojo.tasks.seq2seq import translate


def run_arm(attention: str, args, heldout: tuple[list[str], list[str]]) -> dict:
    data = load_dates(n=args.pairs, seed=0, valid_pct=0.1, batch_size=64)
    task = get_task("seq2seq", teacher_forcing=0.5)
    torch.manual_seed(0)
    model = create_model("seq2seq_gru", data.num_classes, **task.model_kwargs(data), attention=attention,
                         hidden_size=64, embed_dim=32, dropout=0.0)
    learn = Learner(model, data, task=task, metrics=task.eval_metrics(), progress=False, seed=0)
    t0 = time.perf_counter()
    learn.fit(args.epochs, 5e-3, schedule="one_cycle")
    seconds = time.perf_counter() - t0
    valid = learn.validate()
    sources, targets = heldout
    vocab, classes = data.info["vocab"], data.classes
    greedy = translate(model, sources, vocab, classes)
    n_beam = min(300, len(sources))
    beam = translate(model, sources[:n_beam], vocab, classes, beam_width=5)
    exact = sum(g == t for g, t in zip(greedy, targets)) / len(targets)
    exact_beam = sum(b == t for b, t in zip(beam, targets)) / n_beam
    held_bleu = bleu([list(g) for g in greedy], [list(t) for t in targets])
    print(f"{attention:9s} {sum(p.numel() for p in model.parameters()):,} params  {seconds / 60:.1f} min  "
          f"valid exact {valid['sequence_accuracy']:.4f}  token {valid['token_accuracy']:.4f}  "
          f"BLEU {valid['bleu']:.2f}  held-out exact {exact:.4f} (beam 5: {exact_beam:.4f})", flush=True)
    wrong = [(s, g, t) for s, g, t in zip(sources, greedy, targets) if g != t][:5]
    out = {"attention": attention, "train_seconds": round(seconds, 1), "valid": valid, "heldout_exact": exact,
           "heldout_exact_beam5_first300": exact_beam, "heldout_bleu": held_bleu, "wrong_examples": wrong}
    if attention != "none":
        shown = sources[:4]
        texts, toks, attn = translate(model, shown, vocab, classes, return_attention=True)
        examples = [{"source": toks[i], "weights": attn[i],
                     "output": list(texts[i]) + (["<eos>"] if len(texts[i]) < attn.shape[1] else [])}
                    for i in range(len(shown))]
        out["png"] = str(attention_png(examples, Path(args.out) / f"dates_attention_{attention}.png"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=20000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--arms", default="bahdanau,luong,none")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    train_sources = set(date_pairs(args.pairs, seed=0)[0])
    s, t = date_pairs(3000, seed=12345)
    heldout = tuple(map(list, zip(*[(a, b) for a, b in zip(s, t) if a not in train_sources][:2000])))
    load0 = os.getloadavg()[0]
    results = [run_arm(a, args, heldout) for a in args.arms.split(",")]
    base = next((r for r in results if r["attention"] == "none"), None)
    for r in results:
        if base is not None and r is not base:
            err, berr = 1 - r["heldout_exact"], 1 - base["heldout_exact"]
            ratio = f"{berr / err:.1f}x" if err else f"{round(berr * 2000)} errors vs none"
            print(f"held-out error: no attention {berr:.4f}, {r['attention']} {err:.4f} ({ratio})")
    print(f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for r in results:
        for s_, g, t_ in r["wrong_examples"][:3]:
            print(f"  {r['attention']}: {s_!r} -> {g!r} (expected {t_!r})")
    (Path(args.out) / "dates_seq2seq.json").write_text(json.dumps({"results": results}, indent=1, default=str))


if __name__ == "__main__":
    main()
