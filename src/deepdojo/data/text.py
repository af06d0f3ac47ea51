"""Text sources: labelled texts in a CSV/TSV, and a plain text file for language modelling.

Tokens are characters or words; the vocabulary is built on the training split
only (index 0 ``<pad>``, 1 ``<unk>``), so a word that appears only in
validation is unknown, as it would be for a new input.

Example:
    >>> v = Vocab.build([["a", "b", "a"], ["c"]])
    >>> v.itos, v.encode(["a", "z"], 4)
    (['<pad>', '<unk>', 'a', 'b', 'c'], [2, 1, 0, 0])
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.check_csv import read_table
from deepdojo.data.checks import CheckReport, Problem
from deepdojo.data.core import Data
from deepdojo.data.csv_sources import _finish, _split_indices
from deepdojo.errors import ConfigError, DataError

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str, level: str = "word") -> list[str]:
    """``"word"``: lower-cased words and punctuation marks; ``"char"``: every character.

    >>> tokenize("Good case, Excellent value."), tokenize("ab ", "char")
    (['good', 'case', ',', 'excellent', 'value', '.'], ['a', 'b', ' '])
    """
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD.findall(text.lower())
    raise ConfigError(f"unknown token level {level!r}", where="level", fix="use 'word' or 'char'")


@dataclass
class Vocab:
    """Token <-> index. ``itos[0]`` is padding, ``itos[1]`` stands for every unknown token."""

    itos: list[str]

    @classmethod
    def build(cls, token_lists, max_size: int | None = None, min_freq: int = 1) -> "Vocab":
        counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        return cls([PAD, UNK] + kept[:max_size])

    def __post_init__(self):
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str], length: int | None = None) -> list[int]:
        """Indices (unknown -> 1), truncated or padded with 0 to ``length`` when given."""
        ids = [self.stoi.get(t, 1) for t in tokens]
        if length is None:
            return ids
        return ids[:length] + [0] * max(0, length - len(ids))


def text_csv(path: str | Path, *, text_col: str | None = None, label_col: str | None = None, level: str = "word",
             max_len: int = 64, max_vocab: int | None = 20000, valid_pct: float = 0.2, seed: int = 0,
             batch_size: int = 64, skip_bad: bool = False, delimiter: str | None = None,
             header: bool | None = True, test_pct: float = 0.0) -> Data:
    """Texts and labels -> :class:`Data` with ``x`` int64 ``(N, max_len)`` (0 = padding).

    ``text_col`` defaults to a column named ``text``, else the column that
    reads most like free text; ``label_col`` to a column named like a label
    (label/class/target/y), else the other column of a two-column file.
    ``header=False`` (or ``None``: detected) reads a file without a header
    line, whose columns are then ``"1"``, ``"2"``, ... ``info["vocab"]`` is the
    token list, ``info["lengths"]`` the unpadded lengths; empty texts and
    empty labels are errors. ``info["preprocess"]`` encodes new strings as here.
    """
    table = read_table(path, delimiter=delimiter, header=header)
    text_col, label_col = text_columns(table, text_col, label_col)
    table.require(text_col, "text"), table.require(label_col, "label")
    bad, problems = set(table.bad_rows), []
    texts, labels = table.column(text_col), table.column(label_col)
    for i in range(len(table.rows)):
        if i in bad:
            continue
        for col, value in ((text_col, texts[i]), (label_col, labels[i])):
            if not value:
                kind = "empty_text" if col == text_col else "empty_label"
                problems.append(Problem(table.where(i, col), f"empty {col}", kind, fix="fill it in or remove the row"))
                bad.add(i)
    report = CheckReport(len(table.rows), table.problems + problems)
    keep, skipped = _finish(report, bad, len(table.rows), skip_bad, str(table.path))
    rows = np.flatnonzero(keep)
    classes = sorted({labels[i] for i in rows})
    y = np.array([classes.index(labels[i]) for i in rows], dtype=np.int64)
    splits = _split_indices(y, len(rows), None, valid_pct, seed, test_pct)
    tokens = [tokenize(texts[i], level) for i in rows]
    vocab = Vocab.build([tokens[j] for j in splits["train"]], max_size=max_vocab)  # train only: no leakage
    x = torch.tensor([vocab.encode(t, max_len) for t in tokens], dtype=torch.long)  # (N, L)
    data = Data.from_tensors(x, torch.from_numpy(y), splits=splits, batch_size=batch_size, seed=seed,
                             classes=classes, normalize=False, name=str(table.path))
    data.info.update(vocab=vocab.itos, level=level, max_len=max_len, pad_index=0, unk_index=1,
                     lengths=[min(len(t), max_len) for t in tokens], check=report.to_json())
    data.info["preprocess"] = {"kind": "text", "level": level, "vocab": vocab.itos, "max_len": max_len,
                               "pad_index": 0, "unk_index": 1, "text_col": text_col, "label_col": label_col,
                               "delimiter": table.delimiter, "header": table.header,
                               "names": table.columns if not table.header else None}
    if skipped:
        data.info["skipped"] = skipped
    return data


def text_score(values: list[str]) -> float:
    """How much a column reads like free text: mean words per value times the share of distinct values (0 if short)."""
    values = [v for v in values if v.strip()]
    if not values:
        return 0.0
    mean_len = sum(len(v) for v in values) / len(values)
    words = sum(len(v.split()) for v in values) / len(values)
    distinct = len(set(values)) / len(values)
    return words * distinct if mean_len >= 15 and words >= 2.5 and distinct >= 0.5 else 0.0


def text_columns(table, text_col: str | None, label_col: str | None) -> tuple[str, str]:
    """The text and label columns: given, named ``text``/like a label, or detected (see :func:`text_csv`)."""
    from deepdojo.data.csv_sources import LABEL_COLUMNS

    cols = table.columns
    if text_col is None:
        if "text" in cols:
            text_col = "text"
        else:
            scores = {c: text_score(table.column(c)) for c in cols if c != label_col}
            best = max(scores, key=scores.get, default=None)
            if best is None or not scores[best]:
                raise DataError("no column of free text found", where=str(table.path),
                                fix="name the text column 'text', or pass text_col= (CLI: --text-col)")
            text_col = best
    if label_col is None:
        named = [c for c in cols if c.lower() in LABEL_COLUMNS and c != text_col]
        others = [c for c in cols if c != text_col]
        if named:
            label_col = named[0]
        elif len(others) == 1:
            label_col = others[0]
        else:
            raise DataError(f"cannot tell which of {', '.join(others)} is the label", where=str(table.path),
                            fix="name it 'label', or pass label_col= (CLI: --label-col)")
    return text_col, label_col


def text_file(path: str | Path, *, level: str = "char", block_size: int = 64, valid_pct: float = 0.1,
              batch_size: int = 64, seed: int = 0) -> Data:
    """A plain text file for language modelling: ``x`` and ``y`` int64 ``(N, block_size)``, ``y`` = ``x`` shifted by one.

    The last ``valid_pct`` of the text is the validation split (contiguous,
    so no block of it overlaps training text); the vocabulary comes from the rest.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("file not found", where=str(path), fix="check the path")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    tokens = tokenize(text, level)
    cut = int(len(tokens) * (1 - valid_pct))
    if cut < 2 * (block_size + 1) or len(tokens) - cut < block_size + 1:
        raise DataError(f"too short for blocks of {block_size} tokens ({len(tokens)} tokens)", where=str(path),
                        fix="use a longer text or a smaller block_size")
    vocab = Vocab.build([tokens[:cut]])
    ids = torch.tensor(vocab.encode(tokens), dtype=torch.long)

    def blocks(part: torch.Tensor):  # non-overlapping windows of block_size + 1: input and next-token target
        n = (len(part) - 1) // block_size
        windows = part[: n * block_size + 1].unfold(0, block_size + 1, block_size)  # (n, block_size + 1)
        return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()

    (xt, yt), (xv, yv) = blocks(ids[:cut]), blocks(ids[cut:])
    data = Data.from_tensors(xt, yt, valid=(xv, yv), batch_size=batch_size, seed=seed, task="language_model",
                             normalize=False, name=str(path), valid_pct=0)
    data.classes = vocab.itos
    data.info.update(vocab=vocab.itos, level=level, block_size=block_size, sizes={"train": len(xt), "valid": len(xv)})
    data.info["preprocess"] = {"kind": "language_model", "level": level, "vocab": vocab.itos, "block_size": block_size}
    return data
