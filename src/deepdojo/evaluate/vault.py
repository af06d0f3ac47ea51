"""The test vault: the test split is sealed, and every look at it is logged and counted.

``Data.test`` always holds a :class:`SealedSplit`. Its length is public; its
batches are not: iterating it raises :class:`TestSetSealedError` unless the
vault has opened it for one logged evaluation (:meth:`TestVault.look`). So
training, the LR finder, early stopping, checkpoint selection and search,
which read ``data.train`` and ``data.valid``, cannot see the test set even by
mistake, and ``learn.validate(data.test)`` fails loudly.

Every look appends a line to ``<run>/test_log.jsonl`` (time, run, checkpoint
hash, metrics, which test set). From the second look at the same test set
(counted over this run and its sibling runs in the same folder) the result
carries a warning: a test set looked at repeatedly has become a validation set.

Example:
    >>> import tempfile, torch
    >>> from deepdojo.data.core import Data
    >>> data = Data.from_tensors(torch.randn(40, 2), torch.arange(40) % 2, test=(torch.randn(10, 2), torch.arange(10) % 2))
    >>> len(data.test)
    1
    >>> next(iter(data.test))
    Traceback (most recent call last):
    ...
    deepdojo.data.sealed.TestSetSealedError: test split: the test set is sealed (fix: evaluate on it with 'deepdojo evaluate RUN --split test' or deepdojo.evaluate.evaluate_run(run, split='test'), which logs the look; tune on data.valid)
    >>> vault = TestVault(tempfile.mkdtemp())
    >>> vault.look(data, lambda loader: {"n": sum(len(y) for _, y in loader)}, checkpoint_sha256="abc")["metrics"]
    {'n': 10}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from deepdojo.data.sealed import SealedSplit, TestSetSealedError, seal  # noqa: F401 (re-exported)
from deepdojo.errors import DeepdojoError
from deepdojo.io import append_bytes

LOG_NAME = "test_log.jsonl"


def test_set_id(data_info: dict[str, Any]) -> str:
    """The test set's identity: data fingerprint + test indices (same files and split -> same id)."""
    h = hashlib.sha256(str(data_info.get("fingerprint")).encode())
    splits = data_info.get("splits") or {}
    if "test" in splits:
        h.update(np.asarray(splits["test"], dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


test_set_id.__test__ = False  # not a pytest test function


class TestVault:
    """The test log of one run folder; :meth:`look` is the only way to read ``data.test``."""

    __test__ = False

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOG_NAME

    def entries(self) -> list[dict[str, Any]]:
        return _read_log(self.path)

    def previous_looks(self, test_id: str) -> int:
        """Looks at test set ``test_id`` logged so far, in this run and its sibling runs."""
        logs = {self.path, *self.run_dir.parent.glob(f"*/{LOG_NAME}")}
        return sum(1 for p in logs for e in _read_log(p) if e.get("test_id") == test_id)

    def look(self, data, evaluate: Callable[[Iterable], dict[str, Any]], checkpoint_sha256: str | None,
             checkpoint: str = "best") -> dict[str, Any]:
        """Run ``evaluate(test_loader)`` once, log it, and return the log entry (with a warning from look 2)."""
        if data.test is None:
            raise DeepdojoError("the data has no test split", where=str(data.info.get("name", "data")),
                                fix="retrain with --test-pct 0.1 (test_pct=0.1) to seal a test slice, or add a test/ "
                                    "folder beside train/ (Data.from_tensors: test= or test_pct=)")
        with data.test._opened() as loader:
            test_id = _loader_id(loader._loader) or test_set_id(data.info)
            metrics = evaluate(loader)
        look = self.previous_looks(test_id) + 1
        entry = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "run": self.run_dir.name,
            "checkpoint": checkpoint,
            "checkpoint_sha256": checkpoint_sha256,
            "test_id": test_id,
            "look": look,
            "metrics": metrics,
        }
        self.run_dir.mkdir(parents=True, exist_ok=True)
        append_bytes(self.path, (json.dumps(entry) + "\n").encode())  # whole line or a DiskFullError
        return {**entry, "warning": repeated_look_warning(look)}


def repeated_look_warning(look: int) -> str | None:
    if look < 2:
        return None
    return (f"this is look number {look} at this test set: repeated test evaluation turns the test set into a "
            "validation set, and its numbers stop being an unbiased estimate. Make choices on validation; "
            "keep the test set for the final word (or collect a fresh one).")


def _loader_id(loader) -> str | None:
    """Identity of the test examples themselves when the loader holds tensors."""
    from deepdojo.data.core import tensor_fingerprint
    from deepdojo.data.loaders import TensorLoader

    return tensor_fingerprint(loader.x, loader.y)[:16] if isinstance(loader, TensorLoader) else None


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn last line from a crash: the looks before it still count
    return out
