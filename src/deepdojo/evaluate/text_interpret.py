"""Why a text classifier said what it said: top-loss sentences and the tokens that moved the prediction (occlusion).

For one sentence of token ids ``(T,)`` with ``L`` real tokens, occlusion
replaces each token in turn by ``<unk>`` — the model's own "a word I do not
know" — and measures how much the probability of the predicted class falls:
``effect[i] = p(pred | x) - p(pred | x with token i unknown)``. Positive: the
token pushed toward the prediction; negative: against it. All ``L`` variants
run as one batch ``(L, T)``. Unlike gradient x input it needs no gradients
and works on any model, and a token's effect is what removing it actually does.

Example:
    >>> import torch
    >>> class Counts(torch.nn.Module):  # class 1's logit counts token 2 ("good")
    ...     def forward(self, x):
    ...         good = (x == 2).float().sum(1)
    ...         return torch.stack([torch.zeros_like(good), 3 * good - 1], 1)
    >>> effects = occlusion(Counts(), torch.tensor([3, 2, 4, 0]), target=1)  # "the good food" + padding
    >>> [round(e, 3) for e in effects]
    [0.0, 0.612, 0.0]
"""

from __future__ import annotations

from typing import Any

import torch


@torch.no_grad()
def occlusion(model, ids: torch.Tensor, target: int, pad_index: int = 0, unk_index: int = 1) -> list[float]:
    """Effect on ``p(target)`` of each real token of ``ids`` ``(T,)`` replaced by ``<unk>`` (one per real token)."""
    n = int((ids != pad_index).sum())
    real = torch.nonzero(ids != pad_index).flatten()[:n]  # positions of real tokens, in order
    variants = ids.repeat(n + 1, 1)  # (n + 1, T): row 0 intact, row i + 1 with real token i unknown
    variants[torch.arange(1, n + 1), real] = unk_index
    was = model.training
    model.eval()
    try:
        device = next(model.parameters(), torch.empty(0)).device
        probs = model(variants.to(device)).float().softmax(-1)[:, target].cpu()  # (n + 1,)
    finally:
        model.train(was)
    return (probs[0] - probs[1:]).tolist()


def explain_texts(model, interp, vocab: list[str], level: str = "word", k: int = 12, top_tokens: int = 5,
                  pad_index: int = 0, unk_index: int = 1) -> list[dict[str, Any]]:
    """The ``k`` highest-loss examples of ``interp`` as text, each with every token's occlusion effect on the
    predicted class and the ``top_tokens`` that moved it most (by size of the effect)."""
    if interp.inputs is None:
        return []
    out = []
    joiner = "" if level == "char" else " "
    for row in interp.top_losses(k):
        ids = interp.inputs[row["index"]].long()  # (T,)
        pred = int(interp.preds[row["index"]])
        effects = occlusion(model, ids, pred, pad_index, unk_index)
        tokens = [vocab[i] for i in ids.tolist() if i != pad_index]
        ranked = sorted(range(len(tokens)), key=lambda i: -abs(effects[i]))[:top_tokens]
        out.append({**row, "text": joiner.join(tokens), "tokens": tokens, "effects": [round(e, 4) for e in effects],
                    "moved_most": [{"token": tokens[i], "position": i, "effect": round(effects[i], 4)} for i in ranked]})
    return out


def text_explanations(learn, interp, k: int = 12) -> list[dict[str, Any]] | None:
    """:func:`explain_texts` for a run on token-id texts (``info["preprocess"]["kind"] == "text"``); None otherwise."""
    spec = learn.data.info.get("preprocess") or {}
    if spec.get("kind") != "text":
        return None
    if interp.inputs is None:  # the pass kept no inputs: the split's rows, in order
        from deepdojo.evaluate.run_eval import eval_loader

        interp.inputs = eval_loader(learn.data, "valid").x.cpu()
    return explain_texts(learn.model, interp, spec["vocab"], spec.get("level", "word"), k,
                         pad_index=spec.get("pad_index", 0), unk_index=spec.get("unk_index", 1))
