"""What a source tells the model builder: the default architecture and the keyword arguments its data implies.

Kept in the data layer and free of model imports: it reads only
``data.info["preprocess"]``. ``vision.classifier`` and ``deepdojo train`` use
it so that ``arch="auto"`` fits the data (embeddings for a table's categories,
a text CNN over token ids, a 1-D CNN over signals) and an explicit ``arch`` still gets the sizes it
needs (``vocab_size``, ``cardinalities``).

Example:
    >>> from types import SimpleNamespace
    >>> d = SimpleNamespace(info={"preprocess": {"kind": "text", "vocab": ["<pad>", "<unk>", "a"]}})
    >>> default_arch_for(d), model_kwargs_for(d, "textcnn")
    ('textcnn', {'vocab_size': 3})
    >>> s = SimpleNamespace(info={"preprocess": {"kind": "signal", "channels": 2}})
    >>> default_arch_for(s), model_kwargs_for(s, "gru")
    ('cnn1d', {'channels_first': True})
"""

from __future__ import annotations

from typing import Any


def _spec(data) -> dict[str, Any]:
    return (getattr(data, "info", None) or {}).get("preprocess") or {}


def default_arch_for(data) -> str | None:
    """``"tabular"`` for a table with category codes, ``"textcnn"`` for texts, ``"cnn1d"`` for signals;
    None: the registry's default."""
    spec = _spec(data)
    if spec.get("kind") == "signal":
        return "cnn1d"
    if spec.get("kind") == "tabular" and spec.get("encoding") == "codes":
        return "tabular"
    if spec.get("kind") == "text":
        return "textcnn"
    return None


TOKEN_MODELS = ("rnn", "gru", "lstm", "textcnn", "text_rnn")  # registered models over token ids (models/sequence.py)
TIME_MAJOR_MODELS = ("rnn", "gru", "lstm", "textcnn")  # they read (T, F); a signal sample is (C, T)


def model_kwargs_for(data, arch: str) -> dict[str, Any]:
    """Sizes the data fixes for model ``arch`` (the config's ``model_kwargs`` are laid over these)."""
    spec = _spec(data)
    if spec.get("kind") == "signal" and arch in TIME_MAJOR_MODELS:
        return {"channels_first": True}  # (C, T) samples read as C features per step
    if spec.get("kind") in ("text", "language_model") and arch in TOKEN_MODELS:
        return {"vocab_size": len(spec["vocab"])}
    if spec.get("kind") == "tabular" and arch == "tabular":
        if spec.get("encoding") != "codes":
            return {}  # one-hot input: every column continuous, no embeddings
        return {"cardinalities": list(spec["cat_cardinalities"])}
    return {}
