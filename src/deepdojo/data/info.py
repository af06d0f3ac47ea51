"""What a :class:`~deepdojo.data.core.Data` is, beyond its loaders: a typed record, not a free-form dict.

Every field has one name, so a fact written under one key cannot be read
under another (a data-check report written as ``check`` and read as
``checks`` was lost that way). Sources fill what applies to them. For
convenience the record also reads like a mapping (``info["name"]``,
``info.get("vocab")``, ``"leaks" in info``), but only for the fields below:
an unknown key is an error that names the known ones.

The preprocessing fields (``transform``, ``decode``, ``preprocess``,
``tabular``, ``vocab``...) travel with every checkpoint
(:meth:`DataInfo.for_checkpoint`), so ``predict`` prepares a new input
exactly as training did.

Example:
    >>> info = DataInfo(name="digits", decode={"size": None, "mode": "L"})
    >>> info["name"], info.get("vocab"), "decode" in info, "vocab" in info
    ('digits', None, True, False)
    >>> info["checks"] = {}
    Traceback (most recent call last):
    ...
    KeyError: "DataInfo has no field 'checks' (did you mean 'check'?)"
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Iterator

# the fields a checkpoint carries so that predict preprocesses like training
CHECKPOINT_FIELDS = ("transform", "decode", "preprocess", "tabular", "vocab", "level", "max_len", "pad_index",
                     "unk_index", "block_size")


@dataclass
class DataInfo:
    """Facts about a dataset: identity, splits, preprocessing, and what the checks found."""

    name: str = "data"
    fingerprint: str | None = None  # content hash of the source: the data's identity in the manifest
    split_hash: str | None = None
    splits: dict[str, Any] | None = None  # split name -> row indices
    sizes: dict[str, int] = field(default_factory=dict)
    ids: list[str] | None = None  # one id per row (relative paths of image files)
    # preprocessing: what turns a raw input into a model input
    transform: dict[str, Any] | None = None  # normalization of model inputs (data/transforms.py JSON)
    decode: dict[str, Any] | None = None  # images: {"size": int | None, "mode": "L" | "RGB"}
    preprocess: dict[str, Any] | None = None  # raw rows / strings -> tensors (tabular scalers, category maps...)
    tabular: dict[str, Any] | None = None  # tabular column layout (data/tabular.py)
    vocab: list[str] | None = None  # token list of text sources
    level: str | None = None  # "char" | "word" tokens
    max_len: int | None = None
    pad_index: int | None = None
    unk_index: int | None = None
    block_size: int | None = None  # language-model block length
    lengths: list[int] | None = None  # unpadded lengths of text rows
    box_format: str | None = None  # detection annotations read from: "coco" | "yolo" | "voc"
    missing_labels: dict[str, int] | None = None  # multi-task CSVs: unlabelled cells per label column
    # what the checks found
    check: dict[str, Any] | None = None  # data-check summary or report
    leaks: dict[str, Any] | None = None  # duplicates across splits
    skipped: list[dict[str, Any]] | None = None  # items left out by skip_bad
    warnings: list[str] = field(default_factory=list)

    # ----------------------------------------------------------- mapping-style access
    def _field(self, key: str) -> str:
        if key not in _NAMES:
            close = difflib.get_close_matches(key, _NAMES, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(_NAMES)}"
            raise KeyError(f"DataInfo has no field {key!r} ({hint})")
        return key

    def __getitem__(self, key: str) -> Any:
        return getattr(self, self._field(key))

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, self._field(key), value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in _NAMES and getattr(self, key) not in (None, [], {})

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, self._field(key))
        return default if value is None else value

    def update(self, values: dict[str, Any] | None = None, **more: Any) -> None:
        for key, value in {**(values or {}), **more}.items():
            self[key] = value

    def keys(self) -> Iterator[str]:
        return iter(k for k in _NAMES if k in self)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, [], {})}

    def for_checkpoint(self) -> dict[str, Any]:
        """The preprocessing fields a checkpoint carries (only those set)."""
        return {k: getattr(self, k) for k in CHECKPOINT_FIELDS if getattr(self, k) is not None}

    @classmethod
    def coerce(cls, value: "DataInfo | dict[str, Any] | None") -> "DataInfo":
        """A ``DataInfo`` from itself, a dict of its fields (unknown keys are errors), or None."""
        if isinstance(value, DataInfo):
            return value
        info = cls()
        info.update(value or {})
        return info


_NAMES = [f.name for f in dataclasses.fields(DataInfo)]
