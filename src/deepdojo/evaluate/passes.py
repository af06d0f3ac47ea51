"""One prediction pass per split: the outputs every evaluation after training reads.

Metrics, training error, interpretation, label suspects and the task's
choices on validation (a threshold) all read the same pass, instead of each
running the model over the split again. Outputs are kept (on the CPU) only
when something needs them afterwards; otherwise metrics stream during the
pass (a language model's ``(N, T, V)`` logits are never stored).

Example:
    >>> from deepdojo import Learner
    >>> from deepdojo.data import load_builtin
    >>> from deepdojo.models import create_model
    >>> learn = Learner(create_model("mlp", 2, in_features=2), load_builtin("xor", seed=0), seed=0, progress=False)
    >>> p = predict_split(learn, "valid", keep=True)
    >>> p.outputs.shape[1], sorted(p.score(["accuracy"]))
    (2, ['accuracy', 'loss'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import torch

from deepdojo.data.loaders import TensorLoader
from deepdojo.evaluate.run_eval import eval_loader
from deepdojo.metrics import Metric, make_metric


@dataclass
class SplitPass:
    """Raw outputs ``(N, ...)`` and targets of one split (when kept), and what streamed during the pass."""

    split: str
    task: Any
    outputs: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    inputs: torch.Tensor | None = None  # the split's raw inputs when the loader holds them (images for galleries)
    streamed: dict[str, Any] = field(default_factory=dict)

    @property
    def decoded(self) -> torch.Tensor:
        return self.task.decode(self.outputs)

    def score(self, metrics: Iterable[str | Metric]) -> dict[str, Any]:
        """``{"loss": ..., <metric>: ...}`` from the kept outputs (no model call)."""
        if self.outputs is None:
            return dict(self.streamed)
        ms = [make_metric(m) for m in metrics]
        for m in ms:
            m.reset()
            m.update(self.outputs, self.targets)
        return {"loss": self.streamed["loss"], **{m.name: m.compute() for m in ms}}


@torch.no_grad()
def predict_split(learn, split: str, metrics: Iterable[str | Metric] = (), keep: bool = False) -> SplitPass:
    """One pass of ``learn.model`` over ``split`` as validation sees it (no augmentation; test stays sealed)."""
    loader = eval_loader(learn.data, split)
    ms = [make_metric(m) for m in metrics]
    for m in ms:
        m.reset()
    model, was_training = learn.model, learn.model.training
    model.eval()
    outputs, targets = [], []
    total, count = torch.zeros((), device=learn.device), 0
    try:
        for xb, yb in loader:
            xb, yb = xb.to(learn.device, non_blocking=True), yb.to(learn.device, non_blocking=True)
            with learn._autocast():
                out = model(xb)
            out = out.float()
            total += learn.loss_fn(out, yb).float() * len(yb)
            count += len(yb)
            for m in ms:
                m.update(out, yb)
            if keep:
                outputs.append(out.cpu())
                targets.append(yb.cpu())
    finally:
        model.train(was_training)
    streamed = {"loss": float(total) / max(count, 1), **{m.name: m.compute() for m in ms}}
    inputs = loader.x.cpu() if keep and isinstance(loader, TensorLoader) else None
    if not keep:
        return SplitPass(split, learn.task, streamed=streamed)
    return SplitPass(split, learn.task, torch.cat(outputs), torch.cat(targets), inputs, streamed)
