"""What a run of a generative sequence task shows after training: text samples, attention maps.

- ``samples.json`` (tasks whose ``report_sections`` name ``"samples"``: language
  models): the model's text at several temperatures from one prompt, each
  under a fixed seed, so a report regenerated later shows the same text.
- ``attention.json`` (``"attention"``: seq2seq with attention): source tokens,
  output tokens and weights for the first few validation examples; the report
  draws them.

Example:
    >>> import tempfile, pathlib, torch
    >>> from deepdojo import Learner
    >>> from deepdojo.data.text import text_file
    >>> from deepdojo.models import create_model
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "t.txt").write_text("abcabd\\n" * 60)
    >>> data = text_file(d / "t.txt", block_size=8, batch_size=4)
    >>> learn = Learner(create_model("gru_lm", data.num_classes, hidden_size=8), data, progress=False, run_dir=d / "run")
    >>> [s["temperature"] for s in write_samples(learn, length=20)["samples"]]
    [0.5, 0.8, 1.0]
"""

from __future__ import annotations

from typing import Any

from deepdojo.io import write_json

TEMPERATURES = (0.5, 0.8, 1.0)


def write_samples(learn, prompt: str | None = None, length: int = 300, temperatures=TEMPERATURES, seed: int = 0,
                  top_k: int | None = None) -> dict[str, Any]:
    """Text at each temperature (same prompt and seed) into ``samples.json``; returns what was written.

    The default prompt is a newline (nanoGPT's start) or, when the text has none, its first 8 tokens.
    """
    if prompt is None:
        from deepdojo.tasks.language_model import decode_ids

        vocab, level = learn.data.info.get("vocab"), learn.data.info.get("level") or "char"
        prompt = "" if "\n" in vocab else decode_ids(learn.data.train.x[0][:8].tolist(), vocab, level)
    out = {"prompt": prompt, "seed": seed, "length": length, "top_k": top_k,
           "samples": [{"temperature": t, "text": learn.generate(prompt, length, temperature=t, top_k=top_k, seed=seed)}
                       for t in temperatures]}
    write_json(learn.run.path / "samples.json", out)
    return out


def write_attention(learn, n: int = 4) -> dict[str, Any] | None:
    """Attention of the first ``n`` validation examples into ``attention.json`` (None: the model has none)."""
    import torch

    xb, _ = next(iter(learn.data.valid))
    xb = xb[:n].to(learn.device)
    model, was_training = learn.model, learn.model.training
    model.eval()
    try:
        with torch.no_grad():
            logits, attn = model(xb, return_attention=True)
    finally:
        model.train(was_training)
    if attn is None:
        return None
    src_vocab, tgt_vocab = learn.data.info.get("vocab"), learn.data.classes
    examples = []
    for i in range(len(xb)):
        src = [src_vocab[t] for t in xb[i].tolist() if t != 0]
        out = []
        for t in logits[i].argmax(-1).tolist():
            out.append(tgt_vocab[t])
            if t == 3:  # <eos>
                break
        examples.append({"source": src, "output": out,
                         "weights": attn[i, : len(out), : len(src)].cpu().tolist()})
    body = {"examples": examples}
    write_json(learn.run.path / "attention.json", body)
    return body


def write_sequence_outputs(learn) -> None:
    """Whatever of the above the task's report shows."""
    sections = learn.task.report_sections
    if "samples" in sections and callable(getattr(learn.model, "step", None)):
        write_samples(learn)
    if "attention" in sections and learn.data.valid is not None:
        write_attention(learn)
