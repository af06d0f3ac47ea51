"""Language modelling: predict the next token at every position of a block.

Inputs and targets are token ids ``(B, T)`` (targets = inputs shifted by one),
the model returns logits ``(B, T, V)``. Cross-entropy per token; the same
number reported in nats, bits per token (bits per character for a character
model) and perplexity. Baselines: a unigram and (for small vocabularies) a
bigram model with add-one smoothing, counted on the training split.

Example:
    >>> import torch
    >>> t = LanguageModel()
    >>> logits, target = torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)
    >>> round(float(t.loss(logits, target)), 4)  # log 4
    1.3863
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepdojo.errors import ConfigError, DataError
from deepdojo.metrics.sequence import IGNORE_INDEX, BitsPerToken, Perplexity, TokenAccuracy, TokenNLL
from deepdojo.tasks.base import Task, register_task, versus

MAX_BIGRAM_VOCAB = 1024  # a V x V count table: 1M cells at most


def _nats(probs: np.ndarray, target: np.ndarray) -> float:
    return float(-np.log(probs[target.reshape(-1)]).mean())


@register_task
class LanguageModel(Task):
    name = "language_model"
    aliases = ("lm",)
    description = "next-token prediction over token blocks (cross-entropy per token)"
    report_sections = ("baselines", "samples")

    def output_size(self, data) -> int:
        return data.num_classes  # the vocabulary

    def default_arch(self, data) -> str | None:
        return "gpt"

    def model_kwargs(self, data) -> dict[str, Any]:
        kw = {"vocab_size": data.num_classes}
        if data.input_shape:
            kw["block_size"] = int(data.input_shape[0])  # the transformer's context; a recurrent model's BPTT length
        return kw

    def auto_recipe(self, data, model, cfg) -> tuple[dict[str, Any], str]:
        """nanoGPT's recipe sized to the corpus (tasks/lm_recipe.py): epochs, peak LR, warm-up + cosine."""
        from deepdojo.tasks.lm_recipe import lm_recipe

        dl = data.train
        rows = getattr(dl, "streams", None) if getattr(dl, "layout", None) == "streams" else None
        tokens = (rows or getattr(dl, "batch_size", 1)) * int(getattr(dl, "block_size", 1))  # (B x T) per step
        return lm_recipe(len(dl), tokens, cfg, getattr(model, "default_lr", 1e-3))

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1), ignore_index=IGNORE_INDEX)

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        cells = F.cross_entropy(pred.float().transpose(1, -1), target, ignore_index=IGNORE_INDEX, reduction="none")
        keep = (target != IGNORE_INDEX).float()
        return (cells * keep).sum(1) / keep.sum(1).clamp_min(1)  # (B,) mean per block

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        return out.softmax(-1)

    def metrics(self) -> list:
        return [TokenNLL(), BitsPerToken(), Perplexity()]

    def eval_metrics(self) -> list:
        return self.metrics() + [TokenAccuracy()]

    def baselines(self, x_train, y_train, x_valid, y_valid, num_classes, budget_s, seed):
        # token ids may arrive as float features (exact below 2**24): counts index by integers
        x_train, y_train, x_valid, y_valid = (np.asarray(a).astype(np.int64) for a in (x_train, y_train, x_valid, y_valid))
        v = num_classes or int(max(y_train.max(), y_valid.max())) + 1
        counts = np.bincount(y_train.reshape(-1), minlength=v).astype(np.float64) + 1.0  # add-one smoothing
        out = {"unigram": {"nats_per_token": _nats(counts / counts.sum(), y_valid)}}
        if v <= MAX_BIGRAM_VOCAB:
            pairs = np.zeros((v, v))
            np.add.at(pairs, (x_train.reshape(-1), y_train.reshape(-1)), 1.0)  # (current token, next token)
            pairs += 1.0
            cond = pairs / pairs.sum(1, keepdims=True)
            nll = -np.log(cond[x_valid.reshape(-1), y_valid.reshape(-1)]).mean()
            out["bigram"] = {"nats_per_token": float(nll)}
        for b in out.values():
            b["bits_per_token"] = b["nats_per_token"] / math.log(2)
            b["perplexity"] = math.exp(b["nats_per_token"])
        return out

    def compare(self, model_metrics: dict[str, Any], baselines: dict[str, dict]) -> list[str]:
        nats = model_metrics.get("nats_per_token")
        if nats is None:
            return []
        return [versus(f"the {name} model", f"{name} counts", b["nats_per_token"] - nats, "nats/token")
                for name, b in baselines.items()]

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        last = out[-1] if out.dim() == 2 else out  # the distribution after the last position
        probs, idx = last.topk(min(top, len(last)))
        names = [classes[i] if classes else str(i) for i in idx.tolist()]
        return {"prediction": names[0], "probability": float(probs[0]),
                "top": [{"token": n, "probability": float(p)} for n, p in zip(names, probs.tolist())]}


# ------------------------------------------------------------------------------------------- generation
def encode_prompt(prompt: str, vocab: list[str], level: str) -> list[int]:
    """Token ids of ``prompt``; a token the model never saw is a one-line error naming it.

    >>> encode_prompt("ab", ["<pad>", "<unk>", "a", "b"], "char")
    [2, 3]
    """
    from deepdojo.data.text import tokenize

    stoi = {t: i for i, t in enumerate(vocab)}
    tokens = tokenize(prompt, level)
    unknown = sorted({t for t in tokens if t not in stoi or stoi[t] < 2})  # <pad>, <unk> are not text
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise DataError(f"the prompt has {len(unknown)} {'character' if level == 'char' else 'word'}(s) the model "
                        f"never saw in training: {shown}", where="prompt",
                        fix="use only characters/words of the training text")
    return [stoi[t] for t in tokens]


def decode_ids(ids: list[int], vocab: list[str], level: str) -> str:
    """Token ids -> text (characters joined; words joined with spaces)."""
    return ("" if level == "char" else " ").join(vocab[i] for i in ids)


def generate_text(model, vocab: list[str], level: str, prompt: str = "", length: int = 500,
                  temperature: float = 1.0, top_k: int | None = None, seed: int | None = 0) -> str:
    """``prompt`` followed by ``length`` sampled tokens, as text. The same ``seed`` gives the same text.

    An empty prompt starts from a newline (nanoGPT's start) when the vocabulary has one.
    """
    if length < 0:
        raise ConfigError(f"length must be >= 0, got {length}", where="length", fix="e.g. 500")
    level = level or "char"
    start = prompt
    if not prompt:
        if "\n" not in vocab:
            raise ConfigError("an empty prompt starts from a newline, which this vocabulary lacks", where="prompt",
                              fix="give a prompt, e.g. --prompt 'The'")
        start = "\n"
    ids = encode_prompt(start, vocab, level)
    if not ids:
        raise ConfigError("the prompt has no tokens", where="prompt", fix="give a prompt with at least one word")
    import torch

    from deepdojo.models.language import sample

    g = torch.Generator()
    g.manual_seed(seed if seed is not None else torch.seed())
    new = sample(model, torch.tensor(ids), length, temperature=temperature, top_k=top_k, generator=g,
                 banned=tuple(i for i, t in enumerate(vocab[:2]) if t in ("<pad>", "<unk>")))
    text = decode_ids(new.tolist(), vocab, level)
    if level == "char":
        return prompt + text
    return (prompt + " " + text) if prompt and text else prompt + text
