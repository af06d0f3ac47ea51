"""The sealed test split: its length is public, its batches are not.

Iterating a :class:`SealedSplit` raises :class:`TestSetSealedError` unless the
test vault (``deepdojo.evaluate.vault.TestVault``) has opened it for one
logged evaluation. It lives in the data layer because every ``Data.test`` is
one; the vault that opens it lives in ``evaluate``.

Example:
    >>> s = seal([(1, 2)])
    >>> len(s)
    1
    >>> next(iter(s))
    Traceback (most recent call last):
    ...
    deepdojo.data.sealed.TestSetSealedError: test split: the test set is sealed (fix: evaluate on it with 'deepdojo evaluate RUN --split test' or deepdojo.evaluate.evaluate_run(run, split='test'), which logs the look; tune on data.valid)
"""

from __future__ import annotations

import contextlib
from typing import Iterable

from deepdojo.errors import DeepdojoError


class TestSetSealedError(DeepdojoError):
    """Something other than the vault tried to read the test set."""

    __test__ = False  # not a pytest test class


class SealedSplit:
    """A loader whose batches can only be read inside :meth:`TestVault.look`."""

    __test__ = False

    def __init__(self, loader: Iterable):
        self._loader = loader
        self._open = False

    def __len__(self) -> int:
        return len(self._loader)

    def __iter__(self):
        if not self._open:
            raise TestSetSealedError(
                "the test set is sealed", where="test split",
                fix="evaluate on it with 'deepdojo evaluate RUN --split test' or "
                    "deepdojo.evaluate.evaluate_run(run, split='test'), which logs the look; tune on data.valid",
            )
        return iter(self._loader)

    @property
    def wraps_tensor_loader(self) -> bool:
        from deepdojo.data.loaders import TensorLoader

        return isinstance(self._loader, TensorLoader)

    def to(self, device, moved: dict | None = None) -> "SealedSplit":
        """Move the wrapped loader's tensors (if it holds any); reads nothing. ``moved``: see ``TensorLoader.to``."""
        if self.wraps_tensor_loader:
            self._loader.to(device, moved)
        elif hasattr(self._loader, "to"):
            self._loader.to(device)
        return self

    @contextlib.contextmanager
    def _opened(self):
        """Unsealed for the duration of the block. Only :class:`TestVault` calls this."""
        self._open = True
        try:
            yield self
        finally:
            self._open = False

    def __repr__(self) -> str:
        return f"SealedSplit({len(self)} batches)"


def seal(loader: Iterable | None) -> SealedSplit | None:
    """``loader`` wrapped in a :class:`SealedSplit` (``None`` and sealed splits pass through)."""
    if loader is None or isinstance(loader, SealedSplit):
        return loader
    return SealedSplit(loader)
