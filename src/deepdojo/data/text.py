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
             header: bool | None = True, test_pct: float = 0.0, vocab: list[str] | None = None) -> Data:
    """Texts and labels -> :class:`Data` with ``x`` int64 ``(N, max_len)`` (0 = padding).

    ``text_col`` defaults to a column named ``text``, else the column that
    reads most like free text; ``label_col`` to a column named like a label
    (label/class/target/y), else the other column of a two-column file.
    ``header=False`` (or ``None``: detected) reads a file without a header
    line, whose columns are then ``"1"``, ``"2"``, ... ``info["vocab"]`` is the
    token list, ``info["lengths"]`` the unpadded lengths; empty texts and
    empty labels are errors. ``info["preprocess"]`` encodes new strings as here.

    ``vocab``: encode with this token list (a language model's, whose encoder a
    classifier reuses: the same word must get the same id, or the reused
    embedding reads the wrong row) instead of one built on the training split.
    A ``split`` column (values ``train``, ``train_dev``, ``valid`` or ``dev``,
    ``test``; empty = ``train``) fixes which rows are which, e.g. dev and test
    rows from another source than training (the data-mismatch diagnosis);
    without ``valid`` rows, ``valid_pct`` of the training rows validate.
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
    splits = split_rows(table, rows, y, (text_col, label_col), valid_pct, seed, test_pct)
    tokens = [tokenize(texts[i], level) for i in rows]
    given = vocab is not None
    vocab = check_vocab(vocab, level) if given else Vocab.build([tokens[j] for j in splits["train"]],
                                                                  max_size=max_vocab)  # train only: no leakage
    x = torch.tensor([vocab.encode(t, max_len) for t in tokens], dtype=torch.long)  # (N, L)
    data = Data.from_tensors(x, torch.from_numpy(y), splits=splits, batch_size=batch_size, seed=seed,
                             classes=classes, normalize=False, name=str(table.path))
    data.info.update(vocab=vocab.itos, level=level, max_len=max_len, pad_index=0, unk_index=1,
                     lengths=[min(len(t), max_len) for t in tokens], check=report.to_json())
    data.info["preprocess"] = {"kind": "text", "level": level, "vocab": vocab.itos, "max_len": max_len,
                               "pad_index": 0, "unk_index": 1, "text_col": text_col, "label_col": label_col,
                               "delimiter": table.delimiter, "header": table.header,
                               "names": table.columns if not table.header else None}
    if given:  # predict and evaluate must encode with the language model's ids, not rebuild a vocabulary
        data.info["preprocess"]["vocab_from"] = "language_model"
    if skipped:
        data.info["skipped"] = skipped
    return data


SPLIT_NAMES = {"": "train", "train": "train", "train_dev": "train_dev", "train-dev": "train_dev", "valid": "valid",
               "dev": "valid", "validation": "valid", "test": "test"}


def split_rows(table, rows: np.ndarray, y: np.ndarray, used: tuple[str, ...], valid_pct: float, seed: int,
               test_pct: float) -> dict[str, np.ndarray]:
    """Index arrays into ``rows`` per split: from a ``split`` column when the table has one, else held out.

    >>> from types import SimpleNamespace
    >>> t = SimpleNamespace(columns=["text", "label", "split"], column=lambda c: ["train", "dev", "", "test"])
    >>> {k: v.tolist() for k, v in split_rows(t, np.arange(4), np.zeros(4), ("text", "label"), 0.2, 0, 0).items()}
    {'train': [0, 2], 'valid': [1], 'test': [3]}
    """
    if "split" not in table.columns or "split" in used:
        return _split_indices(y, len(rows), None, valid_pct, seed, test_pct)
    values = table.column("split")
    parts = []
    for i in rows:
        name = SPLIT_NAMES.get(values[i].strip().lower())
        if name is None:
            raise DataError(f"unknown split {values[i]!r} in the split column", where=table.where(i, "split"),
                            fix="use train, train_dev, valid (or dev) or test; empty means train")
        parts.append(name)
    arr = np.array(parts)
    if test_pct:
        raise ConfigError("the split column already says which rows are test rows", where="test_pct",
                          fix="drop --test-pct (test_pct=), or drop the split column")
    if not (arr == "train").any():
        raise DataError("no training rows in the split column", where=str(table.path), fix="mark some rows train")
    splits = {s: np.flatnonzero(arr == s).astype(np.int64) for s in ("train", "train_dev", "valid", "test")
              if (arr == s).any()}
    if "valid" not in splits:  # valid_pct of the training rows validate
        base = splits["train"]
        from deepdojo.data.splits import stratified_split

        tr, va = stratified_split(y[base], valid_pct, seed)
        splits.update(train=base[tr], valid=base[va])
    return splits


def check_vocab(vocab: list[str], level: str) -> "Vocab":
    """A given vocabulary as a :class:`Vocab`: ``<pad>`` 0 and ``<unk>`` 1, as every deepdojo vocabulary has."""
    if len(vocab) < 3 or vocab[0] != PAD or vocab[1] != UNK:
        raise DataError(f"a vocabulary must start with {PAD!r}, {UNK!r} and hold tokens, got {vocab[:3]}",
                        where="vocab", fix="pass the 'vocab' list of a deepdojo language model's checkpoint")
    return Vocab(list(vocab))


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
              batch_size: int = 64, seed: int = 0, max_vocab: int | None = None) -> Data:
    """A plain text file for language modelling: blocks of ``block_size`` token ids and the next token of each.

    The last ``valid_pct`` of the text is the validation split (contiguous, as
    nanoGPT's shakespeare_char does, so no validation block overlaps training
    text); the vocabulary comes from the training part only (``<pad>`` 0,
    ``<unk>`` 1: a token first seen in validation counts as unknown). Loaders
    are :class:`~deepdojo.data.tokens.TokenBlockLoader`: random blocks for a
    transformer, parallel streams for a recurrent model (the Learner arranges
    them for the model it trains, :func:`arrange_for`).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"; _ = p.write_text("hello world " * 50)
        >>> data = text_file(p, block_size=8, batch_size=4)
        >>> data.task, data.input_shape, data.info["vocab"][:3]
        ('language_model', (8,), ['<pad>', '<unk>', 'l'])
    """
    from deepdojo.data.tokens import TokenBlockLoader

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("file not found", where=str(path), fix="check the path")
    if not 0 < valid_pct < 1:
        raise ConfigError(f"valid_pct must be in (0, 1) for a text file, got {valid_pct}", where="valid_pct",
                          fix="e.g. 0.1: the last 10% of the text validates")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start})", where=str(path),
                        fix="save the file as UTF-8 text") from None
    tokens = tokenize(text, level)
    if not tokens or not text.strip():
        raise DataError("the text is empty", where=str(path), fix="give a text file with the corpus to model")
    cut = int(len(tokens) * (1 - valid_pct))
    if cut < 2 * block_size + 1 or len(tokens) - cut < block_size + 1:
        raise DataError(f"too short for blocks of {block_size} tokens ({len(tokens)} tokens; training needs "
                        f"{2 * block_size + 1}, validation {block_size + 1})", where=str(path),
                        fix="use a longer text or a smaller block_size")
    vocab = Vocab.build([tokens[:cut]], max_size=max_vocab)  # training part only: no leakage
    ids = torch.tensor(vocab.encode(tokens), dtype=torch.long)  # (N,)
    train = TokenBlockLoader(ids[:cut], block_size, batch_size, shuffle=True, seed=seed)
    valid = TokenBlockLoader(ids[cut:], block_size, batch_size)
    from deepdojo.data.core import tensor_fingerprint
    from deepdojo.data.splits import split_hash

    splits = {"train": np.array([0, cut]), "valid": np.array([cut, len(tokens)])}  # [start, stop) token ranges
    info = dict(name=str(path), fingerprint=tensor_fingerprint(ids), vocab=vocab.itos, level=level,
                block_size=block_size, pad_index=0, unk_index=1, splits=splits, split_hash=split_hash(splits),
                sizes={"train": train.n_blocks, "valid": valid.n_blocks})
    info["preprocess"] = {"kind": "language_model", "level": level, "vocab": vocab.itos, "block_size": block_size}
    return Data(train=train, valid=valid, task="language_model", classes=vocab.itos, input_shape=(block_size,),
                info=info)


def arrange_for(data: Data, model) -> None:
    """Serve ``data``'s token blocks in the layout ``model`` needs (its ``batch_layout``), if it says.

    >>> class Stateful: batch_layout = "streams"
    >>> arrange_for(Data(train=[]), Stateful())  # loaders that are not token loaders are left alone
    """
    from deepdojo.data.tokens import TokenBlockLoader

    layout = getattr(model, "batch_layout", None)
    if layout is None:
        return
    for dl in (data.train, data.valid):
        if isinstance(dl, TokenBlockLoader):
            dl.set_layout(layout)
