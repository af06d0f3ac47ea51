"""ULMFiT (Howard & Ruder 2018): a text classifier that starts from a recurrent language model's encoder.

The recipe, as fastai's NLP lesson teaches it:

1. train (or fine-tune) a language model on the user's own texts —
   ``deepdojo train corpus.txt --task lm --level word --arch lstm_lm``;
2. train the classifier with that model's encoder:
   ``deepdojo train reviews.tsv --pretrained runs/<lm run>``. The texts are
   encoded with the **language model's vocabulary** (a word the LM never saw
   is ``<unk>``), since the reused embedding's row ``i`` means the LM's token
   ``i``: a vocabulary rebuilt from the classifier's own data would hand every
   word another word's vector, and training would still "work" — a silent
   wrong answer (tests check the ids and the rows line up);
3. fine-tune with gradual unfreezing and discriminative learning rates: the
   new head alone for one epoch, then one more layer group per epoch (the
   recurrent stack, then the embedding), the lower groups at geometrically
   smaller LRs (``lr / 2.6 ** depth``, the paper's factor), one cycle per phase.

:func:`language_model_source` recognises a language model's run folder or
checkpoint; the classifier is :class:`~deepdojo.models.text_rnn.TextRNN`
(``arch="text_rnn"``) built with the LM's cell and sizes.

Example:
    >>> language_model_source("imagenet") is None  # not a language model: the image path handles it
    True
    >>> [round(s, 3) for s in depth_scales(3)]
    [0.148, 0.385, 1.0]
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepdojo.errors import CheckpointError, ConfigError
from deepdojo.train import schedules
from deepdojo.train.callbacks import Callback

RECURRENT_LMS = {"rnn_lm": "rnn", "gru_lm": "gru", "lstm_lm": "lstm"}
ENCODER_PREFIXES = ("embedding.", "rnn.")  # what RecurrentLM and TextRNN share, by name and shape
LR_FACTOR = 2.6  # ULMFiT: each layer group down trains at lr / 2.6


@dataclass
class LMSource:
    """A recurrent language model's checkpoint, as a classifier needs it."""

    path: Path
    arch: str
    vocab: list[str]
    level: str
    model_kwargs: dict[str, Any]  # TextRNN's cell and sizes, matching the LM's encoder

    def configure(self, cfg):
        """``cfg`` with the classifier's architecture (``auto`` -> ``text_rnn``) and the LM's token level."""
        if cfg.level is not None and cfg.level != self.level:
            raise ConfigError(f"--level {cfg.level} differs from the language model's tokens ({self.level})",
                              where="level", fix=f"drop --level: the classifier reads {self.level}s as the LM did")
        if cfg.arch not in ("auto", "text_rnn"):
            raise ConfigError(f"a language model's encoder goes into a text_rnn classifier, not {cfg.arch!r}",
                              where="arch", fix="drop --arch (or use --arch text_rnn)")
        return cfg.merged(arch="text_rnn", level=self.level)

    def data_options(self) -> dict[str, Any]:
        return {"vocab": self.vocab, "level": self.level}

    def load_into(self, model) -> dict[str, Any]:
        """Copy the LM's embedding and recurrent weights into ``model``; every one must fit (the head stays new)."""
        from deepdojo.train.checkpoint import read_checkpoint

        tensors, _ = read_checkpoint(self.path)
        own = model.state_dict()
        wanted = [k for k in own if k.startswith(ENCODER_PREFIXES)]
        bad = [k for k in wanted if k not in tensors or tensors[k].shape != own[k].shape]
        if bad:
            got = tuple(tensors[bad[0]].shape) if bad[0] in tensors else "missing"
            raise CheckpointError(f"the language model's {bad[0]} ({got}) does not fit the classifier's "
                                  f"{tuple(own[bad[0]].shape)}", where=str(self.path),
                                  fix="leave the classifier's cell, hidden_size, num_layers and embed_dim unset "
                                      "(they come from the language model)")
        model.load_state_dict({k: tensors[k] for k in wanted}, strict=False)
        return {"source": str(self.path), "loaded": wanted}


