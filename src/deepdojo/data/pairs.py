"""(source, target) string pairs for sequence-to-sequence models: a two-column CSV/TSV, or generated dates.

Sources become token ids ``x`` ``(N, S)`` padded with 0; targets ``y``
``(N, L)`` are the target tokens followed by ``<eos>`` and then
``IGNORE_INDEX`` (-100), so padding counts in no loss and no metric. Each
side has its own vocabulary, built on the training split only (source:
``<pad> <unk> ...``; target: ``<pad> <unk> <sos> <eos> ...``).

``builtin:dates`` is the curriculum's translation exercise: human-readable
dates in many formats ("3rd of March 1987", "Tuesday, March 3, 1987",
"03 mar 1987" ...) to ISO ("1987-03-03"). Reading the day, the month and the
year from different places of the source is what attention is for.

Example:
    >>> data = load_dates(n=200, seed=0)
    >>> data.task, data.info["vocab"][:3], data.classes[:4]
    ('seq2seq', ['<pad>', '<unk>', ' '], ['<pad>', '<unk>', '<sos>', '<eos>'])
    >>> decode_target(data.train.y[0].tolist(), data.classes)[4]
    '-'
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from pathlib import Path

import numpy as np
import torch

from deepdojo.data.check_csv import read_table
from deepdojo.data.core import Data
from deepdojo.data.text import Vocab, tokenize
from deepdojo.errors import DataError

IGNORE_INDEX = -100
PAD, UNK, SOS, EOS = 0, 1, 2, 3
TARGET_SPECIALS = ["<pad>", "<unk>", "<sos>", "<eos>"]


def encode_pairs(sources: list[list[str]], targets: list[list[str]], train_rows: np.ndarray,
                 max_source: int | None = None, max_target: int | None = None):
    """Token lists -> ``(x, y, source_vocab, target_vocab)``; vocabularies from ``train_rows`` only."""
    src_vocab = Vocab.build([sources[i] for i in train_rows])
    tgt_counts = Vocab.build([targets[i] for i in train_rows]).itos[2:]
    tgt_vocab = Vocab(TARGET_SPECIALS + tgt_counts)
    s = max_source or max(len(t) for t in sources)
    length = (max_target or max(len(t) for t in targets)) + 1  # + <eos>
    x = torch.tensor([src_vocab.encode(t, s) for t in sources], dtype=torch.long)  # (N, S), 0 = padding
    y = torch.full((len(targets), length), IGNORE_INDEX, dtype=torch.long)  # (N, L)
    for i, t in enumerate(targets):
        ids = tgt_vocab.encode(t[: length - 1]) + [EOS]
        y[i, : len(ids)] = torch.tensor(ids)
    return x, y, src_vocab, tgt_vocab


def decode_target(ids: list[int], itos: list[str], level: str = "char") -> str:
    """Target ids -> text, up to the first ``<eos>`` (padding and specials dropped)."""
    out = []
    for i in ids:
        if i == EOS:
            break
        if i >= len(TARGET_SPECIALS):
            out.append(itos[i])
    return ("" if level == "char" else " ").join(out)


def _pairs_data(sources: list[str], targets: list[str], name: str, level: str, valid_pct: float, seed: int,
                batch_size: int, test_pct: float = 0.0) -> Data:
    from deepdojo.data.splits import holdout_splits

    src_tok = [tokenize(s, level) for s in sources]
    tgt_tok = [tokenize(t, level) for t in targets]
    splits = holdout_splits(np.zeros(len(sources)), valid_pct, test_pct, seed, stratify=False)
    x, y, sv, tv = encode_pairs(src_tok, tgt_tok, splits["train"])
    data = Data.from_tensors(x, y, splits=splits, batch_size=batch_size, seed=seed, task="seq2seq",
                             classes=tv.itos, normalize=False, name=name)
    data.info.update(vocab=sv.itos, level=level, max_len=x.shape[1], pad_index=PAD, unk_index=UNK)
    return data


def load_pairs(path: str | Path, *, level: str = "char", valid_pct: float = 0.2, seed: int = 0,
               batch_size: int = 64, delimiter: str | None = None, test_pct: float = 0.0) -> Data:
    """A CSV/TSV whose first two columns are (source, target) strings (the header names them).

    A file with fewer than two columns, or a row with an empty source or target, is a one-line
    error naming the file (and row).
    """
    if delimiter is None:  # fixed by the suffix, so a one-column file is reported as such
        delimiter = "\t" if str(path).lower().endswith(".tsv") else ","
    table = read_table(path, delimiter=delimiter, duplicates="warning")
    if len(table.columns) < 2:
        raise DataError(f"a sequence-to-sequence table needs two columns (source, target); found "
                        f"{len(table.columns)} ({', '.join(table.columns) or 'none'})", where=str(table.path),
                        fix="write one 'source<TAB>target' pair per line under a header such as 'source\ttarget'")
    errors = [p for p in table.problems if p.severity == "error"]
    if errors:
        first = errors[0]
        raise DataError(f"{len(errors)} malformed row(s), first: {first.reason}", where=first.where,
                        fix=first.fix or "give every row both columns")
    src_col, tgt_col = table.columns[:2]
    sources, targets = table.column(src_col), table.column(tgt_col)
    for i, (s, t) in enumerate(zip(sources, targets)):
        for col, value in ((src_col, s), (tgt_col, t)):
            if not value or not value.strip():
                raise DataError(f"empty {col}", where=table.where(i, col), fix="fill it in or remove the row")
    if len(sources) < 2:
        raise DataError(f"{len(sources)} pair(s): too few to train and validate", where=str(table.path),
                        fix="give at least a few hundred pairs")
    return _pairs_data(sources, targets, str(table.path), level, valid_pct, seed, batch_size, test_pct)


# ---------------------------------------------------------------------------------------------- dates
def _ordinal(d: int) -> str:
    return f"{d}{'th' if 11 <= d % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th')}"


def _formats(d: dt.date) -> list[str]:
    month, mon = calendar.month_name[d.month], calendar.month_abbr[d.month]
    day = calendar.day_name[d.weekday()]
    return [
        f"{_ordinal(d.day)} of {month} {d.year}",
        f"the {_ordinal(d.day)} of {month.lower()}, {d.year}",
        f"{month} {d.day}, {d.year}",
        f"{month} {_ordinal(d.day)}, {d.year}",
        f"{day}, {month} {d.day}, {d.year}",
        f"{day.lower()} {d.day} {month.lower()} {d.year}",
        f"{d.day} {month} {d.year}",
        f"{d.day:02d} {mon.lower()} {d.year}",
        f"{d.day}-{mon.upper()}-{d.year}",
        f"{mon} {d.day} {d.year}",
        f"{d.year} {month} {_ordinal(d.day)}",
        f"{d.day}.{d.month}.{d.year}",
        f"{d.year}/{d.month:02d}/{d.day:02d}",
        f"{month.upper()} {d.day} {d.year}",
    ]


def date_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` (human-readable date, ISO date) pairs, 1900-2099, formats drawn uniformly (reproducible under ``seed``).

    >>> date_pairs(2, seed=1)[1][0][4], len(date_pairs(3)[0])
    ('-', 3)
    """
    rng = random.Random(seed)
    start, span = dt.date(1900, 1, 1).toordinal(), (dt.date(2099, 12, 31) - dt.date(1900, 1, 1)).days
    sources, targets = [], []
    for _ in range(n):
        d = dt.date.fromordinal(start + rng.randrange(span + 1))
        sources.append(rng.choice(_formats(d)))
        targets.append(d.isoformat())
    return sources, targets


def load_dates(n: int = 20000, seed: int = 0, valid_pct: float = 0.1, batch_size: int = 64,
               test_pct: float = 0.0) -> Data:
    """``builtin:dates``: ``n`` generated (human-readable date -> ISO date) pairs, character tokens."""
    sources, targets = date_pairs(n, seed)
    return _pairs_data(sources, targets, "builtin:dates", "char", valid_pct, seed, batch_size, test_pct)
