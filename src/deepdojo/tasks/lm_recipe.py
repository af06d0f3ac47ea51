"""The settings ``deepdojo train corpus.txt --task lm`` trains with when the user leaves them unset.

The LR finder and one-cycle suit classifiers; a small language model trains
best with nanoGPT's recipe: a fixed peak LR (1e-3 for the transformer, 2e-3
for an RNN / GRU / LSTM, char-rnn's; a model's ``default_lr``), linear
warm-up over the first 5% of steps, cosine decay, gradient norms clipped to 1
(the models' ``default_grad_clip``). How long: about :data:`TOKEN_BUDGET`
training tokens (batch x block x steps). The 0.8M-parameter GPT trains
12-20k tokens/s on 1 thread of a quiet 2-core CPU (benchmarks/shakespeare_char.py,
benchmarks/shakespeare_cli.py), so that is 4-6 minutes, leaving the rest of a
10-minute budget to evaluation and the report; a small corpus is seen at most
:data:`MAX_EPOCHS` times (the best epoch is kept). On tinyshakespeare (1.0M
training characters, 245 steps of 64 x 64 per epoch) that is 5 epochs.

Example:
    >>> from types import SimpleNamespace
    >>> cfg = SimpleNamespace(lr="auto", schedule="one_cycle", warmup_pct=0.0)
    >>> over, why = lm_recipe(245, 64 * 64, cfg, default_lr=1e-3)
    >>> over
    {'epochs': 5, 'lr': 0.001, 'schedule': 'cosine', 'warmup_pct': 0.05}
    >>> lm_recipe(3, 64 * 64, cfg, default_lr=2e-3)[0]["epochs"]  # a tiny corpus: at most MAX_EPOCHS passes
    30
"""

from __future__ import annotations

import math
from typing import Any

TOKEN_BUDGET = 5_000_000  # training tokens: ~4 min at 20k tokens/s, ~6 min at 14k
MAX_EPOCHS = 30  # passes over a small corpus (more memorizes it; validation picks the best epoch)
WARMUP_PCT = 0.05  # nanoGPT: 100 warm-up steps of 2000
ASSUMED_TOKENS_PER_S = 20_000  # only for the time estimate printed beside the choice


def lm_recipe(steps_per_epoch: int, tokens_per_step: int, cfg, default_lr: float) -> tuple[dict[str, Any], str]:
    """``(overrides, why)`` for a language model whose loader has ``steps_per_epoch`` batches of ``tokens_per_step``.

    The LR and schedule are only set where ``cfg`` still has the generic defaults (``lr="auto"``, one-cycle).
    """
    steps_per_epoch = max(int(steps_per_epoch), 1)
    want = TOKEN_BUDGET / max(tokens_per_step, 1) / steps_per_epoch
    epochs = max(1, min(MAX_EPOCHS, math.ceil(want)))
    over: dict[str, Any] = {"epochs": epochs}
    said = []
    if cfg.lr == "auto":
        over["lr"] = default_lr
        said.append(f"lr {default_lr:g}")
    if cfg.schedule == "one_cycle" and not cfg.warmup_pct:
        over.update(schedule="cosine", warmup_pct=WARMUP_PCT)
        said.append(f"cosine decay after {WARMUP_PCT:.0%} linear warm-up")
    steps = epochs * steps_per_epoch
    tokens = steps * tokens_per_step
    minutes = tokens / ASSUMED_TOKENS_PER_S / 60
    took = f"about {minutes:.0f} min" if minutes >= 1 else "under a minute"  # at 20k tokens/s
    why = (f"{epochs} epochs of {steps_per_epoch} steps ({steps:,} steps, {tokens / 1e6:.1f}M tokens, {took} "
           f"on a quiet 2-core CPU for the default model)" + (", " + ", ".join(said) if said else "")
           + " — the nanoGPT recipe; set --epochs, --lr or --schedule to choose")
    return over, why