def language_model_source(spec: str | None) -> LMSource | None:
    """The language model a ``--pretrained`` value names (run folder or checkpoint); None: not a language model."""
    from deepdojo.models.hub import HUB_PREFIXES

    if not spec or spec == "imagenet" or spec.startswith(HUB_PREFIXES):
        return None
    from deepdojo.train.checkpoint import is_deepdojo_weights, read_meta, weights_path
    from deepdojo.train.transfer import find_checkpoint

    p = Path(spec).expanduser()
    if p.is_dir():
        path = find_checkpoint(p)
    elif weights_path(p).is_file() and is_deepdojo_weights(weights_path(p)):
        path = weights_path(p)
    else:
        return None
    meta = read_meta(path)
    pre = meta.get("preprocess") or {}
    if pre.get("kind") != "language_model":
        return None
    arch = meta.get("arch")
    if arch not in RECURRENT_LMS:
        raise ConfigError(f"the language model is a {arch!r}; a classifier reuses a recurrent one's encoder",
                          where=str(path), fix="train the language model with --arch lstm_lm (or gru_lm / rnn_lm)")
    from deepdojo.models.language import RecurrentLM

    defaults = {k: v.default for k, v in inspect.signature(RecurrentLM.__init__).parameters.items()
                if k in ("hidden_size", "num_layers", "embed_dim")}
    sizes = {k: (meta.get("model_kwargs") or {}).get(k, d) for k, d in defaults.items()}
    return LMSource(path=path, arch=arch, vocab=list(pre["vocab"]), level=pre.get("level") or "char",
                    model_kwargs={"vocab_size": len(pre["vocab"]), "cell": RECURRENT_LMS[arch], **sizes})


def recorded_text_options(run_dir: str | Path) -> dict[str, Any]:
    """A run trained on a language model's vocabulary: ``{"vocab", "level"}`` to rebuild its data the same way."""
    from deepdojo.train.checkpoint import read_meta, weights_path

    for name in ("best", "last"):
        path = weights_path(Path(run_dir) / "checkpoints" / name)
        if path.is_file():
            pre = read_meta(path).get("preprocess") or {}
            if pre.get("vocab_from"):
                return {"vocab": list(pre["vocab"]), "level": pre.get("level") or "word"}
            return {}
    return {}


def depth_scales(n: int, factor: float = LR_FACTOR) -> list[float]:
    """LR multipliers of ``n`` layer groups, input side first: the head 1, each group below ``1 / factor`` more."""
    return [factor ** -(n - 1 - i) for i in range(n)]


class GradualUnfreeze(Callback):
    """Epoch ``e`` trains the last ``e + 1`` layer groups (the head alone first); every group from epoch ``n - 1``."""

    order = -30  # before any callback that reads which parameters train

    def before_epoch(self) -> None:
        from deepdojo.train.transfer import layer_groups, set_trainable

        n = len(layer_groups(self.learn.model))
        set_trainable(self.learn.model, max(0, n - 1 - self.learn.epoch), train_bn=False)


def fine_tune_gradually(learn, epochs: int, base_lr: float, resume: bool = False) -> None:
    """ULMFiT's fine-tuning: ``n - 1`` thawing epochs (one cycle each at ``base_lr``), then ``epochs`` with all
    groups (one cycle at ``base_lr / 2``); per-group LRs ``depth_scales`` throughout. One ``fit``, so
    ``resume=True`` picks up in the right phase."""
    from deepdojo.train.transfer import layer_groups

    n = len(layer_groups(learn.model))
    thaw, spe = n - 1, len(learn.data.train)
    phase = [schedules.one_cycle(base_lr, spe) for _ in range(thaw)]
    rest = schedules.one_cycle(base_lr / 2, max(epochs * spe, 1))
    moms = schedules.one_cycle_momentum(spe), schedules.one_cycle_momentum(max(epochs * spe, 1))

    def lr_at(step: int) -> float:  # the head's LR; lower groups get their depth share
        e = step // spe
        return phase[e](step - e * spe) if e < thaw else rest(step - thaw * spe)

    lr_at.momentum = lambda step: moms[0](step % spe) if step // spe < thaw else moms[1](step - thaw * spe)
    scales = depth_scales(n)
    thawing = GradualUnfreeze()
    learn.add_callbacks([thawing])
    try:
        learn.fit(thaw + epochs, slice(base_lr * scales[0], base_lr), schedule=lr_at, resume=resume)
    finally:
        learn.callbacks.remove(thawing)
        learn.add_callbacks([])
