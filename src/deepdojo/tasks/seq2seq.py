"""Sequence to sequence: source token ids ``(B, S)`` in, target token logits ``(B, L, V)`` out.

Training feeds the decoder the true previous target token with probability
``teacher_forcing`` (per row and step; the model's own arg-max otherwise):
the task supplies the training step, so the ratio is applied in every step.
Validation and prediction decode freely (greedy: no target in sight), so the
validation loss and metrics measure what a user gets. Loss: cross-entropy
per target token, padding (-100) excluded. Metrics: exact-sequence accuracy
(the monitored one), token accuracy, and BLEU after training.

Example:
    >>> import torch
    >>> t = Seq2SeqTask(teacher_forcing=0.5)
    >>> t.loss(torch.zeros(2, 3, 4), torch.tensor([[1, 3, -100], [2, 2, 3]])).item() == torch.log(torch.tensor(4.)).item()
    True
    >>> t
    Seq2SeqTask(teacher_forcing=0.5)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from deepdojo.errors import ConfigError, DataError
from deepdojo.metrics.seq2seq import BLEU, SequenceAccuracy, until_eos
from deepdojo.metrics.sequence import IGNORE_INDEX, TokenAccuracy
from deepdojo.tasks.base import Task, register_task

SPECIALS = 4  # <pad> <unk> <sos> <eos>


@register_task
class Seq2SeqTask(Task):
    name = "seq2seq"
    description = "source sequence -> target sequence (encoder-decoder, cross-entropy per target token)"
    monitor = "sequence_accuracy"
    minimize = False
    report_sections = ("attention",)

    def __init__(self, teacher_forcing: float = 0.5):
        if not 0.0 <= teacher_forcing <= 1.0:
            raise ConfigError(f"teacher_forcing must be in [0, 1], got {teacher_forcing}", where="teacher_forcing",
                              fix="e.g. 0.5: half the steps see the true previous token")
        self.teacher_forcing = float(teacher_forcing)
        self.train_step = self._step  # the Learner calls it instead of loss(model(x), y)

    def _step(self, learn, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """Forward with teacher forcing, backward, optimizer step (with the Learner's events around them)."""
        with learn._autocast():
            learn.pred = learn.model(xb, yb, teacher_forcing=self.teacher_forcing)
            learn.loss = learn.loss_fn(learn.pred, yb)
        learn._event("before_backward")
        learn.loss.backward()
        learn._event("after_backward")
        learn.opt.step()
        return learn.loss

    def output_size(self, data) -> int:
        return data.num_classes  # the target vocabulary

    def default_arch(self, data) -> str | None:
        return "seq2seq_gru"

    def model_kwargs(self, data) -> dict[str, Any]:
        vocab = data.info.get("vocab")
        y = getattr(data.train, "y", None)
        if vocab is None or y is None:
            raise DataError("seq2seq needs (source, target) pairs", where=str(data.info.get("name")),
                            fix="use a two-column CSV/TSV (source, target) or builtin:dates")
        return {"vocab_size": len(vocab), "max_len": int(y.shape[1])}

    def loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape[1] != target.shape[1]:
            raise ConfigError(f"the model decoded {pred.shape[1]} steps but targets have {target.shape[1]}",
                              where="max_len", fix=f"build the model with max_len={target.shape[1]}")
        return F.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1), ignore_index=IGNORE_INDEX)

    def per_example_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        cells = F.cross_entropy(pred.float().transpose(1, -1), target, ignore_index=IGNORE_INDEX, reduction="none")
        keep = (target != IGNORE_INDEX).float()
        return (cells * keep).sum(1) / keep.sum(1).clamp_min(1)  # (B,)

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        return out.softmax(-1)

    def metrics(self) -> list:
        return [SequenceAccuracy(), TokenAccuracy()]

    def eval_metrics(self) -> list:
        return self.metrics() + [BLEU()]

    def state(self) -> dict[str, Any]:
        return {"teacher_forcing": self.teacher_forcing}

    def format_prediction(self, out: torch.Tensor, classes: list[str] | None, top: int = 3) -> dict[str, Any]:
        ids = until_eos(out.argmax(-1).tolist())
        return {"prediction": "".join(classes[i] for i in ids if i >= SPECIALS) if classes else ids}


def translate(model, sources: list[str], source_vocab: list[str], target_vocab: list[str], level: str = "char",
              beam_width: int = 1, return_attention: bool = False):
    """Strings in, strings out (greedy, or beam search with ``beam_width`` > 1); optionally the attention maps.

    A source token the model never saw becomes ``<unk>``; an empty source is a one-line error.
    """
    from deepdojo.data.text import tokenize

    if any(not s.strip() for s in sources):
        raise DataError("an empty source cannot be translated", where="source", fix="give non-empty strings")
    stoi = {t: i for i, t in enumerate(source_vocab)}
    toks = [tokenize(s, level) for s in sources]
    width = max(len(t) for t in toks)
    device = next(model.parameters()).device
    src = torch.tensor([[stoi.get(t, 1) for t in ts] + [0] * (width - len(ts)) for ts in toks], device=device)
    joiner = "" if level == "char" else " "
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            attn = None
            if beam_width > 1:
                outs = model.beam_search(src, beam_width=beam_width)
            else:
                logits, attn = model(src, return_attention=True)
                outs = [until_eos(r) for r in logits.argmax(-1).tolist()]
    finally:
        model.train(was_training)
    texts = [joiner.join(target_vocab[i] for i in ids if i >= SPECIALS) for ids in outs]
    if return_attention:
        return texts, toks, attn
    return texts
